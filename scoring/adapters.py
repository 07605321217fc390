"""The one bridge from the database to the numeric core: querysets in, numpy arrays out.

Everything else in `scoring/` is pure numpy/scipy and never imports Django.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from django.db.models import TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils.translation import gettext as _

from assessment.demography import age_group_label, sex_age_label
from assessment.models import CensusMarginSet, Wave, WaveInstrument, Weight, WeightSet
from questionnaires.models import Response, ResponseScore, ScoringKey

DEMOGRAPHICS = "demographics"
DEMOGRAPHIC_ITEMS = ("age", "sex", "education", "occupation")


class DataProblem(ValueError):
    """Stored data that cannot be turned into a valid design (the message names the case)."""


@dataclass(frozen=True)
class RespondentTable:
    """One row per usable response of one instrument in one wave, in response-id order."""

    response_id: npt.NDArray[np.int64]
    case_id: npt.NDArray[np.int64]
    stratum: npt.NDArray[np.str_]
    psu: npt.NDArray[np.str_]
    pi: npt.NDArray[np.float64]
    labels: dict[str, npt.NDArray[np.str_]]  # town, urban_rural, sex, age_group, sex_age, education, occupation
    groups: dict[str, npt.NDArray[np.bool_]]  # population group memberships

    @property
    def n(self) -> int:
        return int(self.response_id.size)


def wave_key(wave: Wave, instrument_code: str) -> ScoringKey:
    """Return the key whose scores are official for INSTRUMENT_CODE in WAVE."""
    fielded = (
        WaveInstrument.objects.filter(wave=wave, instrument_version__instrument__code=instrument_code)
        .select_related("scoring_key", "instrument_version")
        .first()
    )
    if fielded is None:
        raise DataProblem(_("%(wave)s 轮次没有使用问卷 %(instrument)s。") % {"wave": wave.code, "instrument": instrument_code})
    key = fielded.scoring_key or fielded.instrument_version.scoring_keys.filter(status="published").order_by("-version").first()
    if key is None:
        raise DataProblem(
            _("%(wave)s 轮次的问卷 %(instrument)s 没有已发布的评分标准。") % {"wave": wave.code, "instrument": instrument_code}
        )
    return key


def respondent_table(wave: Wave, instrument_code: str) -> RespondentTable:
    """Return the design coordinates and demographics of INSTRUMENT_CODE's respondents in WAVE.

    Rejected responses are left out.  A case drawn as a certainty PSU is its own stratum
    with households as PSUs (the ultimate-cluster treatment of certainty units).
    """
    rows = list(
        Response.objects.filter(wave=wave, instrument_version__instrument__code=instrument_code, case__isnull=False)
        .exclude(review=Response.Review.REJECTED)
        .order_by("pk")
        .values_list(
            "pk",
            "case_id",
            "case__code",
            "case__prob_psu",
            "case__prob_household",
            "case__prob_person",
            "case__town__code",
            "case__sampled_unit__stratum__code",
            "case__sampled_unit__certainty",
            "case__sampled_unit__unit__code",
            "case__sampled_unit__unit__urban_rural",
        )
    )
    demo: dict[int, dict[str, Any]] = defaultdict(dict)
    # The database extracts the four answers as text: decoding every answer sheet's JSON in Python
    # costs more than the rest of this function on a wave of 10,000 respondents.
    extracted = {f"demo_{k}": KeyTextTransform(k, "answers") for k in DEMOGRAPHIC_ITEMS}
    for case_id, *values in (
        Response.objects.filter(wave=wave, instrument_version__instrument__code=DEMOGRAPHICS, case__isnull=False)
        .exclude(review=Response.Review.REJECTED)
        .annotate(**extracted)
        .values_list("case_id", *extracted)
    ):
        demo[case_id] = {k: (None if v is None else str(v)) for k, v in zip(DEMOGRAPHIC_ITEMS, values)}
    group_rows: dict[int, str] = {}
    group_names: list[str] = []
    try:
        demo_key = wave_key(wave, DEMOGRAPHICS)
    except DataProblem:
        demo_key = None
    if demo_key is not None:
        group_names = list(demo_key.groups.order_by("order").values_list("name", flat=True))
        # The group list is read as its JSON text and searched for each '"name"' (group names are
        # slugs): decoding 10,000 small JSON lists costs more than the rest of the query.
        for case_id, groups in ResponseScore.objects.filter(
            key=demo_key, response__wave=wave
        ).values_list("response__case_id", Cast("groups", TextField())):
            group_rows[case_id] = groups or ""

    n = len(rows)
    stratum, psu, pi = [], [], np.empty(n)
    town, urban, sex, age, education, occupation = [], [], [], [], [], []
    for i, (_pk, case_id, code, p1, p2, p3, town_code, stratum_code, certain, unit, ur) in enumerate(rows):
        if p3 is None:
            raise DataProblem(_("样本户 %(case)s：尚未选出受访者，因此没有入样概率。") % {"case": code})
        answers = demo.get(case_id)
        if not answers or any(answers.get(k) in (None, "") for k in ("age", "sex", "education")):
            raise DataProblem(_("样本户 %(case)s：缺少基本情况问卷（年龄、性别、文化程度）。") % {"case": code})
        pi[i] = p1 * p2 * p3
        stratum.append(f"{stratum_code}-{unit}" if certain else stratum_code)
        psu.append(code if certain else unit)
        town.append(town_code)
        urban.append(ur)
        sex.append(str(answers["sex"]))
        age.append(int(float(answers["age"])))
        education.append(str(answers["education"]))
        occupation.append(str(answers.get("occupation", "")))
    ages = np.asarray(age, dtype=np.int64)
    labels = {
        "town": np.asarray(town, dtype=str),
        "urban_rural": np.asarray(urban, dtype=str),
        "sex": np.asarray(sex, dtype=str),
        "age_group": age_group_label(ages),
        "sex_age": sex_age_label(np.asarray(sex, dtype=str), ages) if n else np.asarray([], dtype=str),
        "education": np.asarray(education, dtype=str),
        "occupation": np.asarray(occupation, dtype=str),
    }
    case_ids = np.asarray([r[1] for r in rows], dtype=np.int64)
    groups = {
        g: np.asarray([f'"{g}"' in group_rows.get(int(c), "") for c in case_ids], dtype=bool) for g in group_names
    }
    return RespondentTable(
        response_id=np.asarray([r[0] for r in rows], dtype=np.int64),
        case_id=case_ids,
        stratum=np.asarray(stratum, dtype=str),
        psu=np.asarray(psu, dtype=str),
        pi=pi,
        labels=labels,
        groups=groups,
    )


def margin_totals(margin_set: CensusMarginSet) -> dict[str, dict[str, float]]:
    """Return {variable: {level: population total}} of a margin set."""
    totals: dict[str, dict[str, float]] = defaultdict(dict)
    for variable, level, total in margin_set.margins.values_list("variable", "level", "total"):
        totals[variable][level] = total
    return dict(totals)


def benchmark_values(
    response_ids: npt.NDArray[np.int64], key: ScoringKey, benchmark: str, dimension: str | None = None
) -> npt.NDArray[np.float64]:
    """Return 1.0/0.0 per response for a benchmark (NaN where the response is not scored)."""
    flags: dict[int, Any] = dict(
        ResponseScore.objects.filter(key=key, response_id__in=response_ids.tolist()).values_list("response_id", "benchmarks")
    )
    out = np.full(response_ids.size, np.nan)
    for i, rid in enumerate(response_ids.tolist()):
        value = flags.get(rid, {}).get(benchmark) if rid in flags else None
        if isinstance(value, dict):
            value = value.get(dimension or "")
        if value is not None:
            out[i] = 1.0 if value else 0.0
    return out


@dataclass(frozen=True)
class StoredWeights:
    response_id: npt.NDArray[np.int64]
    stratum: npt.NDArray[np.str_]
    psu: npt.NDArray[np.str_]
    base: npt.NDArray[np.float64]
    adjusted: npt.NDArray[np.float64]
    final: npt.NDArray[np.float64]


def stored_weights(weight_set: WeightSet) -> StoredWeights:
    """Return a weight set's rows in response-id order."""
    rows = list(
        Weight.objects.filter(weight_set=weight_set)
        .order_by("response_id")
        .values_list("response_id", "stratum", "psu", "base", "adjusted", "final")
    )
    cols = list(zip(*rows)) if rows else [[]] * 6
    return StoredWeights(
        response_id=np.asarray(cols[0], dtype=np.int64),
        stratum=np.asarray(cols[1], dtype=str),
        psu=np.asarray(cols[2], dtype=str),
        base=np.asarray(cols[3], dtype=np.float64),
        adjusted=np.asarray(cols[4], dtype=np.float64),
        final=np.asarray(cols[5], dtype=np.float64),
    )
