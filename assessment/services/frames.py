"""Import sampling frames (PSU lists) and household listings from CSV or XLSX, all or nothing."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext as _

from assessment.errors import ImportProblem, ImportRejected
from assessment.models import AuditEvent, County, Frame, FrameUnit, Household, SampleDraw, Town, UrbanRural, Village
from assessment.services.designs import households_draw
from assessment.tabular import Table, columns_match, table_read

FRAME_SHEETS = ("frame", "抽样框", "units")
HOUSEHOLD_SHEETS = ("households", "住户", "listing", "住户名单")
FRAME_COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("代码", "编码", "单位代码"),
    "name": ("名称", "单位名称", "村（社区）名称"),
    "town": ("乡镇", "乡镇（街道）", "街道", "town_code"),
    "urban_rural": ("城乡", "城乡属性"),
    "measure_of_size": (
        "size", "population", "students", "employees", "规模", "规模度量", "人口", "常住人口", "人数", "学生数", "职工数",
    ),
    "households": ("户数",),
}
HOUSEHOLD_COLUMNS: dict[str, tuple[str, ...]] = {
    "unit": ("psu", "unit_code", "单位代码", "村（社区）代码"),
    "code": ("household", "household_code", "户编号"),
    "size": ("人数", "户人数"),
    "address": ("地址",),
    "head_name": ("户主姓名", "户主"),
}
URBAN_RURAL = {
    "urban": UrbanRural.URBAN, "城镇": UrbanRural.URBAN, "城": UrbanRural.URBAN, "城市": UrbanRural.URBAN, "u": UrbanRural.URBAN,
    "rural": UrbanRural.RURAL, "农村": UrbanRural.RURAL, "乡": UrbanRural.RURAL, "乡村": UrbanRural.RURAL, "r": UrbanRural.RURAL,
}


def _user(user: AbstractBaseUser | None) -> Any:
    return user if user is not None and user.is_authenticated else None


FIRST_YEAR, LAST_YEAR = 1949, 2100  # a frame's reference year (as the API's)
MAX_SIZE = 1e9  # a measure of size (population, households) beyond any county's
MAX_COUNT = 1_000_000  # households of one unit


def _positive_number(text: str) -> float | None:
    """Return TEXT as a number in (0, MAX_SIZE], or None."""
    try:
        value = float(text.replace(",", "").replace("，", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) and 0 < value <= MAX_SIZE else None


def _count(text: str) -> int | None:
    """Return TEXT as a whole number in [1, MAX_COUNT] (e.g. '12' or Excel's '12.0'), or None."""
    value = _positive_number(text)
    return int(value) if value is not None and value.is_integer() and value <= MAX_COUNT else None


def _frame_units(table: Table, county: County, frame: Frame) -> list[FrameUnit]:
    """Return the validated units of TABLE; raise ImportRejected listing every problem."""
    col = columns_match(table, FRAME_COLUMNS, ("code", "name", "town", "urban_rural", "measure_of_size"))
    towns: dict[str, Town] = {}
    for town in Town.objects.filter(county=county):
        for key in (town.code, town.name_zh, town.name_en):
            if key:
                towns.setdefault(key.lower(), town)
    villages = {v.code: v for v in Village.objects.filter(town__county=county)}
    known = set(col.values())
    problems: list[ImportProblem] = []
    units: list[FrameUnit] = []
    first_row: dict[str, int] = {}
    for number, row in table.rows:
        def problem(field: str, message: str, number: int = number) -> None:
            problems.append(ImportProblem(number, col[field], message))

        code = row[col["code"]]
        name = row[col["name"]]
        if not code:
            problem("code", _("代码不能为空。"))
        elif len(code) > 32:
            problem("code", _("代码最长 32 个字符。"))
        elif code in first_row:
            problem("code", _("代码“%(code)s”与第 %(row)d 行重复。") % {"code": code, "row": first_row[code]})
        else:
            first_row[code] = number
        if not name:
            problem("name", _("名称不能为空。"))
        elif len(name) > 128:
            problem("name", _("名称最长 128 个字符。"))
        town = towns.get(row[col["town"]].lower())
        if town is None:
            problem("town", _("“%(town)s”不是本县的乡镇（街道）。") % {"town": row[col["town"]]})
        urban_rural = URBAN_RURAL.get(row[col["urban_rural"]].lower())
        if urban_rural is None:
            problem("urban_rural", _("“%(value)s”无效：应为 urban/rural（城镇/农村）。") % {"value": row[col["urban_rural"]]})
        size = _positive_number(row[col["measure_of_size"]])
        if size is None:
            problem("measure_of_size", _("“%(value)s”无效：规模度量须为大于 0、不超过 10 亿的数。") % {"value": row[col["measure_of_size"]]})
        households = None
        if "households" in col and row[col["households"]]:
            households = _count(row[col["households"]])
            if households is None:
                problem("households", _("“%(value)s”无效：户数须为 1 到 1000000 的整数。") % {"value": row[col["households"]]})
        if town is None or urban_rural is None or size is None or not code or not name:
            continue
        village = villages.get(code) if frame.kind == Frame.Kind.AREA else None
        units.append(
            FrameUnit(
                frame=frame,
                code=code,
                name=name,
                town=town,
                village=village if village is not None and village.town_id == town.pk else None,
                urban_rural=urban_rural,
                measure_of_size=size,
                households=households,
                attributes={h: v for h, v in row.items() if h not in known and v},
            )
        )
    if problems:
        raise ImportRejected(problems)
    return units


@transaction.atomic
def frame_import(
    *,
    county: County,
    name: str,
    kind: str,
    reference_year: int,
    data: bytes,
    filename: str,
    user: AbstractBaseUser | None = None,
) -> Frame:
    """Store the PSU frame in DATA (CSV or XLSX) as a new Frame; raise ImportRejected and store nothing on any problem.

    Columns (English or Chinese headers): code, name, town (code or name), urban_rural,
    measure_of_size, and optionally households; any other column is kept in `attributes`.
    """
    if kind not in Frame.Kind.values:
        raise ImportRejected([ImportProblem(None, None, _("未知的抽样框类型“%(kind)s”。") % {"kind": kind})])
    if not FIRST_YEAR <= reference_year <= LAST_YEAR:
        raise ImportRejected([ImportProblem(None, None, _("资料年份须在 %(low)d 到 %(high)d 之间。") % {"low": FIRST_YEAR, "high": LAST_YEAR})])
    table = table_read(data, filename, sheet_names=FRAME_SHEETS)
    frame = Frame.objects.create(
        county=county, name=name[:128], kind=kind, reference_year=reference_year,
        source_filename=filename[:255], imported_by=_user(user),
    )
    units = _frame_units(table, county, frame)  # raising here rolls the frame back too
    FrameUnit.objects.bulk_create(units, batch_size=1000)
    AuditEvent.objects.create(
        actor=_user(user), action="frame.import", object_type="Frame", object_id=str(frame.pk), county_id=frame.county_id,
        summary=f"{frame.name}: {len(units)} units from {filename}"[:255],
        details={"units": len(units), "measure_of_size": sum(u.measure_of_size for u in units), "sheet": table.sheet},
    )
    return frame


@dataclass(frozen=True)
class ListingImport:
    households: int
    cases: int  # households drawn at once in PSUs of current samples that were waiting for this listing


@transaction.atomic
def households_import(
    *, frame: Frame, data: bytes, filename: str, user: AbstractBaseUser | None = None
) -> ListingImport:
    """Add the household listing in DATA to FRAME's units, then draw households in newly listed sampled PSUs.

    Columns: unit (the PSU's code), code (household number, unique within the unit), and
    optionally size, address and head_name (the last two are stored encrypted).  Nothing is
    stored when any row has a problem.
    """
    table = table_read(data, filename, sheet_names=HOUSEHOLD_SHEETS)
    col = columns_match(table, HOUSEHOLD_COLUMNS, ("unit", "code"))
    units = {u.code: u for u in frame.units.all()}
    existing = set(
        Household.objects.filter(unit__frame=frame).values_list("unit__code", "code")
    )
    problems: list[ImportProblem] = []
    seen: dict[tuple[str, str], int] = {}
    rows: list[Household] = []
    for number, row in table.rows:
        unit = units.get(row[col["unit"]])
        code = row[col["code"]]
        if unit is None:
            problems.append(ImportProblem(number, col["unit"], _("抽样框中没有代码为“%(code)s”的单位。") % {"code": row[col["unit"]]}))
        if not code:
            problems.append(ImportProblem(number, col["code"], _("户编号不能为空。")))
        elif len(code) > 32:
            problems.append(ImportProblem(number, col["code"], _("户编号最长 32 个字符。")))
        elif (row[col["unit"]], code) in seen:
            problems.append(
                ImportProblem(number, col["code"], _("户编号“%(code)s”与第 %(row)d 行重复。") % {"code": code, "row": seen[(row[col["unit"]], code)]})
            )
        elif (row[col["unit"]], code) in existing:
            problems.append(ImportProblem(number, col["code"], _("户编号“%(code)s”已在该单位的名单中。") % {"code": code}))
        else:
            seen[(row[col["unit"]], code)] = number
        size = None
        if "size" in col and row[col["size"]]:
            size = _count(row[col["size"]])
            if size is None or size > 99:
                problems.append(ImportProblem(number, col["size"], _("“%(value)s”不是有效的户人数（1–99）。") % {"value": row[col["size"]]}))
        if unit is not None and code:
            rows.append(
                Household(
                    unit=unit, code=code, size=size,
                    address=row.get(col.get("address", ""), "") if "address" in col else "",
                    head_name=row.get(col.get("head_name", ""), "") if "head_name" in col else "",
                )
            )
    if problems:
        raise ImportRejected(problems)
    Household.objects.bulk_create(rows, batch_size=1000)
    AuditEvent.objects.create(
        actor=_user(user), action="households.import", object_type="Frame", object_id=str(frame.pk), county_id=frame.county_id,
        summary=f"{frame.name}: {len(rows)} households from {filename}"[:255],
        details={"households": len(rows), "units": len({h.unit.code for h in rows}), "sheet": table.sheet},
    )
    cases = sum(
        households_draw(draw=draw, user=user)
        for draw in SampleDraw.objects.filter(design__frame=frame, is_current=True, units__unit__in={h.unit for h in rows}).distinct()
    )
    return ListingImport(households=len(rows), cases=cases)
