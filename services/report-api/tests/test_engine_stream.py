"""A 200,000-row file through the streaming plan, checked cell by cell against a plain-Python computation
of the same rules (csv module, floats, dicts): quoting, embedded newlines, bad numbers, zero divisors,
empty cells and missing reference rows included."""

import csv
import json
import math

import numpy as np

from report_api.engine import generate, parse_rules

ROWS = 200_000
RULES = {
    "name": "first + ' ' + last",
    "total": "qty * price",
    "region": "region",
    "weighted": "qty * max(price, rate)",
    "ratio": "round(price / qty, 2)",
    "band": "if(qty >= 50, 'high', 'low')",
    "note": "upper(note)",
    "code": "coalesce(code, 'none')",
    "label": "code + weight",
    "double": "weight * 2",
}
NOTES = ["plain", "with, comma", 'say "hi"', "two\nlines", "café", "", "crlf\r\ninside"]


def make_files(tmp_path):
    rng = np.random.default_rng(7)

    def pick(values, weights=None):
        return np.array(values, dtype=object)[rng.choice(len(values), ROWS, p=weights)]

    r = rng.random(ROWS)
    qty = np.where(r < 0.02, "", np.where(r < 0.03, "x", rng.integers(0, 100, ROWS).astype(str))).astype(object)
    r = rng.random(ROWS)
    cents = rng.integers(0, 100_000, ROWS) / 100
    price = np.where(r < 0.02, "", np.where(r < 0.03, "n/a", cents.astype(str))).astype(object)
    price[(r >= 0.03) & (r < 0.035)] = [f" {v} " for v in cents[(r >= 0.03) & (r < 0.035)]]  # spaces around
    code = np.where(rng.random(ROWS) < 0.02, "", np.char.add("C", rng.integers(0, 1051, ROWS).astype(str)))
    columns = [range(ROWS), pick(["Ann", "Bo", "Cy", ""]), pick(["Lee", "Kim", ""]), qty, price, pick(NOTES),
               code.astype(object), pick(["1", "2.5", "10", ""])]
    with open(tmp_path / "input.csv", "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["id", "first", "last", "qty", "price", "note", "code", "weight"])
        out.writerows(zip(*columns, strict=True))
    with open(tmp_path / "reference.csv", "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["code", "region", "rate"])
        out.writerows((f"C{i}", ["North", "South", ""][i % 3], (i * 37 % 10_000) / 100) for i in range(1000))


ERROR = object()  # a cell with an error


def number(text):
    """A cell as a number: None when blank, ERROR when not a finite number."""
    if not text or not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        return ERROR
    return value if math.isfinite(value) else ERROR


def times(a, b):
    if a is ERROR or b is ERROR:
        return ERROR
    return None if a is None or b is None else a * b


def half_away(value, digits):
    scaled = abs(value) * 10 ** digits
    return math.copysign(math.floor(scaled + 0.5) / 10 ** digits, value)


def expected_row(row, reference):
    """The rules by hand, in plain Python, in the order of RULES."""
    _, first, last, qty_text, price_text, note, code, weight = row
    ref = reference.get(code, ())
    rate = number(ref[2]) if ref else None
    qty, price = number(qty_text), number(price_text)
    if ERROR in (qty, price):
        ratio = ERROR
    elif qty == 0:
        ratio = ERROR  # division by zero, even when the price is empty
    else:
        ratio = None if qty is None or price is None else half_away(price / qty, 2)
    top = ERROR if price is ERROR else max((v for v in (price, rate) if v is not None), default=None)
    return (
        f"{first} {last}",
        times(qty, price),
        ref[1] if ref else None,
        times(qty, top),
        ratio,
        ERROR if qty is ERROR else "high" if qty is not None and qty >= 50 else "low",
        note.upper(),
        code or "none",
        None if not code and not weight else code + weight,
        times(number(weight), 2.0),
    )


def test_streamed_report_matches_plain_python(tmp_path):
    make_files(tmp_path)
    rules = parse_rules(json.dumps(RULES), "json")
    summary = generate(rules, tmp_path / "input.csv", tmp_path / "reference.csv", tmp_path / "out.csv")
    with open(tmp_path / "reference.csv", newline="") as f:
        reference = {r[0]: r for r in csv.reader(f)}
    with open(tmp_path / "input.csv", newline="", encoding="utf-8") as f_in, \
            open(tmp_path / "out.csv", newline="", encoding="utf-8") as f_out:
        inputs, outputs = csv.reader(f_in), csv.reader(f_out)
        next(inputs)
        assert next(outputs) == list(RULES)
        errors = [0] * len(RULES)
        error_rows = missing = count = 0
        for count, (row, got) in enumerate(zip(inputs, outputs, strict=True), 1):
            want = expected_row(row, reference)
            missing += row[6] not in reference
            error_rows += ERROR in want
            for i, (value, cell) in enumerate(zip(want, got, strict=True)):
                if value is ERROR:
                    errors[i] += 1
                    assert cell == "", (count, i, row)
                elif isinstance(value, float):
                    assert cell != "" and float(cell) == value and not cell.endswith(".0"), (count, i, cell, row)
                else:
                    assert cell == (value or ""), (count, i, cell, value, row)
    errors = dict(zip(RULES, errors, strict=True))
    assert count == ROWS == summary.rows == summary.input_rows
    assert summary.error_rows == error_rows
    assert summary.errors_by_column == {k: v for k, v in errors.items() if v}
    assert summary.missing_reference_rows == missing
    assert errors["total"] > 1000 and errors["ratio"] > 1000 and missing > 5000  # the data has all of these
