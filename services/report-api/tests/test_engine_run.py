"""generate(): files in, a report out; joins, missing-reference policies, bad files, XLSX, progress, cancel."""

import csv
import json
import re
import threading
import zipfile

import polars as pl
import pytest

from report_api.engine import GenerationCancelled, InputError, ReportSummary, generate, parse_rules, read_header
from report_api.engine import run as run_module
from report_api.engine.csv_input import locate_problem
from report_api.engine.xlsx import XlsxReportWriter

INPUT = """field1,field2,field3,field4,field5,refkey1,refkey2
a,b,10,x,1.5,K1,R1
c,d,N/A,y,2,K2,R2
e,f,3,z,,K9,R9
"""
REFERENCE = """refkey1,refdata1,refkey2,refdata2,refdata3,refdata4
K1,one,R1,p,q,2.5
K2,two,R2,r,s,0.5
"""
NATWEST = {"outfield1": "field1 + field2", "outfield2": "refdata1", "outfield3": "refdata2 + refdata3",
           "outfield4": "field3 * max(field5, refdata4)", "outfield5": "max(field5, refdata4)"}


def write(tmp_path, name: str, content: str | bytes):
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def run(tmp_path, rules, input_text=INPUT, reference_text: str | None = REFERENCE, fmt="csv", **options):
    rules = rules if not isinstance(rules, dict) else parse_rules(json.dumps(rules), "json")
    input_path = write(tmp_path, "input.csv", input_text)
    reference = write(tmp_path, "reference.csv", reference_text) if reference_text is not None else None
    output = tmp_path / f"report.{fmt}"
    summary = generate(rules, input_path, reference, output, fmt=fmt, **options)
    return summary, output


