"""CSV files in: header and separator sniffing, a sample for type inference, the reference table, and the
search for the line a malformed file breaks on (run only after the fast reader has failed)."""

from __future__ import annotations

import codecs
import csv
import io
import os
import time
from dataclasses import dataclass
from itertools import islice

import polars as pl
from polars.exceptions import ComputeError

from .errors import InputError
from .types import NUMBER, TEXT

BOM = b"\xef\xbb\xbf"
SEPARATORS = ",;\t|"
SAMPLE_ROWS = 10_000
SAMPLE_BYTES = 8 << 20
csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))  # polars has no field size limit; match it


@dataclass(frozen=True)
class CsvInfo:
    path: str
    label: str  # "input" or "reference", for messages
    header: list[str]
    separator: str
    size: int
    rows: list[list[str]]  # the sample: the first data rows as text
    complete: bool  # the sample is the whole file
    bytes_per_row: float

    def schema(self) -> dict[str, pl.DataType]:
        return {name: pl.String for name in self.header}

    def estimated_rows(self) -> int:
        if self.complete:
            return len(self.rows)
        return max(1, round(self.size / self.bytes_per_row))


def read_header(path: str | os.PathLike, label: str = "CSV") -> list[str]:
    """The header of a CSV file; InputError for an empty file, a bad header or malformed CSV at its start.
    `label` names the file in messages ("the input file is empty")."""
    return sniff(path, label, sample_rows=0).header


def sniff(path: str | os.PathLike, label: str = "input", sample_rows: int = SAMPLE_ROWS,
          sample_bytes: int = SAMPLE_BYTES) -> CsvInfo:
    """Read the start of a CSV file: separator, header, and up to `sample_rows` rows (at most `sample_bytes`)."""
    path = os.fspath(path)
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(sample_bytes)
    except OSError as e:
        raise InputError(f"cannot read the {label} file: {e.strerror}", file=label) from None
    complete = len(head) >= size
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"the {label} file is UTF-16; save it as UTF-8 CSV", file=label, line=1)
    body = head.removeprefix(BOM)
    if not body.strip():
        raise InputError(f"the {label} file is empty", file=label)
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(body, final=complete)
    except UnicodeDecodeError as e:
        line = body[:e.start].count(b"\n") + 1
        raise InputError(f"the {label} file is not valid UTF-8 (line {line})", file=label, line=line) from None
    first_line = text.split("\n", 1)[0]
    if not complete and "\n" not in text:
        raise InputError(f"the {label} file's header line is longer than {sample_bytes} bytes", file=label, line=1)
    separator = max(SEPARATORS, key=lambda s: (first_line.count(s), s == ","))
    buffer = io.StringIO(text, newline="")
    reader = csv.reader(buffer, delimiter=separator)
    records: list[list[str]] = []
    try:
        header = next(reader)
        _check_header(header, label)
        start = reader.line_num + 1
        for record in islice(reader, sample_rows + 1):
            if len(record) > len(header):
                raise InputError(f"malformed CSV in the {label} file at line {start}: {len(record)} fields, the "
                                 f"header has {len(header)}", file=label, line=start)
            records.append(record)
            start = reader.line_num + 1
    except csv.Error as e:
        raise InputError(f"malformed CSV in the {label} file at line {reader.line_num}: {e}", file=label,
                         line=reader.line_num) from None
    whole = complete and len(records) <= sample_rows
    if not whole:
        records = records[:-1]  # the last one may be cut short, or is one too many
    header_bytes = len(first_line.encode()) + 1
    consumed = len(text[:buffer.tell()].encode()) - header_bytes
    bytes_per_row = consumed / len(records) if records else max(1.0, size - header_bytes)
    return CsvInfo(path, label, header, separator, size, records, whole, max(bytes_per_row, 1.0))


def _check_header(header: list[str], label: str) -> None:
    if not header or header == [""]:
        raise InputError(f"the {label} file's first line (the header) is empty", file=label, line=1)
    seen: dict[str, int] = {}
    for i, name in enumerate(header, 1):
        if name in seen:
            raise InputError(f"the {label} file's header names column {name!r} twice (columns {seen[name]} and {i})",
                             file=label, line=1)
        seen[name] = i


