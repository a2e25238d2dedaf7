"""Compiled semantics on small frames: + as add or concatenate, conversions, cell errors, the functions."""

import json
import math

import polars as pl
import pytest

from report_api.engine import RulesError, parse_rules
from report_api.engine.compile import Column, Columns, compile_rule
from report_api.engine.csv_input import column_type


def evaluate(expr: str, data: dict[str, list], types: dict[str, str] | None = None, declared: str | None = None):
    """(values, error flags, output kind) of one rule over columns given as text."""
    spec = {"columns": {"out": {"expr": expr, "type": declared}}} if declared else {"out": expr}
    rule = parse_rules(json.dumps(spec), "json").rules[0]
    frame = pl.DataFrame(data, schema={name: pl.String for name in data}) if data else pl.DataFrame({"_": ["x"]})
    kinds = {name: (types or {}).get(name) or column_type(frame[name]) for name in data}
    out = compile_rule(rule, Columns({name: Column(name, kind) for name, kind in kinds.items()}))
    err = out.err if out.err is not None else pl.lit(False)
    result = frame.with_columns(out.value.alias("v"), err.alias("e"))
    return result["v"].to_list(), result["e"].to_list(), out.kind


def test_plus_adds_numbers():
    values, errors, kind = evaluate("a + b", {"a": ["1", "2.5", None], "b": ["2", "0.5", "3"]})
    assert (values, errors, kind) == ([3.0, 3.0, None], [False] * 3, "number")


def test_plus_concatenates_when_a_side_is_text():
    data = {"first": ["a", "b", None, None], "n": ["1", "2.50", "3", None]}
    values, errors, kind = evaluate("first + n", data)
    assert kind == "text" and values == ["a1", "b2.50", "3", None]  # a number column keeps its text
    assert evaluate("first + ' ' + n * 2", data)[0] == ["a 2", "b 5", " 6", " "]
    assert evaluate("n + 'x'", data)[0] == ["1x", "2.50x", "3x", "x"]


def test_declared_types_decide_plus():
    data = {"zip": ["1000", "2000"], "plus4": ["0001", "0002"]}
    assert evaluate("zip + plus4", data)[0] == [1001.0, 2002.0]
    assert evaluate("zip + plus4", data, types={"zip": "text"})[0] == ["10000001", "20000002"]


def test_numeric_strings_in_numeric_positions_are_converted():
    data = {"t": ["3", " 4 ", "abc", "", None, "1e3", "inf"]}
    values, errors, _ = evaluate("t * 2", data)
    assert values[:2] == [6.0, 8.0] and values[2:5] == [None, None, None] and values[5] == 2000.0
    assert errors == [False, False, True, False, False, False, True]


def test_a_bad_cell_in_a_number_column_is_an_error_only_where_used_as_a_number():
    data = {"n": ["1", "x", None]}
    values, errors, kind = evaluate("n + 1", data, types={"n": "number"})
    assert (values, errors) == ([2.0, None, None], [False, True, False])
    values, errors, kind = evaluate("n", data, types={"n": "number"})
    assert (values, errors, kind) == (["1", "x", None], [False, False, False], "number_text")
    assert evaluate("upper(n)", data, types={"n": "number"})[1] == [False, False, False]


def test_division_and_remainder_by_zero_are_errors():
    data = {"a": ["1", "1", "1", "-5.5"], "b": ["2", "0", None, "2"]}
    values, errors, _ = evaluate("a / b", data)
    assert values == [0.5, None, None, -2.75] and errors == [False, True, False, False]
    values, errors, _ = evaluate("a % b", data)
    assert values == [1.0, None, None, 0.5] and errors == [False, True, False, False]  # sign of the divisor


def test_if_counts_errors_only_in_the_branch_taken():
    data = {"a": ["1", "1", "1"], "b": ["2", "0", None]}
    values, errors, _ = evaluate("if(b != 0, a / b, 0)", data)
    assert values == [0.5, 0.0, None] and errors == [False] * 3
    values, errors, _ = evaluate("if(b = 0, a / b)", data)
    assert values == [None, None, None] and errors == [False, True, False]


def test_if_with_an_unknown_condition_takes_the_else_branch():
    values, _, kind = evaluate("if(x > 5, 'big', 'small')", {"x": ["9", "1", None]})
    assert (values, kind) == (["big", "small", "small"], "text")
    assert evaluate("if(x > 5, x, 'small')", {"x": ["9", "1"]})[0] == ["9", "small"]


def test_coalesce():
    data = {"a": ["x", None, None], "b": ["y", "z", None]}
    assert evaluate("coalesce(a, b, 'none')", data)[0] == ["x", "z", "none"]
    values, errors, kind = evaluate("coalesce(number(t), 0)", {"t": ["5", "abc", None]})
    assert (values, errors, kind) == ([5.0, None, 0.0], [False, True, False], "number")
    # an argument coalesce never reaches does not count
    values, errors, _ = evaluate("coalesce(a, number(t))", {"a": ["1", None], "t": ["abc", "abc"]})
    assert values == [1.0, None] and errors == [False, True]


