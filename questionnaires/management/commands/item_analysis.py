"""Print the item analysis of a test in a wave: manage.py item_analysis --wave 2025 --instrument science_literacy."""
from __future__ import annotations

import csv
import json
import math
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from questionnaires.management.commands._lookup import wave_named
from questionnaires.selectors import WaveItemAnalysis, wave_item_analysis
from scoring.adapters import DataProblem
from scoring.item_analysis import DEFAULT_MAX_DIFFICULTY, DEFAULT_MIN_DIFFICULTY, DEFAULT_MIN_DISCRIMINATION


def _figure(value: float | None, digits: int = 3) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


class Command(BaseCommand):
    help = (
        "Item analysis of an instrument in a wave, weighted by the current weight set: difficulty (share "
        "correct), corrected item-rest point-biserial, Cronbach's alpha and alpha if the item is deleted, the "
        "share choosing each option, and flags for items that misbehave."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--wave", required=True, help="wave code, e.g. 2025")
        parser.add_argument("--instrument", required=True, help="instrument code, e.g. science_literacy")
        parser.add_argument("--group", help="only one population group, e.g. farmer")
        parser.add_argument("--county", help="county code (needed only when several counties have the wave)")
        parser.add_argument("--format", choices=["table", "csv", "json"], default="table")
        parser.add_argument("--unweighted", action="store_true", help="every respondent counts 1 (no weights needed)")
        parser.add_argument("--min-discrimination", type=float, default=DEFAULT_MIN_DISCRIMINATION)
        parser.add_argument("--min-difficulty", type=float, default=DEFAULT_MIN_DIFFICULTY)
        parser.add_argument("--max-difficulty", type=float, default=DEFAULT_MAX_DIFFICULTY)

    def handle(self, *args: Any, **options: Any) -> None:
        wave = wave_named(options["wave"], options["county"])
        try:
            analysis = wave_item_analysis(
                wave, options["instrument"], group=options["group"], weighted=not options["unweighted"],
                min_discrimination=options["min_discrimination"], min_difficulty=options["min_difficulty"],
                max_difficulty=options["max_difficulty"],
            )
        except DataProblem as exc:
            raise CommandError(str(exc)) from exc
        {"table": self.table, "csv": self.csv, "json": self.json}[options["format"]](analysis)

    def json(self, analysis: WaveItemAnalysis) -> None:
        self.stdout.write(json.dumps(analysis.as_json(), ensure_ascii=False, indent=2))

    def csv(self, analysis: WaveItemAnalysis) -> None:
        writer = csv.writer(self.stdout, lineterminator="\n")
        writer.writerow(["item", "points", "correct", "difficulty", "discrimination", "alpha_if_deleted",
                         "options", "omitted", "flags"])
        for item in analysis.as_json()["items"]:
            writer.writerow([
                item["name"], f"{item['points']:g}", " ".join(item["correct"]), _figure(item["difficulty"], 6),
                _figure(item["discrimination"], 6), _figure(item["alpha_if_deleted"], 6),
                " ".join(f"{o}={_figure(s, 6)}" for o, s in item["options"].items()), _figure(item["omitted"], 6),
                " ".join(item["flags"]),
            ])

    def table(self, analysis: WaveItemAnalysis) -> None:
        data = analysis.as_json()
        weights = f"weight set v{data['weight_set']}" if data["weighted"] else "unweighted"
        self.stdout.write(
            f"Item analysis: wave {data['wave']}, {data['instrument']}, key {data['key']}"
            + (f", group {data['group']}" if data["group"] else "") + f" ({weights})"
        )
        self.stdout.write(
            f"n = {data['n']}, weighted N = {_figure(data['weight_total'], 0)}, Cronbach's alpha = "
            f"{_figure(data['alpha'])}, total {_figure(data['total_mean'], 2)} ± {_figure(data['total_sd'], 2)} (SD)"
        )
        self.stdout.write("")
        self.stdout.write(f"{'item':<10} {'key':<8} {'p':>6} {'r_rest':>7} {'α−item':>7}  {'option shares (* key)':<44} flags")
        for item in data["items"]:
            shares = " ".join(
                f"{o}{'*' if o in item['correct'] else ''} {100 * s:.0f}%" for o, s in item["options"].items() if s is not None
            )
            if item["omitted"]:
                shares += f" – {100 * item['omitted']:.0f}%"
            self.stdout.write(
                f"{item['name']:<10} {' '.join(item['correct']):<8} {_figure(item['difficulty']):>6} "
                f"{_figure(item['discrimination']):>7} {_figure(item['alpha_if_deleted']):>7}  {shares:<44} "
                f"{' '.join(item['flags'])}"
            )
        flagged = [item["name"] for item in data["items"] if item["flags"]]
        self.stdout.write("")
        self.stdout.write(f"Flagged: {', '.join(flagged) if flagged else 'none'}")
