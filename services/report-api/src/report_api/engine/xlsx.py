"""XLSX output in constant memory (xlsxwriter writes each row to disk as it comes). A sheet holds at most
1,048,576 rows; a longer report continues on "Report (2)", "Report (3)", ... each with the header row."""

from __future__ import annotations

import math
import os
from pathlib import Path

import polars as pl
import xlsxwriter

MAX_SHEET_ROWS = 1_048_576  # Excel's limit, the header row included


class XlsxReportWriter:
    def __init__(self, path: str | os.PathLike, columns: list[str], kinds: list[str], sheet_name: str = "Report",
                 max_rows: int = MAX_SHEET_ROWS, widths: list[float] | None = None):
        self.path = Path(path)
        self.widths = widths  # each column's width in characters (every sheet), or Excel's default
        self.columns, self.kinds = columns, kinds
        self.sheet_name, self.max_rows = sheet_name, max_rows
        self.workbook = xlsxwriter.Workbook(str(self.path), {
            "constant_memory": True, "tmpdir": str(self.path.parent),
            "strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False,
            "nan_inf_to_errors": True,
        })
        self.header_format = self.workbook.add_format({"bold": True})
        self.sheet = None
        self.row = 0
        self.sheets = 0
        self.closed = False
        self._new_sheet()

    def _new_sheet(self) -> None:
        self.sheets += 1
        name = self.sheet_name if self.sheets == 1 else f"{self.sheet_name} ({self.sheets})"
        self.sheet = self.workbook.add_worksheet(name)
        self.sheet.freeze_panes(1, 0)
        for c, width in enumerate(self.widths or ()):
            self.sheet.set_column(c, c, width)
        self.sheet.write_row(0, 0, self.columns, self.header_format)
        self.row = 1

    @staticmethod
    def _cells(series: pl.Series, kind: str) -> tuple[list, str]:
        if kind == "number":
            return series.to_list(), "number"
        if kind == "bool":
            return series.to_list(), "boolean"
        if kind == "number_text":  # a number column copied as written: numbers where the text is one
            numbers = series.str.strip_chars().cast(pl.Float64, strict=False).to_list()
            return [n if n is not None and math.isfinite(n) else t
                    for n, t in zip(numbers, series.to_list(), strict=True)], "any"
        return series.to_list(), "string"

    def write(self, batch: pl.DataFrame) -> None:
        cells = [self._cells(batch.get_column(name), kind) for name, kind in zip(self.columns, self.kinds, strict=True)]
        start = 0
        while start < batch.height:
            if self.row >= self.max_rows:
                self._new_sheet()
            count = min(batch.height - start, self.max_rows - self.row)
            writers = [(c, values, self._writer(how)) for c, (values, how) in enumerate(cells)]
            for r in range(start, start + count):
                row = self.row + r - start
                for c, values, write in writers:
                    value = values[r]
                    if value is not None:
                        write(row, c, value)
            self.row += count
            start += count

    def _writer(self, how: str):
        sheet = self.sheet
        return {"number": sheet.write_number, "boolean": sheet.write_boolean, "string": sheet.write_string,
                "any": sheet.write}[how]

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.workbook.close()
