"""AAPOR outcome rates (response, cooperation, refusal, contact) as pure functions (no Django).

Case outcomes are counted in the AAPOR final disposition groups:

====  =====================================================  ==========================
code  AAPOR group                                            Suyang disposition
====  =====================================================  ==========================
I     1.1 complete interview                                 ``complete``
P     1.2 partial interview                                  ``partial``
R     2.1 refusal and break-off                              ``refusal``
NC    2.2 non-contact                                        ``non_contact``
O     2.3 other (eligible, non-interview)                    ``other``
U     3 unknown eligibility (UH + UO)                        ``unknown``, ``pending`` (3.11, not yet worked)
NE    4 not eligible                                         ``not_eligible``
====  =====================================================  ==========================

A case still pending while fieldwork is open is counted as unknown eligibility, not attempted
(AAPOR 3.11), so interim rates are conservative; they become final once every case is
resolved.  ``e`` is the estimated proportion of unknown-eligibility cases that are eligible;
by default (`eligibility_known_share`) it is the proportion eligible among the cases whose
eligibility is known, (I + P + R + NC + O) / (I + P + R + NC + O + NE) (AAPOR 2023, "e" and
its "proportional allocation" or CASRO estimate), computed over the whole group the rates are
reported for unless a value is given.  Before any case's eligibility is known, e (and the rates
that use it: RR3, RR4, REF2, CON2) is NaN.

Rates with an empty denominator are NaN.

References
----------
.. [1] The American Association for Public Opinion Research (2023). *Standard Definitions:
   Final Dispositions of Case Codes and Outcome Rates for Surveys*, 10th edition. AAPOR.
   Response rates RR1–RR6 (pp. 60–61), cooperation rates COOP1–COOP4 (p. 62), refusal rates
   REF1–REF3 (p. 63), contact rates CON1–CON3 (p. 63); estimating e (pp. 57–59).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# How each Suyang disposition code counts in the AAPOR groups.
AAPOR_GROUP: Mapping[str, str] = {
    "complete": "I",
    "partial": "P",
    "refusal": "R",
    "non_contact": "NC",
    "other": "O",
    "unknown": "U",
    "pending": "U",
    "not_eligible": "NE",
}
RATE_NAMES = (
    "RR1", "RR2", "RR3", "RR4", "RR5", "RR6",
    "COOP1", "COOP2", "COOP3", "COOP4",
    "REF1", "REF2", "REF3",
    "CON1", "CON2", "CON3",
)


@dataclass(frozen=True)
class DispositionCounts:
    """Case counts in the AAPOR groups (see the module docstring)."""

    I: int = 0  # noqa: E741 (AAPOR's own symbol)
    P: int = 0
    R: int = 0
    NC: int = 0
    O: int = 0  # noqa: E741
    U: int = 0
    NE: int = 0

    @property
    def total(self) -> int:
        return self.I + self.P + self.R + self.NC + self.O + self.U + self.NE

    @property
    def interviews(self) -> int:
        return self.I + self.P

    @property
    def eligible_known(self) -> int:
        """Return the cases known to be eligible: interviews and eligible non-interviews."""
        return self.I + self.P + self.R + self.NC + self.O

    def __add__(self, other: DispositionCounts) -> DispositionCounts:
        return DispositionCounts(
            self.I + other.I, self.P + other.P, self.R + other.R, self.NC + other.NC,
            self.O + other.O, self.U + other.U, self.NE + other.NE,
        )


def counts_from_dispositions(codes: Iterable[str] | Mapping[str, int]) -> DispositionCounts:
    """Return the AAPOR counts of disposition CODES (an iterable, or {code: count}).

    Raises
    ------
    ValueError
        For a code that is not a Suyang disposition.
    """
    items = codes.items() if isinstance(codes, Mapping) else ((c, 1) for c in codes)
    tally = dict.fromkeys(("I", "P", "R", "NC", "O", "U", "NE"), 0)
    for code, n in items:
        try:
            tally[AAPOR_GROUP[code]] += int(n)
        except KeyError:
            raise ValueError(f"unknown disposition {code!r}") from None
    return DispositionCounts(**tally)


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else math.nan


def eligibility_known_share(c: DispositionCounts) -> float:
    """Return e = (I + P + R + NC + O) / (I + P + R + NC + O + NE), the eligible share among known cases.

    References
    ----------
    AAPOR (2023), pp. 57–59 (proportional allocation of unknown cases, the CASRO rate's e).
    """
    return _ratio(c.eligible_known, c.eligible_known + c.NE)


def _e(c: DispositionCounts, e: float | None) -> float:
    """Return E, or the default estimate; with no unknown cases e does not matter (taken as 0)."""
    if c.U == 0:
        return 0.0
    if e is None:
        return eligibility_known_share(c)
    if math.isnan(e):
        return e  # no case of known eligibility yet: the rates that need e are undefined too
    if not 0.0 <= e <= 1.0:
        raise ValueError(f"e must lie in [0, 1], not {e!r}")
    return e


def rr1(c: DispositionCounts) -> float:
    """Return RR1 = I / ((I + P) + (R + NC + O) + (UH + UO)) (AAPOR 2023, p. 60)."""
    return _ratio(c.I, c.eligible_known + c.U)


def rr2(c: DispositionCounts) -> float:
    """Return RR2 = (I + P) / ((I + P) + (R + NC + O) + (UH + UO)) (AAPOR 2023, p. 60)."""
    return _ratio(c.interviews, c.eligible_known + c.U)


def rr3(c: DispositionCounts, e: float | None = None) -> float:
    """Return RR3 = I / ((I + P) + (R + NC + O) + e(UH + UO)) (AAPOR 2023, p. 61)."""
    return _ratio(c.I, c.eligible_known + _e(c, e) * c.U)


def rr4(c: DispositionCounts, e: float | None = None) -> float:
    """Return RR4 = (I + P) / ((I + P) + (R + NC + O) + e(UH + UO)) (AAPOR 2023, p. 61)."""
    return _ratio(c.interviews, c.eligible_known + _e(c, e) * c.U)


def rr5(c: DispositionCounts) -> float:
    """Return RR5 = I / ((I + P) + (R + NC + O)) (AAPOR 2023, p. 61)."""
    return _ratio(c.I, c.eligible_known)


def rr6(c: DispositionCounts) -> float:
    """Return RR6 = (I + P) / ((I + P) + (R + NC + O)) (AAPOR 2023, p. 61)."""
    return _ratio(c.interviews, c.eligible_known)


def coop1(c: DispositionCounts) -> float:
    """Return COOP1 = I / ((I + P) + R + O) (AAPOR 2023, p. 62)."""
    return _ratio(c.I, c.interviews + c.R + c.O)


def coop2(c: DispositionCounts) -> float:
    """Return COOP2 = (I + P) / ((I + P) + R + O) (AAPOR 2023, p. 62)."""
    return _ratio(c.interviews, c.interviews + c.R + c.O)


def coop3(c: DispositionCounts) -> float:
    """Return COOP3 = I / ((I + P) + R) (AAPOR 2023, p. 62)."""
    return _ratio(c.I, c.interviews + c.R)


def coop4(c: DispositionCounts) -> float:
    """Return COOP4 = (I + P) / ((I + P) + R) (AAPOR 2023, p. 62)."""
    return _ratio(c.interviews, c.interviews + c.R)


def ref1(c: DispositionCounts) -> float:
    """Return REF1 = R / ((I + P) + (R + NC + O) + (UH + UO)) (AAPOR 2023, p. 63)."""
    return _ratio(c.R, c.eligible_known + c.U)


def ref2(c: DispositionCounts, e: float | None = None) -> float:
    """Return REF2 = R / ((I + P) + (R + NC + O) + e(UH + UO)) (AAPOR 2023, p. 63)."""
    return _ratio(c.R, c.eligible_known + _e(c, e) * c.U)


def ref3(c: DispositionCounts) -> float:
    """Return REF3 = R / ((I + P) + (R + NC + O)) (AAPOR 2023, p. 63)."""
    return _ratio(c.R, c.eligible_known)


def con1(c: DispositionCounts) -> float:
    """Return CON1 = ((I + P) + R + O) / ((I + P) + R + O + NC + (UH + UO)) (AAPOR 2023, p. 63)."""
    return _ratio(c.interviews + c.R + c.O, c.eligible_known + c.U)


def con2(c: DispositionCounts, e: float | None = None) -> float:
    """Return CON2 = ((I + P) + R + O) / ((I + P) + R + O + NC + e(UH + UO)) (AAPOR 2023, p. 63)."""
    return _ratio(c.interviews + c.R + c.O, c.eligible_known + _e(c, e) * c.U)


def con3(c: DispositionCounts) -> float:
    """Return CON3 = ((I + P) + R + O) / ((I + P) + R + O + NC) (AAPOR 2023, p. 63)."""
    return _ratio(c.interviews + c.R + c.O, c.eligible_known)


@dataclass(frozen=True)
class OutcomeRates:
    """All AAPOR rates of one group of cases, with the e they used."""

    counts: DispositionCounts
    e: float
    rates: dict[str, float]

    def __getitem__(self, name: str) -> float:
        return self.rates[name]


def outcome_rates(c: DispositionCounts, e: float | None = None) -> OutcomeRates:
    """Return every rate of RATE_NAMES for C; E defaults to `eligibility_known_share` of C.

    Parameters
    ----------
    c : DispositionCounts
        Case counts of the group.
    e : float, optional
        Estimated eligible share of the unknown-eligibility cases; pass the wave's value to
        report small groups (a PSU, an enumerator) on a common, stable e.

    References
    ----------
    AAPOR (2023), pp. 57–63.
    """
    used = _e(c, e)
    rates = {
        "RR1": rr1(c), "RR2": rr2(c), "RR3": rr3(c, used), "RR4": rr4(c, used), "RR5": rr5(c), "RR6": rr6(c),
        "COOP1": coop1(c), "COOP2": coop2(c), "COOP3": coop3(c), "COOP4": coop4(c),
        "REF1": ref1(c), "REF2": ref2(c, used), "REF3": ref3(c),
        "CON1": con1(c), "CON2": con2(c, used), "CON3": con3(c),
    }
    # The e reported is the one stated, even where no unknown case makes it matter.
    return OutcomeRates(counts=c, e=eligibility_known_share(c) if e is None else e, rates=rates)
