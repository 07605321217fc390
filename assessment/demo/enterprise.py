"""The demo's enterprise survey: workers of key industries answer the occupational health test.

Frame (``build_worker_frame``): the county's key-industry enterprises with their workers.
Every synthetic resident aged 18–59 whose occupation is industrial work is a worker of one
enterprise in the town where they live (commuting is ignored; minors are not employed in
posts with occupational hazards, so the frame has nobody under 18).  A town has about one
enterprise per 150 workers; enterprise sizes follow a lognormal spread, each enterprise has
an industry (the development zone leans to chemicals and machinery) and a location (streets
and the development zone urban, elsewhere a third in the town seat).

Sample (``draw_enterprise_sample``), every year: strata are the towns; 30 enterprises
allocated proportionally to workers with at least 2 per town, drawn by systematic PPS on
the number of workers (sorted by industry, then code; large enterprises are certainty
units); 20 workers per enterprise by systematic sampling from its roster.  Outcomes follow a
stated response model: at work on the survey day 0.95; cooperation expit(2.4 + 0.02·(age − 40));
1% break off.

Weights: base weight 1/π, raked (the platform's weighting service) to a worker margin set
tabulated from the frame: town, sex × age group, urban/rural (of the enterprise) and
education.  The true model is ``truth.OCCUPATIONAL`` plus the enterprise effects below
(see docs/demo.md).
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
from django.db import transaction
from scipy.special import expit

from assessment.demo import truth as true_model
from assessment.demo.answers import answers_from_pattern, demographics_of
from assessment.demo.county import TOWNS
from assessment.demo.population import Population
from assessment.demography import EDUCATION_LEVELS as EDUCATION
from assessment.demography import sex_age_label
from assessment.sampling import allocate_proportional, pps_systematic, systematic

ENTERPRISE_SEED = 20250301
YEARS = (2022, 2023, 2024, 2025)
WORKER_AGES = (18, 59)
WORKERS_PER_ENTERPRISE_FRAME = 150  # about one enterprise per this many workers in a town
ENTERPRISES_TOTAL = 30
MIN_ENTERPRISES_PER_TOWN = 2
WORKERS_PER_ENTERPRISE = 20
ENTERPRISE_SD = 0.35  # stable enterprise effect on the ability (its training, its culture)
TARGET = 0.90
SOURCE = "职业健康保护行动"
ELIGIBILITY = "${age} >= 16 and ${age} <= 59"


@dataclass(frozen=True)
class Industry:
    code: str
    name_zh: str
    effect: float  # on the ability: industries with heavier hazards train more
    weight: float  # relative number of enterprises
    zone_weight: float  # the same in the development zone


INDUSTRIES: tuple[Industry, ...] = (
    Industry("quarrying", "非金属矿采选", 0.1, 0.10, 0.02),
    Industry("building_materials", "建材", -0.1, 0.18, 0.08),
    Industry("chemicals", "化工", 0.3, 0.08, 0.30),
    Industry("machinery", "机械制造", 0.0, 0.20, 0.35),
    Industry("textiles", "纺织服装", -0.2, 0.12, 0.10),
    Industry("food", "食品加工", -0.1, 0.14, 0.10),
    Industry("construction", "建筑施工", -0.3, 0.18, 0.05),
)
SIZE_CLASSES = (("small", 50), ("medium", 300), ("large", 10**9))  # upper bounds (exclusive)
SIZE_EFFECT = {"small": -0.4, "medium": 0.0, "large": 0.5}
SIZE_LABELS = {"small": "小型（50人以下）", "medium": "中型（50–299人）", "large": "大型（300人及以上）"}

_FIRM_WORDS = "鲁泰华兴源丰盛达恒信宏昌瑞安福润康金阳光明远"


@dataclass(frozen=True)
class WorkerFrame:
    """Enterprises and their workers (persons of the synthetic population), in roster order."""

    town: npt.NDArray[np.int64]  # per enterprise, index into TOWNS
    urban: npt.NDArray[np.bool_]
    industry: npt.NDArray[np.int64]  # index into INDUSTRIES
    effect: npt.NDArray[np.float64]  # stable enterprise effect
    code: list[str]
    name_zh: list[str]
    person: npt.NDArray[np.int64]  # per worker, sorted by enterprise then person
    enterprise: npt.NDArray[np.int64]  # per worker

    @cached_property
    def size(self) -> npt.NDArray[np.int64]:
        return np.bincount(self.enterprise, minlength=len(self.code)).astype(np.int64)

    @cached_property
    def starts(self) -> npt.NDArray[np.int64]:
        return np.concatenate([[0], np.cumsum(self.size)]).astype(np.int64)

    @cached_property
    def size_class(self) -> list[str]:
        return [next(name for name, bound in SIZE_CLASSES if n < bound) for n in self.size.tolist()]

    def offset(self) -> npt.NDArray[np.float64]:
        """Return each worker's enterprise term of the ability: size class, industry, enterprise."""
        per_enterprise = (
            np.asarray([SIZE_EFFECT[c] for c in self.size_class])
            + np.asarray([i.effect for i in INDUSTRIES])[self.industry]
            + self.effect
        )
        return per_enterprise[self.enterprise]


