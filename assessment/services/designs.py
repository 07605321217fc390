"""Sample designs, reproducible draws and the Kish selection of the respondent.

Stages and their probabilities (all stored on the case; π is their product):

1. PSUs within each stratum by systematic PPS on the measure of size, frame sorted urban first
   then by code (implicit stratification); units whose n_h·size/total reaches 1 are taken with
   certainty (π_psu = 1) and the rest re-allocated (`sampling.pps_probabilities`).
2. Households within a PSU from its listing, systematically (random start, fractional
   interval) or by simple random sampling: π_household = min(1, m / M).
3. One eligible resident by Kish selection from the roster the enumerator enters:
   π_person = 1 / (eligible members).  In school, enterprise and agency waves the listed unit
   is the person, so π_person = 1.

Every random number comes from the draw's stored seed: PSUs of stratum h from
``default_rng([seed, 1, h])``, households of the k-th selected PSU from
``default_rng([seed, 2, k])`` and its Kish rows from ``default_rng([seed, 3, k])``, so the same
seed gives the same sample whenever each PSU's listing arrives.
"""
from __future__ import annotations

import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from assessment import access
from assessment.errors import FieldworkError, WaveClosed
from assessment.models import (
    AuditEvent,
    Case,
    Disposition,
    Frame,
    FrameUnit,
    Household,
    HouseholdMember,
    SampleDesign,
    SampleDraw,
    SampledUnit,
    Stratum,
    Visit,
    Wave,
)
from assessment.models.audit import county_of_wave
from assessment.precision import cases_to_issue, completes_for_cv, design_effect_cluster
from assessment.sampling import allocate_proportional, kish_select, pps_systematic, systematic

STRATIFIERS = ("town", "urban_rural")
DEFAULT_PARAMETERS: dict[str, Any] = {
    "response_rate": 0.75,  # expected, for the targets of completed interviews
    "eligibility_rate": 0.95,  # expected share of households with an eligible resident
    "eligible_ages": [15, 69],
    "min_psu": 1,
}


# Each parameter a design may take: (kind, low, high); numbers are finite, integers whole.
PARAMETER_RULES: dict[str, tuple[str, float, float]] = {
    "response_rate": ("number", 0.01, 1.0), "eligibility_rate": ("number", 0.01, 1.0),
    "p": ("number", 0.001, 0.999), "cv": ("number", 0.001, 10.0), "deff": ("number", 1.0, 100.0), "roh": ("number", 0.0, 1.0),
    "min_psu": ("integer", 1, 10_000), "min_psu_per_town": ("integer", 1, 10_000),
}


def _number_ok(value: Any, kind: str, low: float, high: float) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if kind == "integer" and not float(value).is_integer():
        return False
    return math.isfinite(value) and low <= value <= high


def parameters_checked(parameters: dict[str, Any]) -> dict[str, Any]:
    """Return PARAMETERS if every one is known and in range; FieldworkError naming the first that is not."""
    for name, value in parameters.items():
        if name in PARAMETER_RULES:
            kind, low, high = PARAMETER_RULES[name]
            if not _number_ok(value, kind, low, high):
                raise FieldworkError(_("参数 %(name)s 须为 %(low)s 到 %(high)s 之间的%(kind)s。") % {
                    "name": name, "low": f"{low:g}", "high": f"{high:g}", "kind": _("整数") if kind == "integer" else _("数")})
        elif name == "eligible_ages":
            ok = isinstance(value, list | tuple) and len(value) == 2 and all(_number_ok(a, "integer", 0, 120) for a in value)
            if not ok or value[0] > value[1]:
                raise FieldworkError(_("参数 eligible_ages 须为两个 0–120 的整数 [最小年龄, 最大年龄]。"))
        elif name == "level":
            if value not in ("stratum", "county"):
                raise FieldworkError(_("level 须为 stratum（每层）或 county（全县）。"))
        elif name == "p_by_stratum":
            if not isinstance(value, dict) or not all(_number_ok(v, "number", 0.001, 0.999) for v in value.values()):
                raise FieldworkError(_("参数 p_by_stratum 须为 {层代码: 0.001–0.999 的比例}。"))
        elif name == "fixed":
            if not isinstance(value, dict) or not all(_number_ok(v, "integer", 1, 100_000) for v in value.values()):
                raise FieldworkError(_("参数 fixed 须为 {层代码: 单位数}。"))
        else:
            known = sorted([*PARAMETER_RULES, "eligible_ages", "level", "p_by_stratum", "fixed"])
            raise FieldworkError(_("未知的参数“%(name)s”（可用：%(known)s）。") % {"name": name, "known": ", ".join(known)})
    return parameters


