"""The demographic classifications that margins, weights and report breakdowns share."""
from __future__ import annotations

import numpy as np
import numpy.typing as npt
from django.utils.translation import gettext_lazy as _

AGE_GROUPS: tuple[tuple[int, int], ...] = ((15, 17), (18, 29), (30, 39), (40, 49), (50, 59), (60, 69))
EDUCATION_LEVELS = ("primary_or_less", "junior_secondary", "senior_secondary", "tertiary")
RAKING_VARIABLES = ("town", "sex_age", "urban_rural", "education")

# Display order of the levels of each breakdown (ordinal or conventional: men before women).
LEVEL_ORDER: dict[str, tuple[str, ...]] = {
    "sex": ("male", "female"),
    "urban_rural": ("urban", "rural"),
    "education": EDUCATION_LEVELS,
    "age_group": tuple(f"{low}-{high}" for low, high in AGE_GROUPS),
}

LABELS = {
    "male": _("男"),
    "female": _("女"),
    "urban": _("城镇"),
    "rural": _("农村"),
    "primary_or_less": _("小学及以下"),
    "junior_secondary": _("初中"),
    "senior_secondary": _("高中/中专"),
    "tertiary": _("大专及以上"),
}


def age_group_label(age: npt.ArrayLike) -> npt.NDArray[np.str_]:
    """Return '15-17', '18-29', … for each age ('' outside 15–69)."""
    ages = np.asarray(age)
    out = np.full(ages.shape, "", dtype=object)
    for low, high in AGE_GROUPS:
        out[(ages >= low) & (ages <= high)] = f"{low}-{high}"
    return out.astype(str)


def sex_age_label(sex: npt.ArrayLike, age: npt.ArrayLike) -> npt.NDArray[np.str_]:
    """Return 'male:18-29'-style labels, the sex × age-group raking cells."""
    return np.char.add(np.char.add(np.asarray(sex).astype(str), ":"), age_group_label(age))


def label(code: str) -> str:
    """Return the display label of a demographic code (the code itself when unknown)."""
    return str(LABELS.get(code, code))