def build_worker_frame(pop: Population, seed: int = ENTERPRISE_SEED) -> WorkerFrame:
    """Return the key-industry enterprises of the synthetic county and their workers."""
    rng = np.random.default_rng(seed)
    low, high = WORKER_AGES
    workers = np.flatnonzero((pop.occupation == 1) & (pop.age >= low) & (pop.age <= high)).astype(np.int64)
    town_of, urban_of, industry_of, code_of, name_of = [], [], [], [], []
    person_of: list[npt.NDArray[np.int64]] = []
    enterprise_of: list[npt.NDArray[np.int64]] = []
    used: set[str] = set()
    for t, spec in enumerate(TOWNS):
        here = workers[pop.town[workers] == t]
        count = max(4, int(round(here.size / WORKERS_PER_ENTERPRISE_FRAME)))
        share = rng.lognormal(0.0, 0.9, size=count)
        assigned = rng.choice(count, size=here.size, p=share / share.sum())
        weights = np.asarray([i.zone_weight if spec.kind == "zone" else i.weight for i in INDUSTRIES])
        industries = rng.choice(len(INDUSTRIES), size=count, p=weights / weights.sum())
        in_town_seat = rng.uniform(size=count) < (1.0 if spec.kind in ("street", "zone") else 1 / 3)
        kept = [e for e in range(count) if np.any(assigned == e)]
        for number, e in enumerate(kept, start=1):
            index = len(code_of)
            members = np.sort(here[assigned == e])
            person_of.append(members)
            enterprise_of.append(np.full(members.size, index, dtype=np.int64))
            town_of.append(t)
            urban_of.append(bool(in_town_seat[e]))
            industry_of.append(int(industries[e]))
            code_of.append(f"{spec.code}-e{number:03d}")
            while True:
                words = "".join(rng.choice(list(_FIRM_WORDS), size=2))
                name = f"{words}{INDUSTRIES[int(industries[e])].name_zh}有限公司"
                if name not in used:
                    break
            used.add(name)
            name_of.append(name)
    return WorkerFrame(
        town=np.asarray(town_of, dtype=np.int64),
        urban=np.asarray(urban_of, dtype=bool),
        industry=np.asarray(industry_of, dtype=np.int64),
        effect=rng.normal(0.0, ENTERPRISE_SD, size=len(code_of)),
        code=code_of,
        name_zh=name_of,
        person=np.concatenate(person_of),
        enterprise=np.concatenate(enterprise_of),
    )


def worker_margin_labels(pop: Population, frame: WorkerFrame) -> dict[str, npt.NDArray[np.str_]]:
    """Return, per worker of FRAME, the labels of every raking variable (urban/rural: the enterprise's)."""
    persons = frame.person
    sex = np.where(pop.male[persons], "male", "female")
    return {
        "town": np.asarray([TOWNS[t].code for t in frame.town[frame.enterprise]]),
        "sex_age": sex_age_label(sex, pop.age[persons]),
        "urban_rural": np.where(frame.urban[frame.enterprise], "urban", "rural"),
        "education": np.asarray(EDUCATION)[pop.education[persons]],
    }


