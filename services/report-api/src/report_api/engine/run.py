"""A report run: one streaming polars plan (scan the input, join the reference, compute the outputs) written
to a temporary file beside the output and renamed on success. The error summary, progress and
cancellation ride on a per-batch step of the same plan, so the input is read once."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import polars as pl
from polars.exceptions import ComputeError

from .compile import Column, Columns, Output, compile_rule, conversion_error, format_number
from .csv_input import CsvInfo, column_type, csv_error, infer_types, read_reference, sniff
from .errors import GenerationCancelled, InputError
from .expressions import Name
from .rules import Resolution, RuleSet
from .types import BOOL, NUMBER
from .xlsx import XlsxReportWriter

SINK_BATCH_ROWS = 100_000
MATCHED = "m:"
SEED = 0x9E3779B9  # the seed of the second join hash (the first uses 0)


@dataclass
class ReportSummary:
    rows: int  # rows written
    error_rows: int  # rows with at least one cell error
    errors_by_column: dict[str, int]  # output column -> cells with an error (only columns with errors)
    seconds: float
    output_bytes: int
    columns: list[str]
    input_rows: int = 0
    missing_reference_rows: int = 0  # input rows without a reference row (dropped ones included)
    dropped_rows: int = 0  # on_missing_reference: drop
    join_keys: list[str] = field(default_factory=list)
    column_types: dict[str, str] = field(default_factory=dict)  # "input.x" / "ref.x" -> number or text
    sheets: int = 0  # XLSX only

    def to_dict(self) -> dict:
        return asdict(self)


class _HashCollision(Exception):
    """Two different join keys with the same 64-bit hash met: the run starts over with an exact join."""


class _Tally:
    """The per-batch step: counts errors and missing references, drops rows, honours cancel."""

    def __init__(self, outputs: list[Output], joined: bool, drop: bool, cancel: threading.Event | None):
        self.names = [o.name for o in outputs]
        self.flags = [f"e{i}" for i, o in enumerate(outputs) if o.err is not None]
        self.flagged = [o.name for o in outputs if o.err is not None]
        self.joined, self.drop, self.cancel = joined, drop, cancel
        self.lock = threading.Lock()
        self.input_rows = self.rows = self.error_rows = self.missing = 0
        self.errors = dict.fromkeys(self.flagged, 0)

    def __call__(self, batch: pl.DataFrame) -> pl.DataFrame:
        if self.cancel is not None and self.cancel.is_set():
            raise GenerationCancelled("report generation cancelled")
        input_rows, missing = batch.height, 0
        if self.joined:
            matched = batch.get_column(MATCHED)
            if not matched.all(ignore_nulls=True):
                raise _HashCollision
            missing = matched.null_count()
            if self.drop and missing:
                batch = batch.filter(pl.col(MATCHED).is_not_null())
        counts = batch.select([pl.col(f).sum() for f in self.flags]
                              + [pl.any_horizontal(self.flags).sum().alias("any")]).row(0) if self.flags else (0,)
        with self.lock:
            self.input_rows += input_rows
            self.missing += missing
            self.rows += batch.height
            self.error_rows += counts[-1] or 0
            for name, count in zip(self.flagged, counts[:-1], strict=True):
                self.errors[name] += count
        return batch.select([pl.col(f"o{i}").alias(name) for i, name in enumerate(self.names)])


def generate(rules: RuleSet, input_path: str | os.PathLike, reference_path: str | os.PathLike | None,
             output_path: str | os.PathLike, fmt: str = "csv",
             progress: Callable[[float, int], None] | None = None, cancel: threading.Event | None = None,
             *, progress_interval: float = 1.0) -> ReportSummary:
    """Run the rules over the input (joined to the reference) and write the report as CSV or XLSX.

    InputError for bad files (nothing is written), GenerationCancelled when `cancel` is set. `progress` is
    called from this thread about every `progress_interval` seconds with (fraction done, input rows done)."""
    started = time.perf_counter()
    if fmt not in ("csv", "xlsx"):
        raise ValueError(f"unknown output format {fmt!r}: csv or xlsx")
    output_path = Path(output_path)
    info = sniff(input_path, "input")
    ref_info = sniff(reference_path, "reference", sample_rows=0) if reference_path is not None else None
    problems = rules.check_headers(info.header, ref_info.header if ref_info else None)
    if problems:
        raise InputError("the rules do not match the files' columns", problems=problems)
    resolution = rules.resolve(info.header, ref_info.header if ref_info else None)
    tmp = output_path.with_name(f".{output_path.name}.{uuid.uuid4().hex[:8]}.partial")
    run = _Run(rules, resolution, info, ref_info, fmt, progress, cancel, progress_interval)
    try:
        if progress is not None:
            progress(0.0, 0)
        try:
            run.write(tmp, exact_join=False)
        except _HashCollision:
            _remove(tmp)
            run.write(tmp, exact_join=True)
        if cancel is not None and cancel.is_set():
            raise GenerationCancelled("report generation cancelled")
        os.replace(tmp, output_path)
    except ComputeError as e:  # what the CSV reader raises for a malformed file
        _remove(tmp)
        raise csv_error(info, e) from None
    except BaseException:
        _remove(tmp)
        raise
    run.report(done=True)
    tally = run.tally
    return ReportSummary(
        rows=tally.rows, error_rows=tally.error_rows,
        errors_by_column={k: v for k, v in tally.errors.items() if v},
        seconds=round(time.perf_counter() - started, 3), output_bytes=output_path.stat().st_size,
        columns=rules.columns, input_rows=tally.input_rows,
        missing_reference_rows=tally.missing if ref_info else 0,
        dropped_rows=tally.input_rows - tally.rows, join_keys=list(resolution.join_input),
        column_types=run.types, sheets=run.sheets)


class _Run:
    """One attempt at writing the report to a file, with progress reporting."""

    def __init__(self, rules: RuleSet, resolution: Resolution, info: CsvInfo, ref_info: CsvInfo | None, fmt: str,
                 progress: Callable[[float, int], None] | None, cancel: threading.Event | None, interval: float):
        self.args = (rules, resolution, info, ref_info, fmt, cancel)
        self.info, self.fmt, self.progress, self.interval = info, fmt, progress, interval
        self.last = time.monotonic()
        self.tally: _Tally | None = None
        self.types: dict[str, str] = {}
        self.sheets = 0

    def report(self, done: bool = False) -> None:
        if self.progress is not None and (done or time.monotonic() - self.last >= self.interval):
            self.last = time.monotonic()
            rows = self.tally.input_rows
            self.progress(1.0 if done else min(0.99, rows / self.info.estimated_rows()), rows)

    def write(self, path: Path, exact_join: bool) -> None:
        plan, outputs, self.tally, self.types = _plan(*self.args, exact_join=exact_join)
        if self.fmt == "csv":
            null = '""' if len(outputs) == 1 else ""  # else an empty cell would be a blank line
            query = plan.sink_csv(path, batch_size=SINK_BATCH_ROWS, null_value=null, lazy=True) \
                .collect(background=True, engine="streaming")
            while query.fetch() is None:
                time.sleep(0.05)
                self.report()
            return
        writer = XlsxReportWriter(path, [o.name for o in outputs], [o.kind for o in outputs])
        try:
            for batch in plan.collect_batches(engine="streaming"):
                writer.write(batch)
                self.report()
        finally:
            writer.close()
        self.sheets = writer.sheets


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)


class _PlanColumns(Columns):
    """Names to the joined frame's columns (`i:x` input, `r:x` reference); each column used as a number is
    converted once, into `n:<column>` and its error flag `x:<column>`, in a stage before the outputs."""

    def __init__(self, res: Resolution, types: dict[str, str], missing: pl.Expr | None):
        self.res, self.types, self.missing = res, types, missing
        self.conversions: dict[str, None] = {}  # an ordered set

    def column(self, name: Name) -> Column:
        side, col = self.res.columns[(name.source, name.name)]
        if side == "input":
            return Column(f"i:{col}", self.types[f"input.{col}"])
        return Column(f"r:{col}", self.types[f"ref.{col}"], self.missing)

    def number(self, column: Column) -> tuple[pl.Expr, pl.Expr]:
        self.conversions[column.name] = None
        return pl.col(f"n:{column.name}"), pl.col(f"x:{column.name}")

    def convert(self, frame: pl.DataFrame | pl.LazyFrame, prefix: str) -> pl.DataFrame | pl.LazyFrame:
        """Add the conversions of the columns named `prefix...`, in steps so that each is computed once."""
        names = [name for name in self.conversions if name.startswith(prefix)]
        if not names:
            return frame
        frame = frame.with_columns(pl.col(name).str.strip_chars().alias(f"s:{name}") for name in names)
        frame = frame.with_columns(pl.col(f"s:{name}").cast(pl.Float64, strict=False).alias(f"n:{name}")
                                   for name in names)
        return frame.with_columns(conversion_error(pl.col(f"s:{name}"), pl.col(f"n:{name}")).alias(f"x:{name}")
                                  for name in names).drop(f"s:{name}" for name in names)


def _plan(rules: RuleSet, res: Resolution, info: CsvInfo, ref_info: CsvInfo | None, fmt: str,
          cancel: threading.Event | None, exact_join: bool = False
          ) -> tuple[pl.LazyFrame, list[Output], _Tally, dict[str, str]]:
    """The lazy plan: scan (all text) -> join -> number conversions -> outputs and error flags -> tally."""
    input_cols = sorted(set(res.used("input")) | set(res.join_input if ref_info else ()))
    ref_cols = res.used("ref")
    inferred = infer_types(info, [c for c in res.used("input") if ("input", c) not in res.declared])
    types = {f"input.{c}": res.declared.get(("input", c)) or inferred[c] for c in res.used("input")}
    joined = ref_info is not None
    if joined:
        reference = _reference(rules, res, ref_info, ref_cols)
        for c in ref_cols:
            types[f"ref.{c}"] = res.declared.get(("ref", c)) or column_type(reference.get_column(c))
    missing = pl.col(MATCHED).is_null() if joined and rules.on_missing_reference == "error" else None
    columns = _PlanColumns(res, types, missing)
    outputs = [compile_rule(rule, columns) for rule in rules.rules]

    lf = pl.scan_csv(info.path, schema=info.schema(), has_header=True, separator=info.separator)
    lf = lf.select([pl.col(c).alias(f"i:{c}") for c in input_cols or info.header[:1]])  # one column: row count
    if joined:
        keys = [f"k:{i}" for i in range(len(res.join_reference))]
        right = reference.select([pl.col(k).alias(n) for k, n in zip(res.join_reference, keys, strict=True)]
                                 + [pl.col(c).alias(f"r:{c}") for c in ref_cols])
        right = columns.convert(right, "r:")
        lf = _join(lf, right, [f"i:{k}" for k in res.join_input], keys, exact_join)
    lf = columns.convert(lf, "i:")

    exprs, schema = [], {}
    for i, out in enumerate(outputs):
        value, dtype = out.value, {NUMBER: pl.Float64, BOOL: pl.Boolean}.get(out.kind, pl.String)
        if fmt == "csv" and out.kind == NUMBER:  # 25, not 25.0, as in text
            value, dtype = format_number(value), pl.String
        exprs.append(value.cast(dtype).alias(f"o{i}"))
        schema[out.name] = dtype
        if out.err is not None:
            exprs.append(out.err.alias(f"e{i}"))
    if joined:
        exprs.append(pl.col(MATCHED))
    tally = _Tally(outputs, joined, rules.on_missing_reference == "drop", cancel)
    names = [e.meta.output_name() for e in exprs]
    plan = lf.with_columns(exprs).select(names).map_batches(tally, streamable=True, schema=schema)  # literals: N rows
    return plan, outputs, tally, types


def _digest(columns: list[str], seed: int) -> pl.Expr:
    return pl.struct(columns).hash(seed) if len(columns) > 1 else pl.col(columns[0]).hash(seed)


def _join(lf: pl.LazyFrame, right: pl.DataFrame, left_keys: list[str], right_keys: list[str], exact: bool
          ) -> pl.LazyFrame:
    """A left join to the reference (its keys are unique): a join finds each input row's reference row number
    ("ix:"), then every reference column is gathered by it (from one chunk: far cheaper than the join's own
    gather). MATCHED is true (a row), null (no row) or false.

    Fast: the join is on a 64-bit hash of the key, confirmed by a second, independently seeded hash; no key
    text is copied per row. False means the first hashes met and the second did not, a collision: the run
    starts over with exact=True, an ordinary join on the key text (also used when reference keys share a
    hash)."""
    rows = right.with_row_index("ix:").with_columns(_digest(right_keys, 0).alias("h:"))
    if exact or not rows.get_column("h:").is_unique().all():
        lf = lf.join(rows.select([*right_keys, "ix:"]).lazy(), left_on=left_keys, right_on=right_keys, how="left",
                     maintain_order="left")
        matched = pl.when(pl.col("ix:").is_not_null()).then(True)
    else:
        table = rows.select("h:", "ix:")
        second = rows.with_columns(_digest(right_keys, SEED).alias("h2:")).get_column("h2:").rechunk()
        lf = lf.with_columns(_digest(left_keys, 0).alias("h:"))
        lf = lf.join(table.lazy(), on="h:", how="left", maintain_order="left")
        matched = pl.lit(second).gather(pl.col("ix:")) == _digest(left_keys, SEED)
    lf = lf.with_columns(matched.alias(MATCHED))
    return lf.with_columns(pl.lit(right.get_column(c).rechunk()).gather(pl.col("ix:")).alias(c)
                           for c in right.columns if c not in right_keys)


def _reference(rules: RuleSet, res: Resolution, info: CsvInfo, columns: list[str]) -> pl.DataFrame:
    keys = list(res.join_reference)
    frame = read_reference(info, list(dict.fromkeys(keys + columns)))
    frame = frame.filter(pl.all_horizontal(pl.col(k).is_not_null() for k in keys))
    duplicated = frame.select(pl.struct(keys).is_duplicated()).to_series()
    if duplicated.any():
        if rules.on_duplicate_reference == "first":
            return frame.unique(subset=keys, keep="first", maintain_order=True)
        first = frame.filter(duplicated).row(0, named=True)
        example = ", ".join(f"{k}={first[k]!r}" for k in keys)
        raise InputError(f"the reference file has {duplicated.sum()} rows that share a join key (the first: "
                         f"{example}); make each key appear once, or set on_duplicate_reference: first",
                         file="reference")
    return frame
