"""Write the demo county into the database: geography, instruments, frame, margins, staff,
four yearly waves with drawn samples, fieldwork outcomes and synthetic answers.

Scoring and weighting then run through the same services as real data.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from pathlib import Path
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction

from assessment.demo import truth as true_model
from assessment.demo.answers import answers_from_pattern, demographics_of
from assessment.demo.county import COUNTY_CODE, COUNTY_NAME_EN, COUNTY_NAME_ZH, TOWNS
from assessment.demo.fieldwork import HOUSEHOLDS_PER_PSU, PSU_TOTAL, WaveSample, draw_sample, town_allocation
from assessment.demo.population import Population, build_population
from assessment.demography import EDUCATION_LEVELS as EDUCATION
from assessment.demography import sex_age_label
from assessment.models import (
    Assignment,
    Case,
    CensusMargin,
    CensusMarginSet,
    County,
    Frame,
    FrameUnit,
    Household,
    HouseholdMember,
    Role,
    SampleDesign,
    SampleDraw,
    SampledUnit,
    StaffProfile,
    Stratum,
    Target,
    Town,
    Village,
    Visit,
    Wave,
    WaveInstrument,
)
from questionnaires.forms import compiled_form, validate_answers
from questionnaires.invitations import invitation_create
from questionnaires.models import InstrumentVersion, Item, Response, ScoringKey
from questionnaires.services import instrument_import, instrument_publish, key_compile, payload_hash

YEARS = (2022, 2023, 2024, 2025)
CURRENT_YEAR = 2025
POPULATION_SEED = 20250101
DEMO_PASSWORD = "suyang-demo"
BANKS = Path(__file__).resolve().parent.parent.parent / "questionnaires" / "banks"
FIELDED = ("demographics", "science_literacy", "health_literacy")
ALSO_PUBLISHED = ("occupational_health", "elders", "youth_science")
ELIGIBILITY = {
    "demographics": "",
    "science_literacy": "${age} >= 18 and ${age} <= 69",
    "health_literacy": "${age} >= 15 and ${age} <= 69",
}
PLAN = "平阴县全民科学素质行动规划纲要实施方案（2021—2025年）"
TARGETS = {
    "science_literacy": (0.185, PLAN),
    "health_literacy": (0.30, "健康平阴行动（2021—2025年）"),
    "occupational_health": (0.90, "职业健康保护行动"),
}
GROUP_ORDER = ("youth", "farmer", "worker", "elder", "cadre")


@dataclass
class DemoResult:
    county: County
    accounts: list[tuple[str, str, str]] = field(default_factory=list)  # username, role, scope
    invitations: list[tuple[str, str]] = field(default_factory=list)  # group, token
    truth: dict[tuple[int, str], float] = field(default_factory=dict)


def _aware(d: date, hour: int = 10) -> datetime:
    return datetime(d.year, d.month, d.day, hour, tzinfo=dt_timezone(timedelta(hours=8)))


class DemoBuilder:
    """Build the demo county; PSU_TOTAL and HOUSEHOLDS_PER_PSU scale its samples (benchmarks)."""

    def __init__(
        self,
        *,
        log: Callable[[str], None] = print,
        psu_total: int = PSU_TOTAL,
        households_per_psu: int = HOUSEHOLDS_PER_PSU,
    ) -> None:
        self.log = log
        self.pop: Population = build_population(POPULATION_SEED)
        self.rng = np.random.default_rng(7)
        self.psu_total = psu_total
        self.households_per_psu = households_per_psu

    # -- reference data -------------------------------------------------------------------

    def geography(self) -> tuple[County, list[Town], list[Village]]:
        county = County.objects.create(code=COUNTY_CODE, name_zh=COUNTY_NAME_ZH, name_en=COUNTY_NAME_EN)
        towns = Town.objects.bulk_create(
            Town(county=county, code=t.code, name_zh=t.name_zh, name_en=t.name_en, kind=t.kind, order=i)
            for i, t in enumerate(TOWNS)
        )
        v = self.pop.villages
        population = np.bincount(self.pop.village, minlength=len(v.code))
        households = np.bincount(self.pop.household_village, minlength=len(v.code))
        villages = Village.objects.bulk_create(
            Village(
                town=towns[int(v.town[i])],
                code=v.code[i],
                name_zh=v.name_zh[i],
                kind=Village.Kind.COMMUNITY if v.urban[i] else Village.Kind.VILLAGE,
                urban_rural="urban" if v.urban[i] else "rural",
                population=int(population[i]),
                households=int(households[i]),
            )
            for i in range(len(v.code))
        )
        return county, towns, villages

    def instruments(self) -> dict[str, InstrumentVersion]:
        versions = {}
        for code in FIELDED + ALSO_PUBLISHED:
            path = BANKS / f"{code}.md"
            version = instrument_import(data=path.read_bytes(), filename=path.name)
            versions[code] = instrument_publish(version=version)
        return versions

    def margins(self, county: County) -> dict[str, CensusMarginSet]:
        sets = {}
        pop = self.pop
        for code, model in true_model.MODELS.items():
            low, high = model.age_min, model.age_max
            mask = (pop.age >= low) & (pop.age <= high)
            margin_set = CensusMarginSet.objects.create(
                county=county,
                name=f"人口普查常住人口（模拟）{low}–{high}岁",
                reference_year=2020,
                age_min=low,
                age_max=high,
                source="第七次全国人口普查口径，演示县合成数据",
            )
            rows = []
            for variable, labels in margin_labels(pop, mask).items():
                levels, counts = np.unique(labels, return_counts=True)
                rows += [
                    CensusMargin(margin_set=margin_set, variable=variable, level=str(level), total=float(n))
                    for level, n in zip(levels, counts)
                ]
            CensusMargin.objects.bulk_create(rows)
            sets[code] = margin_set
        return sets

    def staff(self, county: County, towns: list[Town]) -> tuple[list[tuple[str, str, str]], dict[str, Any]]:
        User = get_user_model()
        accounts: list[tuple[str, str, str]] = []
        enumerators: dict[str, Any] = {}

        password = make_password(DEMO_PASSWORD)  # hash once: every demo account shares it

        def make(username: str, role: str, scope: list[Town], **extra: Any) -> Any:
            user = User.objects.create(username=username, password=password, **extra)
            profile = StaffProfile.objects.create(user=user, role=role, county=county)
            profile.towns.set(scope)
            accounts.append((username, role, "、".join(t.name_zh for t in scope) or county.name_zh))
            return user

        make("admin", Role.ADMIN, [], is_staff=True, is_superuser=True)
        make("official", Role.OFFICIAL, [])
        make(f"official_{towns[0].code}", Role.OFFICIAL, [towns[0]])
        for town in towns:
            make(f"supervisor_{town.code}", Role.SUPERVISOR, [town])
            enumerators[town.code] = make(f"enumerator_{town.code}", Role.ENUMERATOR, [town])
        return accounts, enumerators

    # -- one wave -------------------------------------------------------------------------

    def wave(
        self,
        year: int,
        county: County,
        towns: list[Town],
        villages: list[Village],
        frame: Frame,
        units: list[FrameUnit],
        versions: dict[str, InstrumentVersion],
        enumerators: dict[str, Any],
        result: DemoResult,
    ) -> None:
        current = year == CURRENT_YEAR
        start = date(year, 9, 1)
        wave = Wave.objects.create(
            county=county,
            code=str(year),
            year=year,
            name_zh=f"{year}年平阴县公民科学素质与健康素养调查",
            name_en=f"Pingyin County science and health literacy survey {year}",
            status=Wave.Status.FIELDWORK if current else Wave.Status.CLOSED,
            fieldwork_start=start,
            fieldwork_end=None if current else date(year, 11, 15),
        )
        keys = {}
        for order, code in enumerate(FIELDED):
            version = versions[code]
            key = version.scoring_keys.order_by("-version").first()
            keys[code] = key
            WaveInstrument.objects.create(
                wave=wave, instrument_version=version, scoring_key=key, order=order, eligibility=ELIGIBILITY[code]
            )
        for indicator, (value, source) in TARGETS.items():
            Target.objects.create(wave=wave, indicator=indicator, value=value, target_year=2025, source=source)

        sample = draw_sample(
            self.pop,
            np.random.default_rng([POPULATION_SEED, year]),
            psu_total=self.psu_total,
            households_per_psu=self.households_per_psu,
        )
        design = SampleDesign.objects.create(
            wave=wave,
            frame=frame,
            name=f"{year}年 分层三阶段PPS抽样",
            stratify_by=["town"],
            allocation=SampleDesign.Allocation.MIN_PER_TOWN,
            psu_total=self.psu_total,
            households_per_psu=self.households_per_psu,
            parameters={"min_psu_per_town": 6, "implicit_stratification": "urban first, then code"},
        )
        cases = self.sample_rows(wave, design, towns, units, sample, enumerators, year)
        groups_of = self.groups_lookup(versions["demographics"])
        pending = self.hold_back_for_links(sample, groups_of) if current else {}
        self.responses(wave, versions, keys, sample, cases, pending, enumerators, year)
        if current:
            for group, position in pending.items():
                token = invitation_create(case=cases[position], label=f"demo:{group}")
                result.invitations.append((group, token))
            # Households not reached at the door get a link to answer on their own phones.
            for position, case in enumerate(cases):
                if position not in pending.values() and sample.outcome[position] == "non_contact":
                    invitation_create(case=case)
        for code in true_model.MODELS:
            result.truth[(year, code)] = self.truths[(year, code)].share

    def sample_rows(
        self,
        wave: Wave,
        design: SampleDesign,
        towns: list[Town],
        units: list[FrameUnit],
        sample: WaveSample,
        enumerators: dict[str, Any],
        year: int,
    ) -> list[Case]:
        pop = self.pop
        allocation = town_allocation(pop, self.psu_total)
        strata: dict[str, Stratum] = {}
        village_size = np.bincount(pop.village, minlength=len(units))
        for t, spec in enumerate(TOWNS):
            in_town = pop.villages.town == np.int64(t)
            strata[spec.code] = Stratum(
                design=design,
                code=spec.code,
                town=towns[t],
                frame_units=int(in_town.sum()),
                frame_size=float(village_size[in_town].sum()),
                psu_allocated=int(allocation[t]),
            )
        Stratum.objects.bulk_create(strata.values())
        draw = SampleDraw.objects.create(design=design, seed=POPULATION_SEED * 10_000 + year)
        sampled: dict[int, SampledUnit] = {}
        for i, v in enumerate(sample.village):
            if int(v) in sampled:
                continue
            town_code = TOWNS[int(pop.villages.town[v])].code
            sampled[int(v)] = SampledUnit(
                draw=draw,
                stratum=strata[town_code],
                unit=units[int(v)],
                probability=float(sample.prob_psu[i]),
                certainty=bool(sample.certainty[i]),
                selection_order=len(sampled),
            )
        SampledUnit.objects.bulk_create(sampled.values())
        households = Household.objects.bulk_create(
            Household(unit=units[int(v)], code=f"{year}-{int(h)}", size=int(np.sum(pop.person_household == h)))
            for v, h in zip(sample.village, sample.household)
        )
        visit_day = _aware(date(year, 9, 3))
        cases = []
        for i, v in enumerate(sample.village):
            town = towns[int(pop.villages.town[v])]
            outcome = sample.outcome[i]
            cases.append(
                Case(
                    draw=draw,
                    sampled_unit=sampled[int(v)],
                    household=households[i],
                    wave=wave,
                    town=town,
                    code=f"{year}-{units[int(v)].code}-{i:04d}",
                    prob_psu=float(sample.prob_psu[i]),
                    prob_household=float(sample.prob_household[i]),
                    prob_person=float(1.0 / sample.n_eligible[i]) if sample.n_eligible[i] else None,
                    disposition="pending" if year == CURRENT_YEAR and outcome == "complete" else outcome,
                    disposition_at=None if outcome == "complete" else visit_day,
                    assigned_to=enumerators[town.code],
                    contact_name=_synthetic_name(self.rng),
                    contact_phone=f"1{self.rng.integers(30, 90)}{self.rng.integers(10**7, 10**8)}",
                )
            )
        cases = Case.objects.bulk_create(cases)
        Assignment.objects.bulk_create(
            Assignment(case=c, enumerator=enumerators[TOWNS[int(pop.villages.town[v])].code])
            for c, v in zip(cases, sample.village)
        )
        members = []
        starts = self.household_starts
        for i, (case, h) in enumerate(zip(cases, sample.household)):
            for line, person in enumerate(range(starts[h], starts[h + 1]), start=1):
                age = int(pop.age[person])
                members.append(
                    HouseholdMember(
                        case=case,
                        line=line,
                        sex="male" if pop.male[person] else "female",
                        age=age,
                        eligible=15 <= age <= 69,
                        selected=person == sample.selected[i],
                    )
                )
        HouseholdMember.objects.bulk_create(members)
        Visit.objects.bulk_create(
            Visit(
                client_id=uuid.uuid4(),
                case=case,
                enumerator=enumerators[case.town.code],
                visited_at=visit_day,
                outcome=sample.outcome[i],
            )
            for i, case in enumerate(cases)
            if sample.outcome[i] != "complete"
        )
        return cases

    def groups_lookup(self, demographics: InstrumentVersion) -> Callable[[int], list[str]]:
        from questionnaires.services import groups_classify

        key = demographics.scoring_keys.get()

        def groups(person: int) -> list[str]:
            return groups_classify(key, [demographics_of(self.pop, person)])[0]

        return groups

    def hold_back_for_links(self, sample: WaveSample, groups_of: Callable[[int], list[str]]) -> dict[str, int]:
        """Keep one complete-to-be household per group unanswered, for the printed links."""
        chosen: dict[str, int] = {}
        for position in sample.respondents:
            person = int(sample.selected[position])
            if self.pop.age[person] < 18:
                continue
            for group in groups_of(person):
                if group in GROUP_ORDER and group not in chosen and position not in chosen.values():
                    chosen[group] = int(position)
            if len(chosen) == len(GROUP_ORDER):
                break
        return {g: chosen[g] for g in GROUP_ORDER if g in chosen}

    def responses(
        self,
        wave: Wave,
        versions: dict[str, InstrumentVersion],
        keys: dict[str, ScoringKey],
        sample: WaveSample,
        cases: list[Case],
        pending: dict[str, int],
        enumerators: dict[str, Any],
        year: int,
    ) -> None:
        held = set(pending.values())
        respondents = [int(p) for p in sample.respondents if int(p) not in held]
        persons = sample.selected[respondents]
        day0 = _aware(date(year, 9, 5), 9)
        rows: list[tuple[int, str, dict[str, Any]]] = []
        for position, person in zip(respondents, persons):
            rows.append((position, "demographics", demographics_of(self.pop, int(person))))
        for code in ("science_literacy", "health_literacy"):
            model = true_model.MODELS[code]
            truth = self.truths[(year, code)]
            compiled = key_compile(keys[code])
            in_range = [(pos, int(p)) for pos, p in zip(respondents, persons) if model.age_min <= self.pop.age[p] <= model.age_max]
            pattern = truth.correct(np.asarray([p for _, p in in_range], dtype=np.int64))
            multiple = self.multiple_flags(versions[code], compiled.arrays.item_names)
            answers = answers_from_pattern(compiled.arrays, pattern, multiple, self.rng)
            rows += [(pos, code, a) for (pos, _), a in zip(in_range, answers)]
        responses = []
        forms = {code: compiled_form(v) for code, v in versions.items()}
        demographics = {pos: a for pos, code, a in rows if code == "demographics"}
        for position, code, answers in rows:
            cleaned = validate_answers(forms[code], answers, context=None if code == "demographics" else demographics[position])
            case = cases[position]
            self_completed = year == CURRENT_YEAR and self.rng.uniform() < 0.35
            started = day0 + timedelta(days=int(self.rng.integers(0, 40)), minutes=int(self.rng.integers(0, 600)))
            minutes = {"demographics": 2, "science_literacy": 14, "health_literacy": 16}[code]
            response = Response(
                client_id=uuid.uuid4(),
                wave=wave,
                instrument_version=versions[code],
                case=case,
                mode=Response.Mode.SELF if self_completed else Response.Mode.INTERVIEWER,
                enumerator=None if self_completed else enumerators[case.town.code],
                started_at=started,
                submitted_at=started + timedelta(minutes=minutes, seconds=int(self.rng.integers(0, 300))),
                duration_seconds=minutes * 60,
                answers=cleaned,
                payload_hash=payload_hash(versions[code], cleaned),
            )
            responses.append(response)
        Response.objects.bulk_create(responses, batch_size=500)
        done = {cases[pos].pk for pos in respondents}
        Case.objects.filter(pk__in=done).update(disposition="complete", disposition_at=day0)

    @staticmethod
    def multiple_flags(version: InstrumentVersion, names: tuple[str, ...]) -> list[bool]:
        types = dict(version.items.values_list("name", "type"))
        return [types[n] == Item.Type.MULTIPLE for n in names]

    # -- everything -----------------------------------------------------------------------

    def compute_truths(self, versions: dict[str, InstrumentVersion]) -> None:
        self.truths: dict[tuple[int, str], true_model.WaveTruth] = {}
        for code, model in true_model.MODELS.items():
            key = versions[code].scoring_keys.order_by("-version").first()
            compiled = key_compile(key)
            items = true_model.item_parameters(model, compiled.arrays.points)
            cut = literacy_cut_points(key)
            for year in YEARS:
                self.truths[(year, code)] = true_model.wave_truth(model, self.pop, year, items, cut)

    def build(self) -> DemoResult:
        with transaction.atomic():
            county, towns, villages = self.geography()
            result = DemoResult(county=county)
            versions = self.instruments()
            self.margins(county)
            result.accounts, enumerators = self.staff(county, towns)
            frame = Frame.objects.create(county=county, name="平阴县村（社区）抽样框（2020年普查）", kind=Frame.Kind.AREA, reference_year=2020)
            units = FrameUnit.objects.bulk_create(
                FrameUnit(
                    frame=frame,
                    code=v.code,
                    name=v.name_zh,
                    town=v.town,
                    village=v,
                    urban_rural=v.urban_rural,
                    measure_of_size=float(v.population),
                    households=v.households,
                )
                for v in villages
            )
            for unit, village in zip(units, villages):
                unit.town = village.town
            self.household_starts = self.pop.household_slices()
            self.compute_truths(versions)
            for year in YEARS:
                self.wave(year, county, towns, villages, frame, units, versions, enumerators, result)
                self.log(f"  {year}: sample drawn, fieldwork simulated")
        return result


def literacy_cut_points(key: ScoringKey) -> float:
    """Return the key's headline cut-off in points (a share rule times the maximum)."""
    rule = key.benchmarks.filter(scope="total").order_by("order").first()
    if rule is None:
        raise ValueError(f"{key} has no benchmark on the total score")
    maximum = float(sum(float(p) for p in key.item_keys.values_list("points", flat=True)))
    return rule.threshold * maximum if rule.basis == "share" else rule.threshold


def margin_labels(pop: Population, mask: np.ndarray) -> dict[str, np.ndarray]:
    """Return, for persons in MASK, the labels of every raking variable."""
    sex = np.where(pop.male[mask], "male", "female")
    return {
        "town": np.asarray([TOWNS[t].code for t in pop.town[mask]]),
        "sex_age": sex_age_label(sex, pop.age[mask]),
        "urban_rural": np.where(pop.urban[mask], "urban", "rural"),
        "education": np.asarray(EDUCATION)[pop.education[mask]],
    }


_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
_GIVEN = "秀英桂兰玉梅建国建华志强伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚"


def _synthetic_name(rng: np.random.Generator) -> str:
    return str(rng.choice(list(_SURNAMES))) + "".join(rng.choice(list(_GIVEN), size=int(rng.integers(1, 3))))


def demo_exists() -> bool:
    return County.objects.filter(code=COUNTY_CODE).exists()