def _user(user: AbstractBaseUser | None) -> Any:
    return user if user is not None and user.is_authenticated else None


@dataclass(frozen=True)
class StratumFrame:
    code: str
    town_id: int
    urban_rural: str
    units: int
    size: float


def design_strata(frame: Frame, stratify_by: Sequence[str]) -> list[StratumFrame]:
    """Return the strata of FRAME under STRATIFY_BY (town, or town × urban/rural), in town order."""
    unknown = set(stratify_by) - set(STRATIFIERS)
    if unknown or "town" not in stratify_by:
        raise FieldworkError(_("分层变量须为 town，或 town 与 urban_rural。"))
    by_ur = "urban_rural" in stratify_by
    keys = ["town_id", "town__code", "town__order"] + (["urban_rural"] if by_ur else [])
    rows = frame.units.values(*keys).annotate(n=Count("pk"), size=Sum("measure_of_size")).order_by("town__order", "town__code", *keys[3:])
    return [
        StratumFrame(
            code=f"{r['town__code']}-{r['urban_rural']}" if by_ur else r["town__code"],
            town_id=r["town_id"],
            urban_rural=r["urban_rural"] if by_ur else "",
            units=r["n"],
            size=float(r["size"]),
        )
        for r in rows
    ]


def _target_cv_psus(strata: list[StratumFrame], m: int, params: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
    """Return the PSUs per stratum that reach the target CV, and the numbers behind them."""
    try:
        p, cv = float(params["p"]), float(params["cv"])
    except (KeyError, TypeError, ValueError):
        raise FieldworkError(_("按目标变异系数分配须给出预期比例 p 和目标变异系数 cv。")) from None
    rr, elig = float(params["response_rate"]), float(params["eligibility_rate"])
    completes_per_psu = m * rr * elig
    deff = design_effect_cluster(completes_per_psu, float(params["roh"])) if "roh" in params else float(params.get("deff", 2.0))
    level = params.get("level", "stratum")
    caps = np.asarray([s.units for s in strata])
    floor = np.minimum(caps, max(2, int(params["min_psu"])))  # two PSUs per stratum for a variance
    if level == "county":
        n = completes_for_cv(p, cv, deff)
        total = math.ceil(cases_to_issue(n, rr, elig) / m)
        total = int(min(max(total, floor.sum()), caps.sum()))
        alloc = allocate_proportional([s.size for s in strata], total, floor, caps)
        return alloc, {"deff": deff, "completes_needed": math.ceil(n)}
    if level == "stratum":
        by_stratum = params.get("p_by_stratum", {})
        need = [completes_for_cv(float(by_stratum.get(s.code, p)), cv, deff) for s in strata]
        alloc = np.clip([math.ceil(cases_to_issue(n, rr, elig) / m) for n in need], floor, caps).astype(np.int64)
        return alloc, {"deff": deff, "completes_needed": {s.code: math.ceil(n) for s, n in zip(strata, need)}}
    raise FieldworkError(_("level 须为 stratum（每层）或 county（全县）。"))


def allocation_compute(
    strata: list[StratumFrame], allocation: str, psu_total: int | None, m: int, params: dict[str, Any]
) -> tuple[np.ndarray, dict[str, Any]]:
    """Return PSUs per stratum for ALLOCATION, and any numbers the method derived.

    A stratum with fewer units than the minimum takes all of them.
    """
    sizes = [s.size for s in strata]
    caps = np.asarray([s.units for s in strata])
    minimum = int(params["min_psu"])
    try:
        if allocation == SampleDesign.Allocation.TARGET_CV:
            return _target_cv_psus(strata, m, params)
        if allocation == SampleDesign.Allocation.FIXED:
            fixed = params.get("fixed") or {}
            codes = {s.code for s in strata}
            if set(fixed) != codes:
                missing, extra = sorted(codes - set(fixed)), sorted(set(fixed) - codes)
                raise FieldworkError(
                    _("指定数量须覆盖每一层且只含这些层：缺少 %(missing)s；多出 %(extra)s。")
                    % {"missing": _("、").join(missing) or "—", "extra": _("、").join(extra) or "—"}
                )
            alloc = np.asarray([int(fixed[s.code]) for s in strata])
            bad = [s.code for s, n in zip(strata, alloc) if not 1 <= n <= s.units]
            if bad:
                raise FieldworkError(_("层 %(codes)s 的指定数量须在 1 与该层单位数之间。") % {"codes": _("、").join(bad)})
            return alloc, {}
        if psu_total is None or psu_total < 1:
            raise FieldworkError(_("请给出抽取的单位总数。"))
        if allocation == SampleDesign.Allocation.EQUAL:
            return allocate_proportional(np.ones(len(strata)), psu_total, np.minimum(caps, minimum), caps), {}
        if allocation == SampleDesign.Allocation.MIN_PER_TOWN:
            minimum = int(params.get("min_psu_per_town", 6))
        elif allocation != SampleDesign.Allocation.PROPORTIONAL:
            raise FieldworkError(_("未知的分配方法“%(method)s”。") % {"method": allocation})
        return allocate_proportional(sizes, psu_total, np.minimum(caps, minimum), caps), {}
    except FieldworkError:
        raise
    except (TypeError, ValueError, ArithmeticError) as exc:  # a total the strata cannot hold, numbers out of reach
        raise FieldworkError(str(exc)) from exc


@transaction.atomic
def sample_design_create(
    *,
    wave: Wave,
    frame: Frame,
    name: str,
    allocation: str,
    households_per_psu: int,
    psu_total: int | None = None,
    stratify_by: Sequence[str] = ("town",),
    household_method: str = SampleDesign.HouseholdMethod.SYSTEMATIC,
    parameters: dict[str, Any] | None = None,
    user: AbstractBaseUser | None = None,
) -> SampleDesign:
    """Create a design for WAVE on FRAME with its strata and their PSU and completed-interview targets.

    Allocations: proportional to the measure of size (at least `min_psu` per stratum), equal,
    fixed per stratum (`parameters["fixed"]`), proportional with at least
    `min_psu_per_town`, or enough PSUs for a target CV of the headline proportion
    (`p`, `cv`, `deff` or `roh`, `response_rate`, `eligibility_rate`, `level`; see
    `assessment.precision`).  No stratum gets more PSUs than its frame holds.
    """
    if frame.county_id != wave.county_id:
        raise FieldworkError(_("抽样框不属于本轮调查所在的县。"))
    if household_method not in SampleDesign.HouseholdMethod.values:
        raise FieldworkError(_("未知的抽户方法“%(method)s”。") % {"method": household_method})
    if households_per_psu < 1:
        raise FieldworkError(_("每个单位至少抽取 1 户。"))
    params = {**DEFAULT_PARAMETERS, **parameters_checked(dict(parameters or {}))}
    strata = design_strata(frame, stratify_by)
    if not strata:
        raise FieldworkError(_("抽样框中没有单位。"))
    alloc, derived = allocation_compute(strata, allocation, psu_total, households_per_psu, params)
    expected = households_per_psu * float(params["response_rate"]) * float(params["eligibility_rate"])
    design = SampleDesign.objects.create(
        wave=wave, frame=frame, name=name[:128], stratify_by=list(stratify_by), allocation=allocation,
        psu_total=int(alloc.sum()), households_per_psu=households_per_psu, household_method=household_method,
        parameters={**params, **derived},
    )
    Stratum.objects.bulk_create(
        Stratum(
            design=design, code=s.code, town_id=s.town_id, urban_rural=s.urban_rural, frame_units=s.units,
            frame_size=s.size, psu_allocated=int(n), target_completes=round(int(n) * expected),
        )
        for s, n in zip(strata, alloc)
    )
    AuditEvent.objects.create(
        actor=_user(user), action="design.create", object_type="SampleDesign", object_id=str(design.pk),
        county_id=wave.county_id,
        summary=f"{wave.code} {design.name}: {design.psu_total} PSUs × {households_per_psu} households"[:255],
        details={"allocation": allocation, "strata": {s.code: int(n) for s, n in zip(strata, alloc)}, **derived},
    )
    return design


def draw_has_fieldwork(draw: SampleDraw) -> bool:
    """Return whether any case of DRAW has been visited, answered or sent an invitation."""
    cases = Case.objects.filter(draw=draw)
    return (
        Visit.objects.filter(case__in=cases).exists()
        or cases.filter(responses__isnull=False).exists()
        or cases.filter(invitations__isnull=False).exists()
    )


def _stratum_frame(design: SampleDesign, stratum: Stratum) -> list[FrameUnit]:
    units = design.frame.units.filter(town_id=stratum.town_id)
    if stratum.urban_rural:
        units = units.filter(urban_rural=stratum.urban_rural)
    # Implicit stratification: urban first, then by code.
    return sorted(units, key=lambda u: (u.urban_rural != "urban", u.code))


@transaction.atomic
def wave_draw_sample(*, design: SampleDesign, seed: int | None = None, user: AbstractBaseUser | None = None) -> SampleDraw:
    """Draw DESIGN's sample with SEED (a fresh random seed when None, stored either way).

    A previous draw of the design is kept for the record but loses its cases, which is refused
    once fieldwork has touched them.  Households are drawn at once in the PSUs already listed;
    the others get theirs from `households_draw` when their listing is imported.
    """
    if seed is None:
        seed = secrets.randbits(62)
    if not 0 <= seed < 2**63:
        raise FieldworkError(_("随机种子须为 0 到 2^63 − 1 之间的整数。"))
    for old in design.draws.filter(is_current=True):
        if draw_has_fieldwork(old):
            raise FieldworkError(_("当前样本已开始调查（有访问记录、答卷或邀请），不能重新抽样。"))
        Case.objects.filter(draw=old).delete()
        old.is_current = False
        old.save(update_fields=["is_current"])
    draw = SampleDraw.objects.create(design=design, seed=seed, drawn_by=_user(user))
    sampled: list[SampledUnit] = []
    for h, stratum in enumerate(design.strata.order_by("pk")):
        units = _stratum_frame(design, stratum)
        if stratum.psu_allocated > len(units):
            raise FieldworkError(_("层 %(code)s 只有 %(n)d 个单位，少于分配数。") % {"code": stratum.code, "n": len(units)})
        if stratum.psu_allocated == 0:
            continue
        pps = pps_systematic([u.measure_of_size for u in units], stratum.psu_allocated, np.random.default_rng([seed, 1, h]))
        for i in pps.selected.tolist():
            sampled.append(
                SampledUnit(
                    draw=draw, stratum=stratum, unit=units[i], probability=float(pps.probability[i]),
                    certainty=bool(pps.certainty[i]), selection_order=len(sampled),
                )
            )
    SampledUnit.objects.bulk_create(sampled)
    listings = _listings([su.unit_id for su in sampled])
    cases: list[Case] = []
    for su in sampled:
        if listings.get(su.unit_id):
            cases += _household_cases(design, draw, su, listings[su.unit_id])
    Case.objects.bulk_create(cases, batch_size=1000)
    AuditEvent.objects.create(
        actor=_user(user), action="sample.draw", object_type="SampleDraw", object_id=str(draw.pk),
        county_id=design.wave.county_id,
        summary=f"{design.wave.code} {design.name}: seed {seed}, {len(sampled)} PSUs, {len(cases)} cases"[:255],
        details={"seed": seed, "psus": len(sampled), "cases": len(cases)},
    )
    return draw


def _listings(unit_ids: list[int]) -> dict[int, list[int]]:
    """Return {unit id: household ids in listing order} (no encrypted field is read)."""
    out: dict[int, list[int]] = {}
    for pk, unit_id in Household.objects.filter(unit_id__in=unit_ids).order_by("pk").values_list("pk", "unit_id"):
        out.setdefault(unit_id, []).append(pk)
    return out


def _household_cases(design: SampleDesign, draw: SampleDraw, su: SampledUnit, listing: list[int]) -> list[Case]:
    """Return the (unsaved) cases of the households drawn in SU from its LISTING (household ids in order)."""
    total, m = len(listing), design.households_per_psu
    rng = np.random.default_rng([draw.seed, 2, su.selection_order])
    if design.household_method == SampleDesign.HouseholdMethod.SRS:
        picks = np.sort(rng.choice(total, size=min(m, total), replace=False))
    else:
        picks = systematic(total, m, rng)
    kish = np.random.default_rng([draw.seed, 3, su.selection_order]).uniform(size=picks.size)
    person = None if design.frame.kind == Frame.Kind.AREA else 1.0
    wave = design.wave
    return [
        Case(
            draw=draw, sampled_unit=su, household_id=listing[int(p)], wave=wave, town_id=su.unit.town_id,
            code=f"{wave.code}-{draw.pk}-{su.unit.code}-{k + 1:02d}"[:40],
            prob_psu=su.probability, prob_household=min(1.0, m / total), prob_person=person,
            kish_u=float(u),
        )
        for k, (p, u) in enumerate(zip(picks.tolist(), kish.tolist()))
    ]


@transaction.atomic
def households_draw(*, draw: SampleDraw, user: AbstractBaseUser | None = None) -> int:
    """Draw households in every PSU of DRAW that is listed but has no cases yet; return the cases made."""
    if not draw.is_current:
        raise FieldworkError(_("这不是当前样本。"))
    design = draw.design
    pending = (
        draw.units.filter(cases__isnull=True)
        .filter(unit__households_listed__isnull=False)
        .distinct()
        .select_related("unit")
    )
    pending = list(pending)
    listings = _listings([su.unit_id for su in pending])
    cases: list[Case] = []
    for su in pending:
        cases += _household_cases(design, draw, su, listings[su.unit_id])
    Case.objects.bulk_create(cases, batch_size=1000)
    if cases:
        AuditEvent.objects.create(
            actor=_user(user), action="sample.households", object_type="SampleDraw", object_id=str(draw.pk),
            county_id=design.wave.county_id,
            summary=f"{design.wave.code} {design.name}: {len(cases)} cases drawn from new listings"[:255],
            details={"cases": len(cases)},
        )
    return len(cases)


@dataclass(frozen=True)
class MemberInput:
    sex: str  # male | female
    age: int
    name: str = ""


def eligible_ages(case: Case) -> tuple[int, int]:
    low, high = case.draw.design.parameters.get("eligible_ages", DEFAULT_PARAMETERS["eligible_ages"])
    return int(low), int(high)


@transaction.atomic
def household_roster_record(
    *, case: Case, members: Sequence[MemberInput], user: AbstractBaseUser | None = None
) -> HouseholdMember | None:
    """Store the household roster of CASE, select the respondent by Kish and set π_person = 1/k.

    Returns the selected member, or None when nobody is eligible (the case is then not
    eligible, AAPOR 4).  The roster can be corrected until a questionnaire is answered (or the
    wave is closed: WaveClosed); from then on the selection is fixed.
    """
    if not access.wave_open(case.wave):
        raise WaveClosed(case.wave.code)
    if case.responses.exists():
        raise FieldworkError(_("该户已有答卷，不能再修改家庭成员名单（被访者已确定）。"))
    if not 1 <= len(members) <= 30:
        raise FieldworkError(_("家庭成员名单须有 1 到 30 人。"))
    for line, m in enumerate(members, start=1):
        if m.sex not in ("male", "female"):
            raise FieldworkError(_("第 %(line)d 位成员的性别无效。") % {"line": line})
        if not isinstance(m.age, int) or not 0 <= m.age <= 120:
            raise FieldworkError(_("第 %(line)d 位成员的年龄须为 0–120 的整数。") % {"line": line})
    if case.kish_u is None:  # cases drawn before the grid row was stored
        case.kish_u = float(np.random.default_rng([case.draw.seed, 3, 1_000_000 + case.pk]).uniform())
    low, high = eligible_ages(case)
    eligible = [low <= m.age <= high for m in members]
    case.members.all().delete()
    rows = HouseholdMember.objects.bulk_create(
        HouseholdMember(case=case, line=i, name=m.name, sex=m.sex, age=m.age, eligible=e)
        for i, (m, e) in enumerate(zip(members, eligible), start=1)
    )
    selected = None
    if any(eligible):
        position, k = kish_select([m.sex for m in members], [m.age for m in members], eligible, case.kish_u)
        selected = rows[position]
        HouseholdMember.objects.filter(pk=selected.pk).update(selected=True)
        selected.selected = True
        case.prob_person = 1.0 / k
        fields = ["kish_u", "prob_person"]
    else:
        case.prob_person = None
        case.disposition = Disposition.NOT_ELIGIBLE
        case.disposition_at = timezone.now()
        fields = ["kish_u", "prob_person", "disposition", "disposition_at"]
    case.save(update_fields=fields)
    AuditEvent.objects.create(
        actor=_user(user), action="case.roster", object_type="Case", object_id=str(case.pk),
        county_id=county_of_wave(case.wave_id),
        summary=f"{case.code}: {len(members)} members, {sum(eligible)} eligible"[:255],
        details={"members": len(members), "eligible": sum(eligible), "selected_line": selected.line if selected else None},
    )
    return selected
