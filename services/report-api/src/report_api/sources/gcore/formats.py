"""A gcore report (CSV with Gcore's columns) in the other formats the API answers, written to a file in
constant memory:

- JSON `{"uuid", "task_id", "status", "count", "data", "errors"}`: each row without its empty and zero
  fields, IDs and the metric value as numbers (Client ID stays text, as Gcore sends it);
- XLSX: a real workbook (report_api.engine.xlsx): numbers as numbers, the header row frozen, columns as wide
  as their longest value."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import polars as pl

from ...engine.xlsx import XlsxReportWriter
from .rows import NUMBERS, scan

FORMATS = ("json", "csv", "xlsx")
MEDIA = {"application/json": "json", "text/csv": "csv",
         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx"}
BATCH = 10_000
MAX_WIDTH = 60


def render(report: Path, fmt: str, result: dict, target: Path, task_id: str) -> None:
    """Write the report in `fmt` (json or xlsx) to `target`; `result` is the job's summary."""
    if fmt == "json":
        write_json(report, result, target, task_id)
    elif fmt == "xlsx":
        write_xlsx(report, target)
    else:
        raise ValueError(f"a gcore report is not made as {fmt!r}")


def clean(row: dict[str, str]) -> dict:
    """A row as the JSON answer shows it: numbers as numbers, empty and zero fields left out."""
    out: dict = {}
    for name, text in row.items():
        text = (text or "").strip()
        if not text:
            continue
        kind = NUMBERS.get(name)
        if kind is None:
            out[name] = text
            continue
        try:
            value = int(text) if kind == pl.Int64 else float(text)
        except ValueError:
            out[name] = text
            continue
        if value != 0:
            out[name] = value
    return out


def write_json(report: Path, result: dict, target: Path, task_id: str) -> None:
    uuids = {product: part.get("uuid") for product, part in (result.get("products") or {}).items()}
    head = {"uuid": next(iter(uuids.values())) if len(uuids) == 1 else task_id, "task_id": task_id,
            "uuids": uuids, "status": "partial" if result.get("errors") else "completed",
            "count": result.get("rows", 0)}
    with report.open(newline="", encoding="utf-8") as src, target.open("w", encoding="utf-8") as out:
        out.write(json.dumps(head)[:-1] + ', "data": [')
        for n, row in enumerate(csv.DictReader(src)):
            out.write((", " if n else "") + json.dumps(clean(row), ensure_ascii=False))
        out.write('], "errors": ' + json.dumps(result.get("errors") or []) + "}")


def write_xlsx(report: Path, target: Path) -> None:
    frame = scan(report)
    columns = frame.collect_schema().names()
    lengths = frame.select(pl.col(c).str.len_chars().max().fill_null(0) for c in columns).collect().row(0)
    widths = [min(MAX_WIDTH, max(len(c), n) + 2) for c, n in zip(columns, lengths, strict=True)]
    kinds = ["number" if c in NUMBERS else "string" for c in columns]
    writer = XlsxReportWriter(target, columns, kinds, widths=widths)
    try:
        typed = frame.with_columns(pl.col(c).str.strip_chars().cast(kind, strict=False)
                                   for c, kind in NUMBERS.items() if c in columns)
        for batch in typed.collect_batches(chunk_size=BATCH):
            writer.write(batch)
    finally:
        writer.close()
