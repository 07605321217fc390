"""Errors the fieldwork services raise; their messages are shown to staff as they are."""
from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _


class FieldworkError(ValueError):
    """A request that the data or the rules refuse (e.g. redrawing a sample already in the field)."""


@dataclass(frozen=True)
class ImportProblem:
    """One problem of an uploaded file: its spreadsheet row (1 = header) and column, when known."""

    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        if self.row is not None and self.column:
            return _("第 %(row)d 行“%(column)s”列：%(message)s") % {"row": self.row, "column": self.column, "message": self.message}
        if self.row is not None:
            return _("第 %(row)d 行：%(message)s") % {"row": self.row, "message": self.message}
        if self.column:
            return _("“%(column)s”列：%(message)s") % {"column": self.column, "message": self.message}
        return self.message

    def as_dict(self) -> dict[str, object]:
        return {"row": self.row, "column": self.column, "message": self.message}


class WaveClosed(FieldworkError):
    """A change to the fieldwork of a closed wave (`access.wave_open`): its data are final."""

    def __init__(self, wave_code: str) -> None:
        super().__init__(
            _("调查轮次 %(wave)s 已结束，其样本户、访问、成员名单、邀请、答卷和审核都不能再更改。如需更正，请管理员先把它改回“调查中”。")
            % {"wave": wave_code}
        )


class ImportRejected(FieldworkError):
    """An upload with problems; nothing of it was stored."""

    def __init__(self, problems: list[ImportProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems[:5]) + ("…" if len(problems) > 5 else ""))
