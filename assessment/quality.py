"""Data-quality checks on responses, as pure functions over arrays (no Django).

* `speeding`: a response completed in less than a share (default one half) of the median
  duration of the same questionnaire is too fast to have been read (Greszki, Meyer & Schoen
  2015 use 30–50% of the median; Zhang & Conrad 2014).
* `straightlining`: the same option position chosen for nearly every item of a block of
  choice items (Kim et al. 2019: share of the modal answer).
* `duplicates`: the same answer sheet (or the same key) coming from more than one case.
* `enumerator_effects`: an interviewer whose respondents score far from the respondents of
  other interviewers (or of self-completion) in the same PSUs; with interviewers assigned to
  areas the PSU peer comparison separates interviewer from area effects (Biemer & Lyberg
  2003, §5.3; West & Olson 2010).

References
----------
.. [1] Greszki, R., Meyer, M. & Schoen, H. (2015). Exploring the effects of removing "too
   fast" responses and respondents from web surveys. *Public Opinion Quarterly* 79, 471–503.
.. [2] Zhang, C. & Conrad, F. G. (2014). Speeding in web surveys: the tendency to answer very
   fast and its association with straightlining. *Survey Research Methods* 8, 127–135.
.. [3] Kim, Y., Dykema, J., Stevenson, J., Black, P. & Moberg, D. P. (2019). Straightlining:
   overview of measurement, comparison of indicators, and effects in mail–web mixed-mode
   surveys. *Social Science Computer Review* 37, 214–233.
.. [4] Biemer, P. P. & Lyberg, L. E. (2003). *Introduction to Survey Quality*. Wiley, §5.3.
.. [5] West, B. T. & Olson, K. (2010). How much of interviewer variance is really
   nonresponse error variance? *Public Opinion Quarterly* 74, 1004–1026.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


def speeding(
    durations: npt.ArrayLike, *, share: float = 0.5, min_n: int = 10
) -> tuple[npt.NDArray[np.bool_], float]:
    """Return (flag per response, median) for durations below SHARE × the median.

    Parameters
    ----------
    durations : array_like of float
        Seconds per response of one questionnaire; NaN where unknown (never flagged).
    share : float
        Fraction of the median below which a response is too fast.
    min_n : int
        Fewest known durations for a median to be trusted; with fewer nothing is flagged.
    """
    d = np.asarray(durations, dtype=np.float64)
    known = np.isfinite(d)
    if known.sum() < min_n:
        return np.zeros(d.shape, dtype=bool), math.nan
    median = float(np.median(d[known]))
    return known & (d < share * median), median


def straightlining(
    positions: npt.ArrayLike, *, share: float = 0.9, min_items: int = 10
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """Return (flag, modal share) per response from the option POSITIONS chosen (−1 = no answer).

    A response is flagged when at least MIN_ITEMS choice items are answered and at least SHARE
    of them have the same option position.
    """
    p = np.asarray(positions, dtype=np.int64)
    if p.ndim != 2:
        raise ValueError("positions must be a 2-d array (responses × items)")
    answered = (p >= 0).sum(axis=1)
    modal = np.zeros(p.shape[0], dtype=np.float64)
    for i, row in enumerate(p):
        chosen = row[row >= 0]
        if chosen.size:
            modal[i] = np.bincount(chosen).max() / chosen.size
    return (answered >= min_items) & (modal >= share), modal


def duplicates(keys: Sequence[Hashable], owners: Sequence[Hashable]) -> npt.NDArray[np.bool_]:
    """Return, per row, whether its KEY (e.g. the answers' hash) also occurs with another OWNER (case)."""
    owners_of: dict[Hashable, set[Hashable]] = defaultdict(set)
    for key, owner in zip(keys, owners):
        owners_of[key].add(owner)
    return np.asarray([len(owners_of[k]) > 1 for k in keys], dtype=bool)


@dataclass(frozen=True)
class EnumeratorEffect:
    """How far an interviewer's respondents score from their PSU peers'."""

    enumerator: Hashable
    n: int  # their respondents with peers to compare with
    difference: float  # Σ n_p (ȳ_e,p − ȳ_peers,p) / Σ n_p
    z: float
    effect_size: float  # difference / pooled within-PSU SD
    flagged: bool


def enumerator_effects(
    scores: npt.ArrayLike,
    enumerator: Sequence[Hashable | None],
    psu: Sequence[Hashable],
    *,
    z_limit: float = 3.29,
    min_effect: float = 0.5,
    min_n: int = 10,
) -> list[EnumeratorEffect]:
    """Compare each interviewer's respondents with the other respondents of the same PSUs.

    For interviewer e and PSU p, d_ep = ȳ_ep − ȳ_peers,p, where the peers are the PSU's
    respondents not interviewed by e (other interviewers or self-completion).  The
    interviewer's difference is D_e = Σ n_ep d_ep / Σ n_ep with
    Var(D_e) = σ² Σ n_ep² (1/n_ep + 1/m_p) / (Σ n_ep)², σ the pooled within-PSU standard
    deviation; z = D_e / SE.  Flagged when |z| > Z_LIMIT (two-sided 0.001 by default), the
    effect |D_e|/σ reaches MIN_EFFECT ("sharply": half a standard deviation) and at least
    MIN_N respondents have peers.  PSUs where e interviewed everyone give no comparison.

    Parameters
    ----------
    scores : array_like of float
        Score per response (e.g. share of the maximum points); NaN rows are ignored.
    enumerator : sequence
        Interviewer per response; None for self-completion.
    psu : sequence
        PSU per response.
    """
    y = np.asarray(scores, dtype=np.float64)
    ok = np.isfinite(y)
    cells: dict[Hashable, list[int]] = defaultdict(list)
    for i, p in enumerate(psu):
        if ok[i]:
            cells[p].append(i)
    residual_ss, residual_df = 0.0, 0
    for rows in cells.values():
        values = y[rows]
        residual_ss += float(((values - values.mean()) ** 2).sum())
        residual_df += len(rows) - 1
    if residual_df <= 0:
        return []
    sigma = math.sqrt(residual_ss / residual_df)
    sums: dict[Hashable, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])  # Σn d, Σn, Σ n² (1/n + 1/m)
    for rows in cells.values():
        by_e: dict[Hashable, list[int]] = defaultdict(list)
        for i in rows:
            if enumerator[i] is not None:
                by_e[enumerator[i]].append(i)
        for e, mine in by_e.items():
            peers = [i for i in rows if enumerator[i] != e]
            if not peers:
                continue
            n, m = len(mine), len(peers)
            s = sums[e]
            s[0] += n * (y[mine].mean() - y[peers].mean())
            s[1] += n
            s[2] += n * n * (1.0 / n + 1.0 / m)
    effects = []
    for e, (weighted, count, var_part) in sums.items():
        difference = weighted / count
        se = sigma * math.sqrt(var_part) / count
        z = difference / se if se > 0 else math.nan
        size = difference / sigma if sigma > 0 else math.nan
        flagged = count >= min_n and abs(z) > z_limit and abs(size) >= min_effect
        effects.append(EnumeratorEffect(e, int(count), float(difference), float(z), float(size), bool(flagged)))
    return sorted(effects, key=lambda x: -abs(x.z) if math.isfinite(x.z) else 0.0)
