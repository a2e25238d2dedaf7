"""The report files a finished report job leaves in S3, one per (report type, file type) it produces.

The real service generates every report type at once; the inventory is `DATA_DUMP` as XLSX. Here:
`DATA_DUMP` and `GHG_PROTOCOL` as XLSX, `REPORT_DATA` as JSON, `ISO14064` and `CARBON_ALT_DELETE` as PDF.
Other combinations (e.g. `DATA_DUMP` as `PDF`) are never produced, so their S3 key does not exist.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable

import xlsxwriter

from .data import DemoData, InventoryRow

REPORT_TYPES = ("CARBON_ALT_DELETE", "ISO14064", "GHG_PROTOCOL", "DATA_DUMP", "REPORT_DATA")
FILE_TYPES = ("PDF", "XLSX", "DOCX", "JSON")
CONTENT_TYPES = {"XLSX": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                 "PDF": "application/pdf", "JSON": "application/json",
                 "DOCX": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
DATA_DUMP_COLUMNS = ("Organizational unit", "Reporting period", "Scope", "Category", "Activity", "Quantity", "Unit",
                     "Emission factor (kg CO2e/unit)", "Emissions (t CO2e)")


def file_name(report_type: str, file_type: str) -> str:
    return f"{report_type}.{file_type.lower()}"


def render_all(data: DemoData, unit_id: str, period_id: str) -> dict[tuple[str, str], bytes]:
    """Every file a report on the unit (and everything below it) in the period produces."""
    rows = data.inventory(unit_id, period_id)
    period = data.periods[period_id].short_name
    renderers: dict[tuple[str, str], Callable[[], bytes]] = {
        ("DATA_DUMP", "XLSX"): lambda: _data_dump_xlsx(data, rows, period),
        ("GHG_PROTOCOL", "XLSX"): lambda: _ghg_xlsx(rows, period),
        ("REPORT_DATA", "JSON"): lambda: _report_json(data, rows, period),
        ("ISO14064", "PDF"): lambda: _pdf(f"ISO 14064-1 report {period}", rows),
        ("CARBON_ALT_DELETE", "PDF"): lambda: _pdf(f"Carbon+Alt+Delete report {period}", rows),
    }
    return {key: render() for key, render in renderers.items()}


def _data_dump_xlsx(data: DemoData, rows: list[InventoryRow], period: str) -> bytes:
    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer, {"in_memory": True}) as book:
        sheet = book.add_worksheet("Data dump")
        bold = book.add_format({"bold": True})
        sheet.write_row(0, 0, DATA_DUMP_COLUMNS, bold)
        for n, row in enumerate(rows, start=1):
            sheet.write_row(n, 0, (data.units[row.organizational_unit_id].name, period, row.scope, row.category,
                                   row.activity, row.quantity, row.unit, row.factor, row.tonnes))
    return buffer.getvalue()


def _ghg_xlsx(rows: list[InventoryRow], period: str) -> bytes:
    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer, {"in_memory": True}) as book:
        sheet = book.add_worksheet("GHG Protocol")
        sheet.write_row(0, 0, ("Scope", f"Emissions {period} (t CO2e)"))
        for n, scope in enumerate((1, 2, 3), start=1):
            sheet.write_row(n, 0, (f"Scope {scope}", round(sum(r.tonnes for r in rows if r.scope == scope), 3)))
    return buffer.getvalue()


def _report_json(data: DemoData, rows: list[InventoryRow], period: str) -> bytes:
    lines = [{"organizationalUnit": data.units[r.organizational_unit_id].name, "scope": r.scope,
              "category": r.category, "activity": r.activity, "quantity": r.quantity, "unit": r.unit,
              "emissions": r.tonnes} for r in rows]
    return json.dumps({"reportingPeriod": period, "lines": lines}).encode()


def _pdf(title: str, rows: list[InventoryRow]) -> bytes:
    """A one-page PDF with the title and the total, valid enough for any viewer."""
    total = round(sum(r.tonnes for r in rows), 3)
    text = f"BT /F1 18 Tf 72 760 Td ({title}) Tj 0 -30 Td /F1 12 Tf (Total: {total} t CO2e) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
