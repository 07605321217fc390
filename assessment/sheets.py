"""Printable A4 sheets of invitation QR codes, one slip per sampled household, for delivery door to door."""
from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

COLUMNS, ROWS = 2, 4  # eight slips per A4 page
MARGIN = 12 * mm
HEADER = 14 * mm
QR_SIZE = 38 * mm
INK = colors.HexColor("#1f2933")
MUTED = colors.HexColor("#616e7c")
ACCENT = colors.HexColor("#0b6e4f")


@dataclass(frozen=True)
class Slip:
    url: str
    case_code: str
    household: str  # household number (and address) for the person delivering it


@dataclass(frozen=True)
class SheetText:
    """The words on the sheet, already translated by the caller."""

    title: str  # the wave's name
    place: str  # town · PSU
    scan: str  # "scan to answer"
    note: str  # privacy / help line
    page: str  # "page %(page)d of %(pages)d"


def qr_png(text: str) -> bytes:
    """Return TEXT as a QR code (error correction M, 4-module quiet zone) in PNG."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=8, border=4)
    code.add_data(text)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image(fill_color="black", back_color="white").save(buffer, format="PNG")
    return buffer.getvalue()


def _fit(canvas: Canvas, text: str, font: str, size: float, width: float) -> str:
    """Return TEXT shortened with an ellipsis to fit WIDTH."""
    if canvas.stringWidth(text, font, size) <= width:
        return text
    while text and canvas.stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


def invitation_sheet_pdf(slips: Sequence[Slip], text: SheetText) -> bytes:
    """Return the PDF of SLIPS, eight to an A4 page, with cutting lines between them."""
    from reports.pdf import register_font

    font = register_font()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    canvas.setTitle(f"{text.title} · {text.place}")
    canvas.setAuthor("Suyang")
    page_w, page_h = A4
    slip_w = (page_w - 2 * MARGIN) / COLUMNS
    slip_h = (page_h - 2 * MARGIN - HEADER) / ROWS
    per_page = COLUMNS * ROWS
    pages = max(1, -(-len(slips) // per_page))
    for page in range(pages):
        canvas.setFont(font, 11)
        canvas.setFillColor(INK)
        canvas.drawString(MARGIN, page_h - MARGIN - 6 * mm, _fit(canvas, f"{text.title} · {text.place}", font, 11, page_w - 2 * MARGIN - 40 * mm))
        canvas.setFont(font, 8)
        canvas.setFillColor(MUTED)
        canvas.drawRightString(page_w - MARGIN, page_h - MARGIN - 6 * mm, text.page % {"page": page + 1, "pages": pages})
        top = page_h - MARGIN - HEADER
        canvas.setStrokeColor(colors.HexColor("#9aa5b1"))
        canvas.setDash(3, 3)
        canvas.setLineWidth(0.5)
        for c in range(COLUMNS + 1):
            canvas.line(MARGIN + c * slip_w, top, MARGIN + c * slip_w, MARGIN)
        for r in range(ROWS + 1):
            canvas.line(MARGIN, top - r * slip_h, page_w - MARGIN, top - r * slip_h)
        canvas.setDash()
        for k, slip in enumerate(slips[page * per_page:(page + 1) * per_page]):
            x = MARGIN + (k % COLUMNS) * slip_w
            y = top - (k // COLUMNS + 1) * slip_h
            _slip(canvas, font, slip, text, x, y, slip_w, slip_h)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _slip(canvas: Canvas, font: str, slip: Slip, text: SheetText, x: float, y: float, w: float, h: float) -> None:
    pad = 4 * mm
    canvas.setFillColor(ACCENT)
    canvas.setFont(font, 10)
    canvas.drawString(x + pad, y + h - pad - 3 * mm, _fit(canvas, text.title, font, 10, w - 2 * pad))
    qr_y = y + h - pad - 6 * mm - QR_SIZE
    canvas.drawImage(ImageReader(io.BytesIO(qr_png(slip.url))), x + pad, qr_y, QR_SIZE, QR_SIZE)
    right = x + pad + QR_SIZE + 3 * mm
    width = x + w - pad - right
    canvas.setFillColor(INK)
    canvas.setFont(font, 10)
    line_y = y + h - pad - 11 * mm
    for line in _wrap(canvas, text.scan, font, 10, width)[:4]:
        canvas.drawString(right, line_y, line)
        line_y -= 5 * mm
    canvas.setFont(font, 8)
    canvas.setFillColor(MUTED)
    for line in _wrap(canvas, text.note, font, 8, width)[:4]:
        canvas.drawString(right, line_y, line)
        line_y -= 4 * mm
    canvas.setFont("Courier", 6.5)
    canvas.drawString(x + pad, qr_y - 3.5 * mm, _fit(canvas, slip.url, "Courier", 6.5, w - 2 * pad))
    canvas.setFillColor(INK)
    canvas.setFont(font, 8)
    canvas.drawString(x + pad, y + pad, _fit(canvas, f"{slip.case_code} · {slip.household}", font, 8, w - 2 * pad))


def _wrap(canvas: Canvas, text: str, font: str, size: float, width: float) -> list[str]:
    """Return TEXT broken into lines of WIDTH, character by character (CJK has no spaces)."""
    lines, line = [], ""
    for ch in text:
        if ch == "\n" or canvas.stringWidth(line + ch, font, size) > width:
            lines.append(line)
            line = "" if ch == "\n" else ch
        else:
            line += ch
    if line:
        lines.append(line)
    return lines