@dataclass(frozen=True)
class EnterpriseSample:
    """One row per sampled worker (case)."""

    enterprise: npt.NDArray[np.int64]
    worker: npt.NDArray[np.int64]  # position in the frame's worker arrays
    person: npt.NDArray[np.int64]  # person index in the population
    certainty: npt.NDArray[np.bool_]
    prob_enterprise: npt.NDArray[np.float64]
    prob_worker: npt.NDArray[np.float64]
    outcome: list[str]

    @property
    def respondents(self) -> npt.NDArray[np.int64]:
        return np.flatnonzero(np.asarray(self.outcome) == "complete")


def enterprise_allocation(frame: WorkerFrame) -> npt.NDArray[np.int64]:
    """Return sampled enterprises per town: proportional to workers, at least 2 per town."""
    workers = np.bincount(frame.town[frame.enterprise], minlength=len(TOWNS)).astype(float)
    return allocate_proportional(workers, ENTERPRISES_TOTAL, MIN_ENTERPRISES_PER_TOWN)


def draw_enterprise_sample(pop: Population, frame: WorkerFrame, rng: np.random.Generator) -> EnterpriseSample:
    """Draw one year's enterprises and workers and simulate who answers."""
    allocation = enterprise_allocation(frame)
    rows: dict[str, list[Any]] = {k: [] for k in ("enterprise", "worker", "certainty", "prob_enterprise", "prob_worker")}
    for t in range(len(TOWNS)):
        units = np.flatnonzero(frame.town == t)
        units = units[np.lexsort((np.asarray(frame.code)[units], frame.industry[units]))]
        draw = pps_systematic(frame.size[units].astype(float), int(allocation[t]), rng)
        for pos in draw.selected:
            e = int(units[pos])
            m = int(frame.size[e])
            for w in frame.starts[e] + systematic(m, WORKERS_PER_ENTERPRISE, rng):
                rows["enterprise"].append(e)
                rows["worker"].append(int(w))
                rows["certainty"].append(bool(draw.certainty[pos]))
                rows["prob_enterprise"].append(float(draw.probability[pos]))
                rows["prob_worker"].append(min(1.0, WORKERS_PER_ENTERPRISE / m))
    worker = np.asarray(rows["worker"], dtype=np.int64)
    person = frame.person[worker]
    p_present = 0.95
    p_coop = expit(2.4 + 0.02 * (pop.age[person] - 40))
    u_present, u_coop, u_partial = rng.uniform(size=(3, worker.size))
    outcome = [
        "non_contact" if u_present[i] >= p_present
        else "refusal" if u_coop[i] >= p_coop[i]
        else "partial" if u_partial[i] < 0.01
        else "complete"
        for i in range(worker.size)
    ]
    return EnterpriseSample(
        enterprise=np.asarray(rows["enterprise"], dtype=np.int64),
        worker=worker,
        person=person,
        certainty=np.asarray(rows["certainty"], dtype=bool),
        prob_enterprise=np.asarray(rows["prob_enterprise"]),
        prob_worker=np.asarray(rows["prob_worker"]),
        outcome=outcome,
    )


def enterprise_truths(pop: Population, frame: WorkerFrame, points: npt.ArrayLike, cut_points: float) -> dict[int, true_model.WaveTruth]:
    """Return the true occupational health knowledge of every frame worker, per year."""
    model = true_model.OCCUPATIONAL
    items = true_model.item_parameters(model, points)
    order = np.argsort(frame.person, kind="stable")
    eligible = frame.person[order]
    offset = frame.offset()[order]
    return {
        year: true_model.wave_truth(model, pop, year, items, cut_points, eligible=eligible, offset=offset)
        for year in YEARS
    }


# -- the database ---------------------------------------------------------------------------