def test_round_abs_max_min():
    data = {"a": ["2.25", "-2.25", "2.5", "-2.5", None], "b": ["1", "9", None, None, None]}
    assert evaluate("round(a, 1)", data)[0] == [2.3, -2.3, 2.5, -2.5, None]
    assert evaluate("round(a)", data)[0] == [2.0, -2.0, 3.0, -3.0, None]
    assert evaluate("abs(a)", data)[0] == [2.25, 2.25, 2.5, 2.5, None]
    assert evaluate("max(a, b)", data)[0] == [2.25, 9.0, 2.5, -2.5, None]
    assert evaluate("min(a, b, 0)", data)[0] == [0.0, -2.25, 0.0, -2.5, 0.0]


def test_text_functions():
    data = {"s": [" Ab c ", None], "n": ["2", "3.5"]}
    assert evaluate("upper(s)", data)[0] == [" AB C ", None]
    assert evaluate("lower(s)", data)[0] == [" ab c ", None]
    assert evaluate("trim(s)", data)[0] == ["Ab c", None]
    assert evaluate("length(s)", data)[0] == [6.0, None]
    assert evaluate("concat(s, '-', n * 2, null)", data)[0] == [" Ab c -4", "-7"]
    assert evaluate("text(n * 2)", data)[0] == ["4", "7"]
    assert evaluate("text(0.1 + 0.2)", data)[0] == ["0.30000000000000004"] * 2
    assert evaluate("number('12.5') + 1", data)[0] == [13.5, 13.5]


def test_comparisons_numeric_or_text():
    data = {"code": ["10", "9"], "name": ["b", "a"]}
    assert evaluate("code > 9", data)[0] == [True, False]  # numeric: 10 > 9
    assert evaluate("code > '9'", data)[0] == [True, False]  # '9' is a number too
    assert evaluate("code = 'A1'", data)[0] == [False, False]  # text comparison, no conversion errors
    assert evaluate("code > '9'", data, types={"code": "text"})[0] == [False, False]  # text: '10' < '9'
    assert evaluate("name < 'b'", data)[0] == [False, True]
    values, errors, kind = evaluate("t >= 2", {"t": ["3", "x"]})
    assert (values, errors, kind) == ([True, None], [False, True], "bool")


def test_null_comparisons_test_for_empty_cells():
    data = {"x": ["1", None, ""], "y": ["1", None, None]}
    assert evaluate("x = null", data)[0] == [False, True, False]
    assert evaluate("null != x", data)[0] == [True, False, True]
    text = {"x": "text", "y": "text"}
    assert evaluate("x = y", data, types=text)[0] == [True, True, False]  # two empty cells are equal
    assert evaluate("x = y", data)[0] == [True, True, True]  # as numbers, a blank cell is empty too
    assert evaluate("x < y", {"x": ["1", None], "y": ["2", "2"]})[0] == [True, None]


def test_boolean_logic_is_three_valued():
    data = {"a": ["1", "1", None], "b": ["1", "0", "1"]}
    assert evaluate("a = 1 and b = 1", data)[0] == [True, False, False]
    assert evaluate("a > 0 or b > 0", data)[0] == [True, True, True]
    assert evaluate("not (a > 0)", data)[0] == [False, False, None]


def test_declared_output_types_convert_the_result():
    data = {"n": ["2", "3"], "t": ["4", "x"]}
    assert evaluate("n * 2", data, declared="text")[0] == ["4", "6"]
    values, errors, kind = evaluate("t", data, declared="number")
    assert (values, errors, kind) == ([4.0, None], [False, True], "number")


def test_non_finite_results_are_errors():
    values, errors, _ = evaluate("a * 1e308 * 10", {"a": ["1", "0"]})
    assert values == [None, 0.0] and errors == [True, False]


def test_literals_and_unary():
    data = {"a": ["2", None]}
    assert evaluate("'x'", data)[0] == ["x", "x"]
    assert evaluate("null", data)[0:2] == ([None, None], [False, False])
    assert evaluate("-a + +a", data)[0] == [0.0, None]
    assert evaluate("true", data)[0] == [True, True]
    assert math.isclose(evaluate("1 / 3", data)[0][0], 1 / 3)


def test_errors_in_unused_operands_still_propagate_through_max_and_concat():
    values, errors, _ = evaluate("max(a, 5)", {"a": ["x", "1"]})
    assert values == [None, 5.0] and errors == [True, False]
    values, errors, _ = evaluate("concat(a, '!')", {"a": ["x", "1"]}, types={"a": "number"})
    assert values == ["x!", "1!"] and errors == [False, False]  # as text, a number column is its text


@pytest.mark.parametrize("expr", ["if(a, 1, 2)", "a + (b > 1)", "not a", "max(a > 1)", "coalesce(a > 1, 2)"])
def test_conditions_and_values_do_not_mix(expr):
    with pytest.raises(RulesError):
        parse_rules(json.dumps({"out": expr}), "json")
