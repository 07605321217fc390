"""Command line for statisticians: survey estimates and weights from CSV files.

``python -m scoring estimate DATA.csv --var Y ...`` prints estimates (JSON or CSV);
``python -m scoring weights DATA.csv ...`` writes the final weights. Both build the design,
adjust for nonresponse, calibrate, trim and create replicate weights exactly as the
library functions do. Bad input gets one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np

from scoring.arrays import Encoded, FloatArray
from scoring.calibration import (
    Calfun,
    CalibrationError,
    Margin,
    weights_calibrate,
    weights_post_stratify,
)
from scoring.csvdata import CsvError, CsvTable
from scoring.design import LONELY_PSU_OPTIONS, SurveyDesign, design_create
from scoring.estimates import (
    DEFAULT_MAX_CV,
    DEFAULT_MIN_N,
    CellEstimate,
    estimate_mean,
    estimate_proportion,
    estimate_ratio,
    estimate_total,
)
from scoring.intervals import CiMethod
from scoring.replicates import (
    ReplicateDesign,
    replicate_weights,
    replicates_create,
    replicates_from_multipliers,
)
from scoring.weights import weights_nonresponse, weights_trim

EXIT_BAD_INPUT = 2
JSON_KEYS = ("var", "domain", "estimate", "se", "ci_low", "ci_high", "df", "deff", "n",
             "n_eff", "cv", "reliable")
CI_CHOICES = ("logit", "beta", "mean", "likelihood", "asin", "wilson")

ESTIMATE_EPILOG = """\
intervals:
  --ci applies to proportions: variables whose non-missing values are all 0 or 1, with
  --stat mean (the default). logit (R svyciprop "xlogit", the default), beta
  (Korn-Graubard), mean (Wald t), likelihood, asin (R's methods of those names) and
  wilson (Wilson score on the effective sample size) all use the design degrees of
  freedom of the cell. Any other variable with --stat mean, every --stat total and every
  --stat ratio gets the Wald t interval (estimate +- t(df) * se) whatever --ci says:
  the proportion methods are not defined for them.

output:
  JSON: a list of objects with keys var, domain (an object of grouping values, or null
  without --by), estimate, se, ci_low, ci_high, df, deff (against simple random sampling
  without replacement, R deff=TRUE), n, n_eff (n / deff), cv (se / |estimate|) and
  reliable (n >= --min-n and cv <= --max-cv). Missing numbers are null. CSV: the same
  fields, one column per grouping variable instead of domain.

margins:
  MARGINS.csv has columns variable,level,total: one row per level of each calibration
  variable (a column of DATA.csv). Every level of the data needs a total, and every
  level with a total needs respondents; all variables must share the grand total.

replicates:
  jk1, jkn, brr, fay:RHO, bootstrap:R, subbootstrap:R, or a CSV file of multipliers
  whose first column holds the PSU ids (the --psu values; without --psu, the 1-based row
  number) and every other column one replicate. Calibration and trimming are redone on
  every replicate. --replicate-scale sets the variance scale of a file (1/(R-1) by
  default); --mse centres replicates on the full-sample estimate.

exit status: 0 on success, 2 on bad input (one line on stderr).
"""


class CliError(ValueError):
    """Bad command-line input; the message is printed as one line."""


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``python -m scoring``."""
    parser = argparse.ArgumentParser(
        prog="python -m scoring",
        description="Design-based survey estimates and weights from CSV files "
                    "(the estimation engine of Suyang, verified against R's survey package).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    estimate = commands.add_parser(
        "estimate", help="print estimates with standard errors, intervals and quality figures",
        description="Print weighted means, proportions, totals or ratios, overall or by domain.",
        epilog=ESTIMATE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    estimate.add_argument("data", metavar="DATA.csv", help="respondent data, one row each")
    estimate.add_argument("--var", action="append", required=True, metavar="Y",
                          help="variable to estimate (repeat for several)")
    estimate.add_argument("--by", action="append", default=[], metavar="COL",
                          help="grouping variable; several --by are crossed into domains")
    estimate.add_argument("--stat", choices=("mean", "total", "ratio"), default="mean",
                          help="statistic (default mean; 0/1 variables give proportions)")
    estimate.add_argument("--denominator", metavar="COL",
                          help="denominator variable of --stat ratio")
    estimate.add_argument("--ci", choices=CI_CHOICES, default="logit",
                          help="interval method for proportions (default logit); see below")
    estimate.add_argument("--level", type=float, default=0.95, help="confidence level (0.95)")
    estimate.add_argument("--min-n", type=int, default=DEFAULT_MIN_N,
                          help=f"reliable needs n >= MIN_N (default {DEFAULT_MIN_N})")
    estimate.add_argument("--max-cv", type=float, default=DEFAULT_MAX_CV,
                          help=f"reliable needs cv <= MAX_CV (default {DEFAULT_MAX_CV})")
    estimate.add_argument("--format", choices=("json", "csv"), default="json")
    _add_design_arguments(estimate)

    weights = commands.add_parser(
        "weights", help="write the final weights (and replicate weights) as CSV",
        description="Write the final weights after nonresponse adjustment, calibration and "
                    "trimming, one row per respondent.",
        epilog="Output columns: row (1-based row of DATA.csv) or the --id column, "
               "base_weight, weight, then rep_1..rep_R with --replicates.",
    )
    weights.add_argument("data", metavar="DATA.csv")
    weights.add_argument("--id", metavar="COL", help="identifier column copied to the output")
    weights.add_argument("--output", metavar="FILE", help="write here instead of stdout")
    _add_design_arguments(weights)
    return parser


def _add_design_arguments(parser: argparse.ArgumentParser) -> None:
    design = parser.add_argument_group("design")
    design.add_argument("--strata", action="append", default=[], metavar="COL",
                        help="stratum column (several are crossed)")
    design.add_argument("--psu", action="append", default=[], metavar="COL",
                        help="first-stage unit; repeat for later stages (ids=~psu+ssu)")
    design.add_argument("--weight", metavar="COL", help="sampling weight (default 1)")
    design.add_argument("--fpc", action="append", default=[], metavar="COL",
                        help="population count of units, one per stage (R fpc=~N1+N2)")
    design.add_argument("--certainty", metavar="COL", help="0/1: PSU taken with certainty")
    design.add_argument("--lonely-psu", choices=LONELY_PSU_OPTIONS, default="fail",
                        help="single-PSU strata (R survey.lonely.psu; default fail)")
    design.add_argument("--nest", action="store_true", help="PSU ids repeat across strata")
    design.add_argument("--respondent", metavar="COL",
                        help="0/1 response indicator: adjust for nonresponse, keep respondents")
    design.add_argument("--nonresponse-class", action="append", default=[], metavar="COL",
                        help="weighting class of the nonresponse adjustment")
    weighting = parser.add_argument_group("weighting")
    weighting.add_argument("--calibrate", choices=("raking", "linear", "logit", "poststratify"),
                           help="calibrate the weights to --margins")
    weighting.add_argument("--margins", metavar="MARGINS.csv",
                           help="population totals: columns variable,level,total")
    weighting.add_argument("--bounds", metavar="LO,HI",
                           help="bounds on the calibration factor g = w/d")
    weighting.add_argument("--trim", metavar="LO,HI",
                           help="trim final weights to [LO, HI] (R trimWeights)")
    weighting.add_argument("--max-iter", type=int, default=1000, help="calibration iterations")
    weighting.add_argument("--tol", type=float, default=1e-10,
                           help="calibration tolerance (max relative margin error)")
    replication = parser.add_argument_group("variance")
    replication.add_argument("--replicates", metavar="METHOD",
                             help="jk1|jkn|brr|fay:RHO|bootstrap:R|subbootstrap:R|FILE.csv "
                                  "(default: Taylor linearisation)")
    replication.add_argument("--seed", type=int, help="seed of the bootstrap draws")
    replication.add_argument("--mse", action="store_true",
                             help="centre replicates on the full-sample estimate")
    replication.add_argument("--replicate-scale", type=float, metavar="S",
                             help="variance scale of a multipliers file")


@dataclass
class Rows:
    """The data file and the rows kept (None: all; otherwise the respondents)."""

    table: CsvTable
    rows: np.ndarray | None = None


@dataclass
class Prepared(Rows):
    """A design built from the command line: the linearisation design and the one to use."""

    survey: SurveyDesign | None = None
    design: SurveyDesign | ReplicateDesign | None = None


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None,
         stderr: TextIO | None = None) -> int:
    """Run the command line; return the exit status."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        if args.command == "estimate":
            text = run_estimate(args)
        else:
            text = run_weights(args)
    except (CliError, CsvError, CalibrationError, ValueError) as exc:
        message = " ".join(str(exc).split())
        print(f"error: {message}", file=err)
        return EXIT_BAD_INPUT
    if args.command == "weights" and args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        out.write(text)
    return 0


def run_estimate(args: argparse.Namespace) -> str:
    """Return the estimates as JSON or CSV text."""
    _check_number(args.level, "--level", 0.0, 1.0)
    prepared = prepare(args)
    by = [_labels(prepared, column) for column in args.by] or None
    denominator: FloatArray | None = None
    if args.stat == "ratio":
        if not args.denominator:
            raise CliError("--stat ratio needs --denominator COL")
        denominator = _numbers(prepared, args.denominator)
    elif args.denominator:
        raise CliError("--denominator is only used with --stat ratio")
    cells: list[CellEstimate] = []
    design = prepared.design
    assert design is not None
    level, min_n, max_cv = args.level, args.min_n, args.max_cv
    for var in args.var:
        y = _numbers(prepared, var)
        if args.stat == "total":
            cells.extend(estimate_total(
                design, y, var=var, by=by, level=level, min_n=min_n, max_cv=max_cv))
        elif args.stat == "ratio":
            assert denominator is not None
            cells.extend(estimate_ratio(
                design, y, denominator, var=var, by=by, level=level, min_n=min_n,
                max_cv=max_cv))
        elif _is_binary(y):
            ci: CiMethod = args.ci
            cells.extend(estimate_proportion(
                design, y, var=var, by=by, ci=ci, level=level, min_n=min_n, max_cv=max_cv))
        else:
            cells.extend(estimate_mean(
                design, y, var=var, by=by, level=level, min_n=min_n, max_cv=max_cv))
    if args.format == "csv":
        return _cells_csv(cells, args.by)
    return _cells_json(cells, args.by)


def run_weights(args: argparse.Namespace) -> str:
    """Return the final (and replicate) weights as CSV text."""
    prepared = prepare(args)
    survey = prepared.survey
    assert survey is not None
    rows = np.arange(prepared.table.n_rows) if prepared.rows is None else prepared.rows
    if args.id:
        ids = prepared.table.texts(args.id)
        id_values: list[str] = [ids[int(r)] for r in rows]
        id_name = args.id
    else:
        id_values = [str(int(r) + 1) for r in rows]
        id_name = "row"
    columns = [survey.base_weights, survey.weights]
    names = [id_name, "base_weight", "weight"]
    if isinstance(prepared.design, ReplicateDesign):
        matrix = replicate_weights(prepared.design)
        columns.extend(matrix[:, r] for r in range(matrix.shape[1]))
        names.extend(f"rep_{r + 1}" for r in range(matrix.shape[1]))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(names)
    stacked = np.column_stack(columns)
    for identifier, values in zip(id_values, stacked):
        writer.writerow([identifier, *(repr(float(v)) for v in values)])
    return buffer.getvalue()


def prepare(args: argparse.Namespace) -> Prepared:
    """Return the design described by the arguments, calibrated, trimmed and replicated."""
    table = CsvTable(args.data)
    if table.n_rows == 0:
        raise CliError(f"{table.name}: no data rows")
    for column in _columns_used(args):
        table.require(column)
    margins_table = CsvTable(args.margins) if getattr(args, "margins", None) else None
    margin_variables: list[str] = []
    if margins_table is not None:
        margins_table.require("variable")
        margin_variables = list(dict.fromkeys(t.strip() for t in margins_table.texts("variable")))
        for variable in margin_variables:
            table.require(variable)
    # Convert every column needed in one pass over the file.
    label_columns = [*args.strata, *args.psu, *args.nonresponse_class, *margin_variables,
                     *getattr(args, "by", [])]
    number_columns = [c for c in (args.weight, args.certainty, args.respondent) if c]
    number_columns += [*args.fpc, *getattr(args, "var", [])]
    if getattr(args, "denominator", None):
        number_columns.append(args.denominator)
    table.load(numbers=number_columns, labels=label_columns)
    prepared = Prepared(table=table)
    n = table.n_rows
    weights = (
        _numbers(prepared, args.weight, allow_missing=False) if args.weight else np.ones(n)
    )
    if args.weight and (weights <= 0).any():
        row = int(np.flatnonzero(weights <= 0)[0])
        raise CliError(
            f"{table.name}: column {args.weight!r}, row {row + 1}: weight {weights[row]:g} is "
            "not positive"
        )
    if args.nonresponse_class and not args.respondent:
        raise CliError("--nonresponse-class needs --respondent COL")
    if args.respondent:
        responded = _numbers(prepared, args.respondent, allow_missing=False)
        if not np.isin(responded, (0.0, 1.0)).all():
            row = int(np.flatnonzero(~np.isin(responded, (0.0, 1.0)))[0])
            raise CliError(
                f"{table.name}: column {args.respondent!r}, row {row + 1}: expected 0 or 1"
            )
        classes = [_labels(prepared, c) for c in args.nonresponse_class] or None
        adjusted = weights_nonresponse(weights, responded, classes)
        keep = np.flatnonzero(responded == 1.0)
        if keep.shape[0] == 0:
            raise CliError(f"{table.name}: no respondents ({args.respondent} is never 1)")
        prepared.rows = keep
        weights = adjusted.weights[keep]
    strata = [_labels(prepared, c, required=True) for c in args.strata] or None
    psu_columns = args.psu
    psu = _labels(prepared, psu_columns[0], required=True) if psu_columns else None
    ssu = [_labels(prepared, c, required=True) for c in psu_columns[1:]] or None
    fpc_columns = args.fpc
    if len(fpc_columns) > max(len(psu_columns), 1):
        raise CliError(f"{len(fpc_columns)} --fpc columns for {max(len(psu_columns), 1)} stage(s)")
    fpc: FloatArray | list[FloatArray] | None = None
    if fpc_columns:
        stage_fpc = [_numbers(prepared, c, allow_missing=False) for c in fpc_columns]
        fpc = stage_fpc[0] if len(stage_fpc) == 1 else stage_fpc
    certainty = _numbers(prepared, args.certainty, allow_missing=False) if args.certainty else None
    survey = design_create(
        weights, strata=strata, psu=psu, fpc=fpc, lonely_psu=args.lonely_psu, nest=args.nest,
        ssu=ssu, certainty=certainty,
    )
    survey = _calibrate(prepared, args, survey)
    if args.trim:
        low, high = _pair(args.trim, "--trim")
        survey = weights_trim(survey, lower=low, upper=high).design
    prepared.survey = survey
    prepared.design = _replicate(prepared, args, survey)
    return prepared


def _columns_used(args: argparse.Namespace) -> list[str]:
    columns = list(args.strata) + list(args.psu) + list(args.fpc) + list(args.nonresponse_class)
    for name in ("weight", "certainty", "respondent"):
        if getattr(args, name, None):
            columns.append(getattr(args, name))
    if getattr(args, "var", None):
        columns.extend(args.var)
        columns.extend(args.by)
        if args.denominator:
            columns.append(args.denominator)
    if getattr(args, "id", None):
        columns.append(args.id)
    return columns


def _calibrate(prepared: Rows, args: argparse.Namespace, survey: SurveyDesign) -> SurveyDesign:
    if not args.calibrate:
        if args.margins or args.bounds:
            raise CliError("--margins and --bounds need --calibrate")
        return survey
    if not args.margins:
        raise CliError(f"--calibrate {args.calibrate} needs --margins MARGINS.csv")
    margins = _read_margins(prepared, Path(args.margins))
    bounds = _pair(args.bounds, "--bounds") if args.bounds else None
    if args.calibrate == "poststratify":
        if len(margins) != 1:
            raise CliError(
                f"--calibrate poststratify needs one variable in {Path(args.margins).name}, "
                f"got {len(margins)}; use raking for several margins"
            )
        if bounds is not None:
            raise CliError("--bounds does not apply to --calibrate poststratify")
        margin = margins[0]
        return weights_post_stratify(survey, margin.codes, margin.totals, name=margin.name).design
    if args.calibrate == "logit" and bounds is None:
        raise CliError("--calibrate logit needs --bounds LO,HI with LO < 1 < HI")
    calfun: Calfun = "raking" if args.calibrate == "raking" else (
        "logit" if args.calibrate == "logit" else "linear"
    )
    result = weights_calibrate(
        survey, margins, calfun=calfun, bounds=bounds, tol=args.tol, max_iter=args.max_iter,
    )
    return result.design


def _read_margins(prepared: Rows, path: Path) -> list[Margin]:
    table = CsvTable(path)
    for column in ("variable", "level", "total"):
        table.require(column)
    variables = [text.strip() for text in table.texts("variable")]
    levels = [text.strip() for text in table.texts("level")]
    totals = table.numbers("total", allow_missing=False)
    order: list[str] = []
    for variable in variables:
        if variable not in order:
            order.append(variable)
    margins = []
    for variable in order:
        prepared.table.require(variable)
        labels = _labels(prepared, variable, required=True)
        by_key: dict[object, float] = {}
        level_of_key: dict[object, str] = {}
        for row, (name, level) in enumerate(zip(variables, levels)):
            if name != variable:
                continue
            key = _canonical(level)
            if key in by_key:
                raise CliError(f"{path.name}: level {level!r} of {variable!r} appears twice")
            if totals[row] < 0:
                raise CliError(f"{path.name}: level {level!r} of {variable!r} has a negative total")
            by_key[key] = float(totals[row])
            level_of_key[key] = level
        data_keys = {_canonical_label(label): label for label in labels.labels}
        present = np.bincount(labels.codes[labels.codes >= 0], minlength=len(labels.labels)) > 0
        for key, label in data_keys.items():
            if key not in by_key:
                raise CliError(
                    f"{path.name}: {variable!r} = {label!r} occurs in {prepared.table.name} but "
                    "has no population total"
                )
        present_keys = {
            _canonical_label(label) for label, used in zip(labels.labels, present) if used
        }
        for key, total in by_key.items():
            if total > 0 and key not in present_keys:
                raise CliError(
                    f"{path.name}: level {level_of_key[key]!r} of {variable!r} has a population "
                    f"total of {total:g} but no respondents in {prepared.table.name}"
                )
        ordered = list(by_key)
        lookup = np.array([ordered.index(_canonical_label(label)) for label in labels.labels],
                          dtype=np.intp)
        if (labels.codes < 0).any():
            row = int(np.flatnonzero(labels.codes < 0)[0])
            raise CliError(f"{prepared.table.name}: column {variable!r}, row {row + 1}: missing")
        margins.append(Margin(
            lookup[labels.codes], np.array([by_key[k] for k in ordered]), variable,
            levels=[level_of_key[k] for k in ordered],
        ))
    return margins


def _replicate(
    prepared: Rows, args: argparse.Namespace, survey: SurveyDesign
) -> SurveyDesign | ReplicateDesign:
    spec = args.replicates
    if not spec:
        if args.mse or args.seed is not None or args.replicate_scale is not None:
            raise CliError("--mse, --seed and --replicate-scale need --replicates")
        return survey
    name, _, value = spec.partition(":")
    name = name.strip().lower()
    if name in ("jk1", "jkn", "brr") and not value:
        return replicates_create(survey, name, mse=args.mse)  # type: ignore[arg-type]
    if name == "fay":
        rho = _float(value, "--replicates fay:RHO")
        return replicates_create(survey, "fay", fay_rho=rho, mse=args.mse)
    if name in ("bootstrap", "subbootstrap"):
        count = int(_float(value, f"--replicates {name}:R")) if value else 50
        return replicates_create(
            survey, name, replicates=count, seed=args.seed, mse=args.mse  # type: ignore[arg-type]
        )
    path = Path(spec)
    if not path.suffix.lower() == ".csv" and not path.exists():
        raise CliError(
            f"--replicates {spec!r}: expected jk1, jkn, brr, fay:RHO, bootstrap:R, "
            "subbootstrap:R or a CSV file of multipliers"
        )
    table = CsvTable(path)
    if len(table.header) < 3:
        raise CliError(f"{path.name}: expected a PSU column and at least two replicate columns")
    psu_ids = [text.strip() for text in table.texts(table.header[0])]
    matrix = np.column_stack([table.numbers(name, allow_missing=False)
                              for name in table.header[1:]])
    if not args.psu:
        # Element sampling: ids are 1-based data rows; the design numbers rows from 0.
        rows = np.arange(prepared.table.n_rows) if prepared.rows is None else prepared.rows
        position = {str(int(r) + 1): str(j) for j, r in enumerate(rows)}
        psu_ids = [position.get(i, f"unused:{i}") for i in psu_ids]
    else:
        psu_ids = [str(_canonical(i)) for i in psu_ids]
    return replicates_from_multipliers(
        survey, psu_ids, matrix, scale=args.replicate_scale, mse=args.mse
    )


def _labels(prepared: Rows, column: str, *, required: bool = False) -> Encoded:
    labels = prepared.table.labels(column)
    if prepared.rows is not None:
        labels = Encoded(codes=labels.codes[prepared.rows], labels=labels.labels)
        used = np.unique(labels.codes[labels.codes >= 0])
        if used.shape[0] != len(labels.labels):
            remap = np.full(len(labels.labels), -1, dtype=np.intp)
            remap[used] = np.arange(used.shape[0])
            labels = Encoded(
                codes=np.where(labels.codes >= 0, remap[np.maximum(labels.codes, 0)], -1),
                labels=tuple(labels.labels[int(u)] for u in used),
            )
    if required and (labels.codes < 0).any():
        row = int(np.flatnonzero(labels.codes < 0)[0])
        original = row if prepared.rows is None else int(prepared.rows[row])
        raise CliError(
            f"{prepared.table.name}: column {column!r}, row {original + 1}: missing value"
        )
    return labels


def _numbers(prepared: Rows, column: str, *, allow_missing: bool = True) -> FloatArray:
    values = prepared.table.numbers(column, allow_missing=allow_missing)
    return values if prepared.rows is None else values[prepared.rows]


def _is_binary(y: FloatArray) -> bool:
    present = y[~np.isnan(y)]
    return bool(present.size) and bool(((present == 0.0) | (present == 1.0)).all())


def _canonical(text: str) -> object:
    stripped = text.strip()
    try:
        value = float(stripped)
    except ValueError:
        return stripped
    if math.isnan(value):
        return stripped
    return int(value) if value.is_integer() else value


def _canonical_label(label: object) -> object:
    if isinstance(label, str):
        return _canonical(label)
    if isinstance(label, float) and label.is_integer():
        return int(label)
    return label


def _pair(text: str, option: str) -> tuple[float, float]:
    parts = text.split(",")
    if len(parts) != 2:
        raise CliError(f"{option}: expected LO,HI, got {text!r}")
    low, high = (_float(part, option) for part in parts)
    if not low < high:
        raise CliError(f"{option}: LO must be below HI, got {text!r}")
    return low, high


def _float(text: str, option: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise CliError(f"{option}: {text!r} is not a number") from None


def _check_number(value: float, option: str, low: float, high: float) -> None:
    if not low < value < high:
        raise CliError(f"{option}: expected a number between {low:g} and {high:g}, got {value}")


def _json_number(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _cell_record(cell: CellEstimate, by: Sequence[str]) -> dict[str, object]:
    domain = None if cell.domain is None else dict(zip(by, cell.domain))
    return {
        "var": cell.var,
        "domain": domain,
        "estimate": _json_number(cell.estimate),
        "se": _json_number(cell.se),
        "ci_low": _json_number(cell.ci_low),
        "ci_high": _json_number(cell.ci_high),
        "df": cell.df,
        "deff": _json_number(cell.deff),
        "n": cell.n,
        "n_eff": _json_number(cell.n_eff),
        "cv": _json_number(cell.cv),
        "reliable": cell.reliable,
    }


def _cells_json(cells: Sequence[CellEstimate], by: Sequence[str]) -> str:
    return json.dumps([_cell_record(cell, by) for cell in cells], indent=2) + "\n"


def _cells_csv(cells: Sequence[CellEstimate], by: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["var", *by, *JSON_KEYS[2:]])
    for cell in cells:
        record = _cell_record(cell, by)
        domain = [] if cell.domain is None else list(cell.domain)
        writer.writerow([
            cell.var, *domain,
            *("" if record[key] is None else record[key] for key in JSON_KEYS[2:]),
        ])
    return buffer.getvalue()
