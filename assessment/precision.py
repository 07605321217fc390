"""Sample sizes for a target precision and projected interval widths, as pure functions (no Django).

The headline indicators are proportions (the share of literate residents), so the sample size
follows from the variance of a proportion under the design:

    Var(p̂) = deff · p(1 − p) / n,   CV(p̂) = SE(p̂) / p,

hence the completed interviews needed for a target coefficient of variation CV are

    n = deff · (1 − p) / (p · CV²),

and the households to issue are n / (RR · E), with RR the expected response rate and E the
expected share of households with an eligible resident.  For a cluster sample with m completed
interviews per PSU and intra-class correlation ρ the design effect is deff = 1 + (m − 1)·ρ.

References
----------
.. [1] Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed., Wiley, §4.4 (sample size for a
   proportion) and §9.4 (design effect of cluster sampling).
.. [2] Kish, L. (1965). *Survey Sampling*, Wiley, §5.4 (deff = 1 + (m − 1)ρ).
.. [3] Lohr, S. L. (2022). *Sampling: Design and Analysis*, 3rd ed., CRC, §2.7 (sample size
   for a relative precision) and §5.5.
"""
from __future__ import annotations

import math

from scipy.stats import norm


def completes_for_cv(p: float, cv: float, deff: float = 1.0) -> float:
    """Return the completed interviews n = deff·(1 − p)/(p·CV²) that give CV(p̂) = CV.

    Parameters
    ----------
    p : float
        Expected proportion, in (0, 1).
    cv : float
        Target coefficient of variation of the estimated proportion (e.g. 0.10).
    deff : float
        Assumed design effect (≥ 1 for clustered samples).

    References
    ----------
    Cochran (1977), §4.4; Lohr (2022), §2.7.
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f"the expected proportion must lie in (0, 1), not {p!r}")
    if not cv > 0.0:
        raise ValueError(f"the target CV must be positive, not {cv!r}")
    if not deff > 0.0:
        raise ValueError(f"the design effect must be positive, not {deff!r}")
    return deff * (1.0 - p) / (p * cv * cv)


def cv_for_completes(p: float, n: float, deff: float = 1.0) -> float:
    """Return the CV of p̂ with N completed interviews: sqrt(deff·(1 − p)/(p·n)) (inverse of `completes_for_cv`)."""
    if not 0.0 < p < 1.0 or not n > 0:
        raise ValueError("the proportion must lie in (0, 1) and n be positive")
    return math.sqrt(deff * (1.0 - p) / (p * n))


def design_effect_cluster(m: float, rho: float) -> float:
    """Return Kish's design effect 1 + (m − 1)·ρ of M interviews per PSU with intra-class correlation RHO."""
    if m < 1:
        raise ValueError("a PSU needs at least one interview")
    return 1.0 + (m - 1.0) * rho


def cases_to_issue(completes: float, response_rate: float, eligibility_rate: float = 1.0) -> float:
    """Return the sampled households n / (RR·E) expected to yield COMPLETES interviews."""
    if not 0.0 < response_rate <= 1.0 or not 0.0 < eligibility_rate <= 1.0:
        raise ValueError("the response and eligibility rates must lie in (0, 1]")
    return completes / (response_rate * eligibility_rate)


def ci_width(se: float, level: float = 0.95) -> float:
    """Return the width 2·z·SE of a normal-theory interval at LEVEL."""
    return 2.0 * float(norm.ppf(0.5 + level / 2.0)) * se


def ci_width_projected(se: float, n_now: float, n_target: float, level: float = 0.95) -> float:
    """Return the interval width expected once N_TARGET interviews are in, from SE with N_NOW.

    Assumes the design effect and the proportion stay as they are, so that the standard error
    falls as 1/√n: SE(n_target) = SE(n_now)·sqrt(n_now / n_target).

    References
    ----------
    Lohr (2022), §2.7 and §5.5 (variance of a clustered proportion ∝ deff/n).
    """
    if n_now <= 0 or n_target <= 0:
        raise ValueError("sample sizes must be positive")
    return ci_width(se * math.sqrt(n_now / n_target), level)
