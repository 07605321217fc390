"""Turn the true model's right/wrong pattern into the answers a respondent would give."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from assessment.demo.county import TOWNS
from assessment.demo.population import OCCUPATION, Population
from assessment.demography import EDUCATION_LEVELS as EDUCATION
from scoring.keys import KeyArrays


def _options(mask: int, names: Sequence[str]) -> list[str]:
    return [names[i] for i in range(len(names)) if mask >> i & 1]


def answers_from_pattern(
    key: KeyArrays, correct: npt.NDArray[np.bool_], multiple: Sequence[bool], rng: np.random.Generator
) -> list[dict[str, Any]]:
    """Return answer dicts: the keyed option(s) where CORRECT, a plausible wrong answer elsewhere.

    A wrong single answer is a uniformly chosen distractor; a wrong multiple-choice answer
    is the keyed set with one option dropped or one distractor added (partly right, so
    worth 0 under the all-or-nothing rule).
    """
    names = [sorted(index, key=index.__getitem__) for index in key.option_index]
    rows: list[dict[str, Any]] = []
    draws = rng.uniform(size=correct.shape)
    for i in range(correct.shape[0]):
        row: dict[str, Any] = {}
        for j, item in enumerate(key.item_names):
            right = _options(int(key.correct_mask[j]), names[j])
            if correct[i, j]:
                row[item] = right if multiple[j] else right[0]
                continue
            wrong = [o for o in names[j] if o not in right]
            u = draws[i, j]
            if not multiple[j]:
                row[item] = wrong[int(u * len(wrong))]
            elif wrong and (u < 0.5 or len(right) == 1):
                row[item] = sorted(right + [wrong[int(2 * u * len(wrong)) % len(wrong)]])
            else:
                drop = right[int(u * len(right)) % len(right)]
                row[item] = [o for o in right if o != drop]
        rows.append(row)
    return rows


def demographics_of(pop: Population, person: int) -> dict[str, Any]:
    """Return the demographics module's answers for a synthetic resident."""
    return {
        "age": int(pop.age[person]),
        "sex": "male" if pop.male[person] else "female",
        "education": EDUCATION[int(pop.education[person])],
        "occupation": OCCUPATION[int(pop.occupation[person])],
        "residence": "urban" if pop.urban[person] else "rural",
        "town": TOWNS[int(pop.town[person])].code,
    }