def _aware(d: date, hour: int = 9) -> datetime:
    return datetime(d.year, d.month, d.day, hour, tzinfo=dt_timezone(timedelta(hours=8)))


@dataclass(frozen=True)
class EnterpriseWaveResult:
    year: int
    estimate: float
    ci_low: float
    ci_high: float
    n: int
    truth: float

    def line(self) -> str:
        covered = "yes" if self.ci_low <= self.truth <= self.ci_high else "NO"
        return (
            f"  {self.year}  occupational_health estimate {100 * self.estimate:5.1f}%  "
            f"95% CI {100 * self.ci_low:5.1f}–{100 * self.ci_high:5.1f}%  "
            f"truth {100 * self.truth:5.1f}%  covered: {covered}  (n={self.n})"
        )


def enterprise_surveys_build(
    county: Any, *, population: Population | None = None, log: Callable[[str], None] = print, store_estimates: bool = True
) -> list[EnterpriseWaveResult]:
    """Add the enterprise survey's frame, margins and yearly waves to the demo COUNTY, scored and weighted.

    Idempotent: waves already built are kept, and their weights and estimates only recomputed
    when their inputs changed.  Returns each year's estimate next to the true share.
    STORE_ESTIMATES: as for `weight_set_compute`.
    """
    from assessment.demo.build import POPULATION_SEED, literacy_cut_points
    from assessment.demo.population import build_population
    from assessment.estimation import estimate_overall, wave_design
    from assessment.models import Wave
    from assessment.weighting import weight_set_compute
    from questionnaires.models import InstrumentVersion
    from questionnaires.services import key_compile

    pop = population if population is not None else build_population(POPULATION_SEED)
    frame = build_worker_frame(pop)
    version = (
        InstrumentVersion.objects.filter(instrument__code="occupational_health", status="published")
        .order_by("-version")
        .first()
    )
    if version is None:
        raise ValueError("the occupational health instrument is not published: build the demo county first")
    key = version.scoring_keys.order_by("-version").first()
    assert key is not None
    truths = enterprise_truths(pop, frame, key_compile(key).arrays.points, literacy_cut_points(key))
    if not Wave.objects.filter(county=county, kind=Wave.Kind.ENTERPRISE).exists():
        _EnterpriseWriter(county, pop, frame, truths).write()
        log("  enterprise survey: frame, samples and answers of key-industry workers")
    results = []
    for wave in Wave.objects.filter(county=county, kind=Wave.Kind.ENTERPRISE).order_by("year"):
        weight_set_compute(wave=wave, instrument_code="occupational_health", store_estimates=store_estimates)
        cell = estimate_overall(wave_design(wave, "occupational_health"), "occupational_health")
        results.append(
            EnterpriseWaveResult(wave.year, cell.estimate, cell.ci_low, cell.ci_high, cell.n, truths[wave.year].share)
        )
    return results


