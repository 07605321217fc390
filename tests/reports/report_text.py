"""Compare built reports by their figures."""
from __future__ import annotations

import dataclasses

from reports.data import AssessmentReport


def figures(report: AssessmentReport) -> str:
    """Return the report as text without the minute it was made at; as text because a design
    effect of a cell with no variance is NaN, and NaN != NaN."""
    return repr(dataclasses.replace(report, provenance=dataclasses.replace(report.provenance, generated_at="")))