def infer_types(info: CsvInfo, columns: list[str]) -> dict[str, str]:
    """number if every non-blank sampled value of the column is a finite number, else text."""
    index = {name: i for i, name in enumerate(info.header)}
    types = {}
    for name in columns:
        j = index[name]
        values = pl.Series([r[j] if j < len(r) else "" for r in info.rows], dtype=pl.String)
        types[name] = column_type(values)
    return types


def column_type(values: pl.Series) -> str:
    values = values.drop_nulls().str.strip_chars()
    values = values.filter(values != "")
    if values.is_empty():
        return TEXT
    numbers = values.cast(pl.Float64, strict=False)
    return NUMBER if numbers.is_finite().fill_null(False).all() else TEXT


def read_reference(info: CsvInfo, columns: list[str]) -> pl.DataFrame:
    """The needed columns of the reference file, all as text (it is small: held in memory)."""
    try:
        return (pl.scan_csv(info.path, schema=info.schema(), has_header=True, separator=info.separator)
                .select(columns).collect())
    except ComputeError as e:
        raise csv_error(info, e) from None


def csv_error(info: CsvInfo, error: Exception) -> InputError:
    """An InputError for a file polars could not read, with the line it breaks on when it can be found."""
    found = locate_problem(info.path, info.separator, len(info.header), info.label)
    if found:
        return found
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return InputError(f"malformed CSV in the {info.label} file: {first}", file=info.label)


class _BadLine(Exception):
    def __init__(self, line: int, message: str):
        self.line, self.message = line, message


def locate_problem(path: str, separator: str, width: int, label: str, time_limit: float = 120.0
                   ) -> InputError | None:
    """Scan a file with the csv module for its first malformed line: bad UTF-8, more fields than the header,
    a stray or unclosed quote. None when nothing is found (or the scan ran out of time)."""
    state = {"line": 0}
    pending: list[str] = []

    def lines():
        with open(path, "rb") as f:
            for raw in f:
                state["line"] += 1
                if state["line"] == 1:
                    raw = raw.removeprefix(BOM)
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    raise _BadLine(state["line"], f"not valid UTF-8 (byte {e.start + 1} of the line)") from None
                pending.append(text)
                yield text

    def bad(line: int, message: str) -> InputError:
        return InputError(f"malformed CSV in the {label} file at line {line}: {message}", file=label, line=line)

    deadline = time.monotonic() + time_limit
    start = 1
    try:
        for n, record in enumerate(csv.reader(lines(), delimiter=separator, strict=True)):
            raw = "".join(pending)
            pending.clear()
            if len(record) > width:
                return bad(start, f"{len(record)} fields, the header has {width}")
            if '"' in raw and (message := _quote_problem(raw, separator)):
                return bad(start, message)
            start = state["line"] + 1
            if n % 65536 == 0 and time.monotonic() > deadline:
                return None
    except _BadLine as e:
        return bad(e.line, e.message)
    except csv.Error as e:
        if "unexpected end of data" in str(e):
            return bad(start, "a quoted field is never closed (a missing closing quote)")
        return bad(start, f"bad quoting ({e})")
    return None


def _quote_problem(record: str, separator: str) -> str | None:
    """An odd number of quotes inside an unquoted field (the fast reader then loses track of the fields)."""
    i, n, field_start, quotes = 0, len(record), True, 0
    while i < n:
        ch = record[i]
        if field_start and ch == '"':
            i += 1
            while i < n and not (record[i] == '"' and record[i + 1:i + 2] != '"'):
                i += 2 if record[i] == '"' else 1
            i += 1
            field_start = False
            continue
        if ch == separator or ch in "\r\n":
            if quotes % 2:
                break
            field_start, quotes = True, 0
        else:
            quotes += ch == '"'
            field_start = False
        i += 1
    if quotes % 2:
        return 'a stray quote in an unquoted field (quote the whole field and double the quote: "a ""b""")'
    return None