class _EnterpriseWriter:
    """Write the enterprise frame, the worker margins and one enterprise wave per year."""

    def __init__(self, county: Any, pop: Population, frame: WorkerFrame, truths: dict[int, true_model.WaveTruth]) -> None:
        self.county, self.pop, self.frame, self.truths = county, pop, frame, truths
        self.rng = np.random.default_rng([ENTERPRISE_SEED, 0])

    @transaction.atomic
    def write(self) -> None:
        from assessment.models import (
            CensusMargin,
            CensusMarginSet,
            Frame,
            FrameUnit,
            StaffProfile,
        )
        from questionnaires.forms import compiled_form
        from questionnaires.models import InstrumentVersion

        self.towns = {t.code: t for t in self.county.towns.all()}
        self.versions = {
            code: InstrumentVersion.objects.filter(instrument__code=code, status="published").order_by("-version").first()
            for code in ("demographics", "occupational_health")
        }
        self.keys = {code: v.scoring_keys.order_by("-version").first() for code, v in self.versions.items()}
        self.forms = {code: compiled_form(v) for code, v in self.versions.items()}
        self.enumerators = {
            profile.towns.first().code: profile.user
            for profile in StaffProfile.objects.filter(county=self.county, role="enumerator").prefetch_related("towns")
            if profile.towns.exists()
        }
        f = self.frame
        db_frame = Frame.objects.create(
            county=self.county,
            name="平阴县重点行业企业名录（职业病危害项目申报，模拟）",
            kind=Frame.Kind.ENTERPRISE,
            reference_year=2021,
        )
        self.units = FrameUnit.objects.bulk_create(
            FrameUnit(
                frame=db_frame,
                code=f.code[e],
                name=f.name_zh[e],
                town=self.towns[TOWNS[int(f.town[e])].code],
                urban_rural="urban" if f.urban[e] else "rural",
                measure_of_size=float(f.size[e]),
                attributes={
                    "industry": INDUSTRIES[int(f.industry[e])].code,
                    "industry_zh": INDUSTRIES[int(f.industry[e])].name_zh,
                    "size_class": f.size_class[e],
                    "workers": int(f.size[e]),
                },
            )
            for e in range(len(f.code))
        )
        margin_set = CensusMarginSet.objects.create(
            county=self.county,
            name="重点行业企业职工（模拟）16–59岁",
            reference_year=2021,
            age_min=true_model.OCCUPATIONAL.age_min,
            age_max=true_model.OCCUPATIONAL.age_max,
            source="企业职业病危害项目申报的职工名册汇总，演示县合成数据",
        )
        rows = []
        for variable, labels in worker_margin_labels(self.pop, f).items():
            levels, counts = np.unique(labels, return_counts=True)
            rows += [
                CensusMargin(margin_set=margin_set, variable=variable, level=str(level), total=float(n))
                for level, n in zip(levels, counts)
            ]
        CensusMargin.objects.bulk_create(rows)
        for year in YEARS:
            self.wave(year, db_frame)

    def wave(self, year: int, db_frame: Any) -> None:
        from assessment.models import (
            Assignment,
            Case,
            SampleDesign,
            SampleDraw,
            SampledUnit,
            Stratum,
            Target,
            Visit,
            Wave,
            WaveInstrument,
        )

        f, pop = self.frame, self.pop
        wave = Wave.objects.create(
            county=self.county,
            code=f"{year}-enterprise",
            year=year,
            name_zh=f"{year}年平阴县重点行业职工职业健康知识调查",
            name_en=f"Pingyin County occupational health knowledge survey of key-industry workers {year}",
            kind=Wave.Kind.ENTERPRISE,
            status=Wave.Status.CLOSED,
            fieldwork_start=date(year, 5, 10),
            fieldwork_end=date(year, 6, 30),
        )
        for order, code in enumerate(("demographics", "occupational_health")):
            WaveInstrument.objects.create(
                wave=wave,
                instrument_version=self.versions[code],
                scoring_key=self.keys[code],
                order=order,
                eligibility="" if code == "demographics" else ELIGIBILITY,
            )
        Target.objects.create(wave=wave, indicator="occupational_health", value=TARGET, target_year=2025, source=SOURCE)
        sample = draw_enterprise_sample(pop, f, np.random.default_rng([ENTERPRISE_SEED, year]))
        allocation = enterprise_allocation(f)
        design = SampleDesign.objects.create(
            wave=wave,
            frame=db_frame,
            name=f"{year}年 重点行业企业分层PPS抽样",
            stratify_by=["town"],
            allocation=SampleDesign.Allocation.MIN_PER_TOWN,
            psu_total=ENTERPRISES_TOTAL,
            households_per_psu=WORKERS_PER_ENTERPRISE,
            parameters={
                "min_psu_per_town": MIN_ENTERPRISES_PER_TOWN,
                "psu": "enterprise, PPS on its number of workers",
                "second_stage": "workers, systematic from the enterprise roster",
                "implicit_stratification": "industry, then code",
            },
        )
        strata = {}
        for t, spec in enumerate(TOWNS):
            in_town = f.town == t
            strata[t] = Stratum(
                design=design,
                code=spec.code,
                town=self.towns[spec.code],
                frame_units=int(in_town.sum()),
                frame_size=float(f.size[in_town].sum()),
                psu_allocated=int(allocation[t]),
            )
        Stratum.objects.bulk_create(strata.values())
        draw = SampleDraw.objects.create(design=design, seed=ENTERPRISE_SEED * 10_000 + year)
        sampled: dict[int, Any] = {}
        for i, e in enumerate(sample.enterprise.tolist()):
            if e not in sampled:
                sampled[e] = SampledUnit(
                    draw=draw,
                    stratum=strata[int(f.town[e])],
                    unit=self.units[e],
                    probability=float(sample.prob_enterprise[i]),
                    certainty=bool(sample.certainty[i]),
                    selection_order=len(sampled),
                )
        SampledUnit.objects.bulk_create(sampled.values())
        visit_day = _aware(date(year, 5, 20))
        cases = Case.objects.bulk_create(
            Case(
                draw=draw,
                sampled_unit=sampled[e],
                wave=wave,
                town=self.towns[TOWNS[int(f.town[e])].code],
                code=f"{year}-{f.code[e]}-w{i:04d}",
                prob_psu=float(sample.prob_enterprise[i]),
                prob_household=float(sample.prob_worker[i]),
                prob_person=1.0,
                disposition=sample.outcome[i],
                disposition_at=visit_day,
                assigned_to=self.enumerators.get(TOWNS[int(f.town[e])].code),
                contact_name="",
                contact_phone="",
            )
            for i, e in enumerate(sample.enterprise.tolist())
        )
        Assignment.objects.bulk_create(
            Assignment(case=c, enumerator=c.assigned_to) for c in cases if c.assigned_to is not None
        )
        Visit.objects.bulk_create(
            Visit(
                client_id=uuid.uuid4(),
                case=case,
                enumerator=case.assigned_to,
                visited_at=visit_day,
                outcome=sample.outcome[i],
            )
            for i, case in enumerate(cases)
            if sample.outcome[i] != "complete" and case.assigned_to is not None
        )
        self.responses(wave, sample, cases, year)

    def responses(self, wave: Any, sample: EnterpriseSample, cases: list[Any], year: int) -> None:
        from questionnaires.forms import validate_answers
        from questionnaires.models import Item, Response
        from questionnaires.services import key_compile, payload_hash, responses_score

        positions = sample.respondents
        persons = sample.person[positions]
        compiled = key_compile(self.keys["occupational_health"])
        types = dict(self.versions["occupational_health"].items.values_list("name", "type"))
        multiple = [types[n] == Item.Type.MULTIPLE for n in compiled.arrays.item_names]
        pattern = self.truths[year].correct(persons)
        answers = answers_from_pattern(compiled.arrays, pattern, multiple, self.rng)
        day0 = _aware(date(year, 5, 12))
        made: dict[str, list[Any]] = {"demographics": [], "occupational_health": []}
        for position, person, knowledge in zip(positions.tolist(), persons.tolist(), answers):
            case = cases[position]
            demographics = validate_answers(self.forms["demographics"], demographics_of(self.pop, person))
            started = day0 + timedelta(days=int(self.rng.integers(0, 40)), minutes=int(self.rng.integers(0, 480)))
            for code, raw, minutes in (("demographics", demographics, 2), ("occupational_health", knowledge, 8)):
                cleaned = raw if code == "demographics" else validate_answers(self.forms[code], raw, context=demographics)
                made[code].append(
                    Response(
                        client_id=uuid.uuid4(),
                        wave=wave,
                        instrument_version=self.versions[code],
                        case=case,
                        mode=Response.Mode.INTERVIEWER,
                        enumerator=case.assigned_to,
                        started_at=started,
                        submitted_at=started + timedelta(minutes=minutes),
                        duration_seconds=minutes * 60,
                        answers=cleaned,
                        payload_hash=payload_hash(self.versions[code], cleaned),
                    )
                )
                started += timedelta(minutes=minutes)
        for code, rows in made.items():
            stored = Response.objects.bulk_create(rows, batch_size=500)
            responses_score(key=self.keys[code], responses=stored)

