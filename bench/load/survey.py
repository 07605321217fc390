"""Build the benchmark's survey: the real banks published, one fielded wave, N sampled
households each with a live invitation.  Writes the tokens and each instrument's answerable
items as JSON for the load generator.

    DJANGO_SETTINGS_MODULE=… DATABASE_URL=… python bench/load/survey.py N OUT.json
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
django.setup()

from django.db import transaction  # noqa: E402

from assessment.demo.fielded import (  # noqa: E402
    banks_publish,
    county_with_town,
    households_sampled,
    items_answerable,
    wave_fielding,
)
from questionnaires.invitations import invitation_create  # noqa: E402

SUBMITTED = ("demographics", "science_literacy")


@transaction.atomic
def build(invitations: int) -> dict[str, object]:
    versions = banks_publish()
    county, town = county_with_town("990001", "压测县", "Load County")
    wave, _ = wave_fielding(county, versions)
    cases = households_sampled(wave, town, [f"L{n:06d}" for n in range(invitations)])
    tokens = [invitation_create(case=case, label="load") for case in cases]
    return {"tokens": tokens, "town": town.code, "items": {code: items_answerable(versions[code]) for code in SUBMITTED}}


if __name__ == "__main__":
    count, out = int(sys.argv[1]), Path(sys.argv[2])
    out.write_text(json.dumps(build(count)))