def read_rows(path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_natwest_example(tmp_path):
    summary, output = run(tmp_path, NATWEST)
    assert read_rows(output) == [
        ["outfield1", "outfield2", "outfield3", "outfield4", "outfield5"],
        ["ab", "one", "pq", "25", "2.5"],
        ["cd", "two", "rs", "", "2"],  # field3 'N/A' is not a number: an error cell
        ["ef", "", "", "", ""],  # no reference row: empty reference values
    ]
    assert isinstance(summary, ReportSummary)
    assert (summary.rows, summary.error_rows, summary.errors_by_column) == (3, 1, {"outfield4": 1})
    assert summary.columns == list(NATWEST) and summary.join_keys == ["refkey1", "refkey2"]
    assert summary.missing_reference_rows == 1 and summary.dropped_rows == 0
    assert summary.output_bytes == output.stat().st_size and summary.seconds > 0
    assert summary.column_types["input.field3"] == "text" and summary.column_types["ref.refdata4"] == "number"


def test_join_on_explicit_keys_with_other_names(tmp_path):
    rules = {"columns": {"id": "id", "region": "region", "rate": "qty * rate"},
             "join": {"input": ["cust", "site"], "reference": ["customer_id", "site_id"]}}
    input_text = "id,cust,site,qty\n1,c1,s1,2\n2,c1,s2,3\n3,c2,s1,4\n4,c2,,5\n"
    reference = "customer_id,site_id,region,rate\nc1,s1,North,1.5\nc1,s2,South,2\nc2,s2,East,3\n"
    summary, output = run(tmp_path, rules, input_text, reference)
    assert read_rows(output)[1:] == [["1", "North", "3"], ["2", "South", "6"], ["3", "", ""], ["4", "", ""]]
    assert summary.missing_reference_rows == 2 and summary.join_keys == ["cust", "site"]


def test_join_keys_are_compared_as_text_exactly(tmp_path):
    rules = {"columns": {"v": "v"}, "join": "k"}
    summary, output = run(tmp_path, rules, "k\n1\n1.0\n01\n", "k,v\n1,one\n01,zero-one\n")
    assert read_rows(output)[1:] == [["one"], [""], ["zero-one"]]


def test_multi_key_join_with_the_separator_in_the_data(tmp_path):
    rules = {"columns": {"v": "v"}, "join": ["a", "b"]}
    summary, output = run(tmp_path, rules, "a,b\nx\x1fy,z\nx,y\x1fz\n", "a,b,v\nx\x1fy,z,first\nx,y\x1fz,second\n")
    assert read_rows(output)[1:] == [["first"], ["second"]]


@pytest.mark.parametrize(("digest", "attempts"), [
    (lambda columns, seed: pl.lit(7, pl.UInt64), [False]),  # reference keys share a hash: exact from the start
    (lambda columns, seed: pl.col(columns[0]).hash() if seed == 0 else pl.struct(columns).hash(seed),
     [False, True]),  # an input key's first hash collides, the second does not: the run starts over
])
def test_hash_collisions_fall_back_to_an_exact_join(tmp_path, monkeypatch, digest, attempts):
    monkeypatch.setattr(run_module, "_digest", digest)
    exact = []
    join = run_module._join
    monkeypatch.setattr(run_module, "_join", lambda *args: exact.append(args[-1]) or join(*args))
    rules = {"columns": {"a": "a", "b": "b", "v": "v"}, "join": ["a", "b"]}
    summary, output = run(tmp_path, rules, "a,b\nx,1\nx,2\ny,1\nz,1\n", "a,b,v\nx,1,p\ny,2,q\n")
    assert read_rows(output)[1:] == [["x", "1", "p"], ["x", "2", ""], ["y", "1", ""], ["z", "1", ""]]
    assert summary.missing_reference_rows == 3 and summary.rows == 4 and exact == attempts
    assert sorted(p.name for p in tmp_path.iterdir()) == ["input.csv", "reference.csv", "report.csv"]


def test_reference_only_when_the_input_lacks_the_name(tmp_path):
    rules = {"columns": {"a": "name", "b": "ref.name", "c": "input.name + '/' + ref.name", "d": "extra"},
             "join": "k"}  # by default the join would be on both shared columns, k and name
    summary, output = run(tmp_path, rules, "k,name\n1,in\n", "k,name,extra\n1,out,more\n")
    assert read_rows(output)[1] == ["in", "out", "in/out", "more"]


@pytest.mark.parametrize(("policy", "rows", "errors", "dropped"), [
    ("null", [["ab", "one", "25"], ["cd", "two", ""], ["ef", "", ""]], {"outfield4": 1}, 0),
    ("error", [["ab", "one", "25"], ["cd", "two", ""], ["ef", "", ""]], {"outfield2": 1, "outfield4": 2}, 0),
    ("drop", [["ab", "one", "25"], ["cd", "two", ""]], {"outfield4": 1}, 1),
])
def test_missing_reference_policies(tmp_path, policy, rows, errors, dropped):
    rules = {"columns": {k: NATWEST[k] for k in ("outfield1", "outfield2", "outfield4")},
             "on_missing_reference": policy}
    summary, output = run(tmp_path, rules)
    assert read_rows(output)[1:] == rows
    assert summary.errors_by_column == errors and summary.dropped_rows == dropped
    assert summary.missing_reference_rows == 1 and summary.input_rows == 3 and summary.rows == 3 - dropped
    assert summary.error_rows == (2 if policy == "error" else 1)


def test_duplicate_reference_keys(tmp_path):
    reference = REFERENCE + "K1,uno,R1,p,q,9\n"
    message = r"2 rows that share a join key \(the first: refkey1='K1', refkey2='R1'\)"
    with pytest.raises(InputError, match=message) as caught:
        run(tmp_path, NATWEST, reference_text=reference)
    assert caught.value.file == "reference"
    assert not (tmp_path / "report.csv").exists()
    summary, output = run(tmp_path, {"columns": NATWEST, "on_duplicate_reference": "first"}, reference_text=reference)
    assert read_rows(output)[1][1] == "one" and summary.rows == 3


def test_header_problems_raise_input_error_with_problems(tmp_path):
    with pytest.raises(InputError) as caught:
        run(tmp_path, {"a": "field1 + fieldX", "b": "refdata1"}, reference_text="refkey1,refdata1\nK1,x\n")
    problems = caught.value.problems
    assert [p["column"] for p in problems] == ["fieldX"]
    with pytest.raises(InputError) as caught:
        run(tmp_path, {"columns": {"a": "refdata1"}, "join": ["refkey1", "refkey2"]},
            reference_text="refkey1,refdata1\nK1,x\n")
    assert "join key 'refkey2' is not a column of the reference file" in caught.value.problems[0]["message"]


def test_reference_columns_without_a_reference_file(tmp_path):
    with pytest.raises(InputError) as caught:
        run(tmp_path, NATWEST, reference_text=None)
    assert {p["column"] for p in caught.value.problems} == {"refdata1", "refdata2", "refdata3", "refdata4"}
    summary, output = run(tmp_path, {"a": "field1"}, reference_text=None)
    assert summary.rows == 3 and summary.missing_reference_rows == 0 and summary.join_keys == []


@pytest.mark.parametrize("content", ["", "\n\n", "\ufeff", "   \r\n"])
def test_empty_files(tmp_path, content):
    with pytest.raises(InputError, match="the input file is empty") as caught:
        run(tmp_path, {"a": "x"}, input_text=content, reference_text=None)
    assert caught.value.file == "input"
    with pytest.raises(InputError, match="the reference file is empty"):
        run(tmp_path, NATWEST, reference_text=content)
    path = write(tmp_path, "e.csv", content)
    with pytest.raises(InputError, match="the CSV file is empty"):
        read_header(path)
    with pytest.raises(InputError, match="the reference file is empty"):
        read_header(path, "reference")


def test_header_only_input_gives_a_header_only_report(tmp_path):
    summary, output = run(tmp_path, NATWEST, input_text=INPUT.splitlines()[0] + "\n")
    assert read_rows(output) == [list(NATWEST)] and summary.rows == 0


def test_read_header_bom_separator_and_duplicates(tmp_path):
    assert read_header(write(tmp_path, "a.csv", "\ufeffa;b;\"c;d\"\r\n1;2;3\r\n")) == ["a", "b", "c;d"]
    assert read_header(write(tmp_path, "b.csv", "a\tb\n")) == ["a", "b"]
    with pytest.raises(InputError, match="names column 'a' twice"):
        read_header(write(tmp_path, "c.csv", "a,b,a\n"))
    with pytest.raises(InputError, match="UTF-16"):
        read_header(write(tmp_path, "d.csv", "a,b\n".encode("utf-16")))


def test_semicolons_crlf_bom_quotes_and_newlines_in_fields(tmp_path):
    input_text = '\ufeffname;note;qty\r\n"Smith; J";"line one\r\nline ""two""";2\r\nLee;plain;3\r\n'
    summary, output = run(tmp_path, {"who": "name", "note": "upper(note)", "twice": "qty * 2"}, input_text, None)
    assert read_rows(output) == [["who", "note", "twice"], ["Smith; J", 'LINE ONE\r\nLINE "TWO"', "4"],
                                 ["Lee", "PLAIN", "6"]]


def test_constant_rules_give_one_row_per_input_row(tmp_path):
    summary, output = run(tmp_path, {"k": "'x'", "n": "1 + 1"}, reference_text=None)
    assert read_rows(output)[1:] == [["x", "2"]] * 3


def many_rows(count: int, bad_line: str | None = None) -> str:
    lines = ["a,b"] + [f"{i},{i * 2}" for i in range(count)]
    if bad_line is not None:
        lines.append(bad_line)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("count", "bad", "line", "fragment"), [
    (5, "1,2,3", 7, "3 fields, the header has 2"),
    (12_000, "1,2,3", 12_002, "3 fields, the header has 2"),  # after the sample: found by the locator
    (12_000, '1,"2', 12_002, "never closed"),
    (12_000, '1,2"x', 12_002, "stray quote"),
])
def test_malformed_csv_names_the_line(tmp_path, count, bad, line, fragment):
    with pytest.raises(InputError) as caught:
        run(tmp_path, {"s": "a + b"}, many_rows(count, bad), None)
    assert caught.value.line == line and fragment in str(caught.value)
    assert f"at line {line}" in str(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["input.csv"]  # nothing half-written


def test_invalid_utf8_names_the_line(tmp_path):
    content = many_rows(12_000).encode() + b"7,\xff\xfe\n"
    with pytest.raises(InputError, match=r"not valid UTF-8 \(line 12002\)") as caught:
        run(tmp_path, {"s": "a + b"}, content, None)
    assert caught.value.line == 12_002
    found = locate_problem(str(write(tmp_path, "bad.csv", content)), ",", 2, "input")  # beyond the first 8 MiB
    assert found.line == 12_002 and "at line 12002: not valid UTF-8" in str(found)
    with pytest.raises(InputError, match=r"not valid UTF-8 \(line 3\)"):
        run(tmp_path, {"s": "a + b"}, b"a,b\n1,2\n3,\xff\n", None)


def test_quotes_inside_unquoted_fields_are_text(tmp_path):
    summary, output = run(tmp_path, {"b": "b"}, 'a,b\n1,2"x"\n', None)
    assert read_rows(output)[1:] == [['2"x"']]


def test_a_single_column_report_keeps_empty_rows(tmp_path):
    summary, output = run(tmp_path, {"v": "v"}, "v\n1\n\n3\n", None)
    assert output.read_text() == 'v\n1\n""\n3\n' and read_rows(output)[1:] == [["1"], [""], ["3"]]


def test_short_rows_are_padded_with_empty_cells(tmp_path):
    summary, output = run(tmp_path, {"a": "a", "b": "b"}, "a,b\n1\n2,3\n", None)
    assert read_rows(output)[1:] == [["1", ""], ["2", "3"]]


def test_a_failed_run_keeps_the_previous_output(tmp_path):
    previous = write(tmp_path, "report.csv", "old report\n")
    with pytest.raises(InputError):
        run(tmp_path, {"s": "a + b"}, many_rows(12_000, "1,2,3"), None)
    assert previous.read_text() == "old report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["input.csv", "report.csv"]


def test_progress_is_reported_from_zero_to_one(tmp_path):
    calls = []
    summary, _ = run(tmp_path, {"s": "a + b"}, many_rows(50_000), None,
                     progress=lambda fraction, rows: calls.append((fraction, rows)), progress_interval=0)
    assert calls[0] == (0.0, 0) and calls[-1] == (1.0, 50_000)
    fractions = [f for f, _ in calls]
    assert fractions == sorted(fractions) and all(0 <= f <= 1 for f in fractions)
    assert all(abs(f - rows / 50_000) < 0.2 for f, rows in calls[1:-1])  # estimated from the file size


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_cancel_leaves_nothing(tmp_path, fmt):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(GenerationCancelled):
        run(tmp_path, {"s": "a + b"}, many_rows(1000), None, fmt=fmt, cancel=cancel)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["input.csv"]


def test_cancel_during_a_run(tmp_path):
    cancel = threading.Event()

    def progress(fraction, rows):
        if rows:
            cancel.set()

    with pytest.raises(GenerationCancelled):
        run(tmp_path, {"s": "a + b"}, many_rows(300_000), None, cancel=cancel, progress=progress,
            progress_interval=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["input.csv"]


def sheet_cells(path, sheet: int = 1) -> list[list[tuple[str, str]]]:
    """Rows of (type, value) per cell from an XLSX sheet's XML: t="n" numbers, "s" inline text, "b" booleans."""
    with zipfile.ZipFile(path) as archive:
        xml = archive.read(f"xl/worksheets/sheet{sheet}.xml").decode()
    rows = []
    for row in re.findall(r"<row [^>]*>(.*?)</row>", xml):
        cells = []
        for attrs, body in re.findall(r"<c ([^>]*?)(?:/>|>(.*?)</c>)", row):
            kind = re.search(r't="(\w+)"', attrs)
            value = re.search(r"<(?:v|t)(?: [^>]*)?>(.*?)</(?:v|t)>", body or "")
            cells.append(({"inlineStr": "s", "b": "b"}.get(kind.group(1) if kind else "", "n"),
                          value.group(1) if value else ""))
        rows.append(cells)
    return rows


def test_xlsx_output_has_numbers_as_numbers(tmp_path):
    rules = {"name": "field1 + field2", "total": "field3 * max(field5, refdata4)", "raw5": "field5",
             "big": "field5 > 1", "formula": "'=1+1'"}
    summary, output = run(tmp_path, rules, fmt="xlsx")
    assert summary.sheets == 1 and summary.rows == 3 and summary.error_rows == 1
    rows = sheet_cells(output)
    assert rows[0] == [("s", name) for name in rules]
    assert rows[1] == [("s", "ab"), ("n", "25"), ("n", "1.5"), ("b", "1"), ("s", "=1+1")]
    assert rows[2] == [("s", "cd"), ("n", "2"), ("b", "1"), ("s", "=1+1")]  # the error cell is left out
    assert rows[3] == [("s", "ef"), ("s", "=1+1")]  # field5 is empty: so are total, raw5 and big


def test_xlsx_continues_on_further_sheets(tmp_path):
    import polars as pl

    writer = XlsxReportWriter(tmp_path / "r.xlsx", ["n", "t"], ["number", "text"], max_rows=4)
    writer.write(pl.DataFrame({"n": [1.0, 2.0], "t": ["a", None]}))
    writer.write(pl.DataFrame({"n": [3.0, 4.0, 5.0, 6.0, 7.0], "t": list("bcdef")}))
    writer.close()
    assert writer.sheets == 3
    assert [len(sheet_cells(tmp_path / "r.xlsx", i)) for i in (1, 2, 3)] == [4, 4, 2]  # 3 rows + the header
    assert sheet_cells(tmp_path / "r.xlsx", 2)[0] == [("s", "n"), ("s", "t")]
    assert sheet_cells(tmp_path / "r.xlsx", 3)[1] == [("n", "7"), ("s", "f")]
    with zipfile.ZipFile(tmp_path / "r.xlsx") as archive:
        workbook = archive.read("xl/workbook.xml").decode()
    assert 'name="Report"' in workbook and 'name="Report (3)"' in workbook


def test_unknown_output_format(tmp_path):
    with pytest.raises(ValueError, match="unknown output format"):
        run(tmp_path, {"a": "field1"}, fmt="ods")
