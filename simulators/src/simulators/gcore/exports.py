"""A finished report's file in the three formats of `/billing/v1/org/files/{uuid}/download`.

JSON `{"headers": [...], "rows": [[...], ...]}` and CSV are produced row by row (generators), so a
report of a million rows streams without being held in memory. XLSX is a real workbook written by
xlsxwriter in constant-memory mode into a temporary file, then streamed.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import IO

import xlsxwriter

from .data import COLUMNS

JSON = "application/json"
CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MEDIA_TYPES = (JSON, CSV, XLSX)  # the first is the default for `Accept: */*` or no Accept
FORMATS = {"json": JSON, "csv": CSV, "xlsx": XLSX}  # the `?format=` override
_BATCH = 500  # rows per chunk sent


def json_chunks(rows: Iterable[list]) -> Iterator[bytes]:
    yield f'{{"headers": {json.dumps(list(COLUMNS))}, "rows": ['.encode()
    batch: list[str] = []
    first = True
    for row in rows:
        batch.append(("" if first else ", ") + json.dumps(row, ensure_ascii=False))
        first = False
        if len(batch) >= _BATCH:
            yield "".join(batch).encode()
            batch = []
    yield ("".join(batch) + "]}").encode()


def csv_chunks(rows: Iterable[list]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for n, row in enumerate(rows, 1):
        writer.writerow(["" if value is None else value for value in row])
        if n % _BATCH == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def xlsx_file(rows: Iterable[list]) -> IO[bytes]:
    """A temporary file holding the workbook (one sheet, `Report`), positioned at its start; the caller
    closes it (which deletes it)."""
    out = tempfile.TemporaryFile()  # noqa: SIM115 - returned open: the response streams it, then closes it
    try:
        _write_workbook(out, rows)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out


def _write_workbook(out: IO[bytes], rows: Iterable[list]) -> None:
    workbook = xlsxwriter.Workbook(out, {"constant_memory": True})
    sheet = workbook.add_worksheet("Report")
    bold = workbook.add_format({"bold": True})
    metric = workbook.add_format({"num_format": "0.0000"})
    metric_column = COLUMNS.index("Metric value")
    sheet.write_row(0, 0, COLUMNS, bold)
    for r, row in enumerate(rows, 1):
        for c, value in enumerate(row):
            if value is None:
                continue
            if c == metric_column:
                sheet.write_number(r, c, float(Decimal(value)), metric)
            else:
                sheet.write(r, c, value)
    workbook.close()
