"""Rules files: JSON and YAML, common and extended forms, validation problems, header checks."""

import json

import pytest

from report_api.engine import RulesError, RuleSet, parse_rules

NATWEST = {"outfield1": "field1 + field2", "outfield2": "refdata1", "outfield3": "refdata2 + refdata3",
           "outfield4": "field3 * max(field5, refdata4)", "outfield5": "max(field5, refdata4)"}
INPUT = ["field1", "field2", "field3", "field4", "field5", "refkey1", "refkey2"]
REFERENCE = ["refkey1", "refdata1", "refkey2", "refdata2", "refdata3", "refdata4"]


def problems_of(text, fmt="json") -> list[dict]:
    with pytest.raises(RulesError) as caught:
        parse_rules(text, fmt)
    return caught.value.problems


def test_common_form_json_and_yaml_agree():
    from_json = parse_rules(json.dumps(NATWEST), "json")
    yaml_text = "\n".join(f"{k}: {v}" for k, v in NATWEST.items())
    from_yaml = parse_rules(yaml_text.encode(), "YAML")
    assert isinstance(from_json, RuleSet)
    assert from_json.columns == list(NATWEST) == from_yaml.columns
    assert [r.expr for r in from_json.rules] == [r.expr for r in from_yaml.rules]
    assert from_json.on_missing_reference == "null" and from_json.join_input is None


def test_needed_columns():
    rules = parse_rules(json.dumps({"a": "input.x + ref.y", "b": "z", "c": "`odd col`"}), "json")
    assert rules.input_columns_needed() == {"x"}
    assert rules.reference_columns_needed() == {"y"}
    assert rules.unqualified_names() == {"z", "odd col"}


def test_extended_form():
    text = """
columns:
  total: {expr: "qty * price", type: text}
  region: region
  code: 5
types:
  qty: number
  ref.rate: number
  "odd col": text
join:
  input: [cust, site]
  reference: [customer_id, site_id]
on_missing_reference: drop
on_duplicate_reference: first
"""
    rules = parse_rules(text, "yaml")
    assert rules.columns == ["total", "region", "code"]
    assert rules.rules[0].type == "text"
    assert rules.rules[2].expr.value == 5.0
    assert [(t.name, t.source, t.type) for t in rules.types] == [
        ("qty", None, "number"), ("rate", "ref", "number"), ("odd col", None, "text")]
    assert rules.join_input == ("cust", "site") and rules.join_reference == ("customer_id", "site_id")
    assert rules.on_missing_reference == "drop" and rules.on_duplicate_reference == "first"
    assert rules.input_columns_needed() == {"cust", "site"}
    assert rules.reference_columns_needed() == {"customer_id", "site_id"}


def test_extended_form_as_a_list_and_join_shorthands():
    rules = parse_rules(json.dumps({"columns": [{"name": "b", "expr": "x"}, {"name": "a", "expr": "y"}],
                                    "join": "id"}), "json")
    assert rules.columns == ["b", "a"]
    assert rules.join_input == ("id",) == rules.join_reference
    rules = parse_rules(json.dumps({"columns": {"a": "x"}, "join": ["k1", "k2"]}), "json")
    assert rules.join_input == ("k1", "k2") == rules.join_reference


def test_a_rule_named_columns_is_still_the_common_form():
    rules = parse_rules(json.dumps({"columns": "a + b", "other": "c"}), "json")
    assert rules.columns == ["columns", "other"]


def test_every_problem_is_reported_with_rule_and_position():
    problems = problems_of(json.dumps({"a": "field1 +", "b": "maxx(field2)", "c": "ok", "d": "if(x, 1, 2)",
                                       "e": "'abc' * 2", "f": "round(x, y)", "g": "x < null"}))
    by_rule = {p["rule"]: p for p in problems}
    assert set(by_rule) == {"a", "b", "d", "e", "f", "g"}
    assert by_rule["a"]["position"] == 9 and "end of expression" in by_rule["a"]["message"]
    assert by_rule["b"]["position"] == 1 and "unknown function 'maxx'" in by_rule["b"]["message"]
    assert "condition" in by_rule["d"]["message"] and by_rule["d"]["position"] == 4
    assert "'abc' is not one" in by_rule["e"]["message"]
    assert "digits" in by_rule["f"]["message"]
    assert "null can only be compared" in by_rule["g"]["message"]


def test_rules_error_reads_well():
    with pytest.raises(RulesError) as caught:
        parse_rules('{"out": "a + foo(b)"}', "json")
    assert str(caught.value).startswith("rule 'out', position 5: unknown function 'foo'")


@pytest.mark.parametrize(("text", "fmt", "fragment"), [
    ('{"a": "x",\n "b": }', "json", "invalid JSON at line 2 column 7"),
    ('{"a": "x", "a": "y"}', "json", "duplicate key: 'a' is given twice"),
    ("a: x\na: y\n", "yaml", "duplicate key 'a'"),
    ("a: [x\n", "yaml", "invalid YAML at line"),
    ("[1, 2]", "json", "must be a mapping"),
    ("{}", "json", "no output columns"),
    ('{"a": null}', "json", "expected an expression"),
    ('{"a": true}', "json", "expected an expression"),
    ('{"a": ["x"]}', "json", "expected an expression"),
    ("1: x", "yaml", "must be non-empty text"),
    ('{"a": "x"}', "xml", "unknown rules format"),
    (b'{"a": "\xff"}', "json", "not valid UTF-8"),
    ('{"columns": {"a": "x"}, "extra": 1}', "json", "unknown key 'extra'"),
    ('{"columns": {"a": {"expr": "x", "typ": "text"}}}', "json", "unknown key(s) 'typ'"),
    ('{"columns": {"a": {"expr": "x", "type": "date"}}}', "json", "type must be number or text"),
    ('{"columns": {"a": "x"}, "types": {"x": "int"}}', "json", "must be number or text"),
    ('{"columns": {"a": "x"}, "types": ["x"]}', "json", "types must be a mapping"),
    ('{"columns": {"a": "x"}, "join": {"input": ["a"], "reference": ["b", "c"]}}', "json", "same number of keys"),
    ('{"columns": {"a": "x"}, "join": []}', "json", "non-empty list"),
    ('{"columns": {"a": "x"}, "join": ["k", "k"]}', "json", "names a column twice"),
    ('{"columns": {"a": "x"}, "join": {"input": "a", "reference": "b", "on": 1}}', "json", "unknown key(s) 'on'"),
    ('{"columns": {"a": "x"}, "on_missing_reference": "skip"}', "json", "one of null, error, drop"),
    ('{"columns": {"a": "x"}, "on_duplicate_reference": "last"}', "json", "one of error, first"),
])
def test_structural_problems(text, fmt, fragment):
    messages = [p["message"] for p in problems_of(text, fmt)]
    assert any(fragment in m for m in messages), messages


def test_size_limits():
    assert "larger than" in problems_of(b" " * 1_000_001)[0]["message"]
    many = json.dumps({f"c{i}": "x" for i in range(1001)})
    assert any("more than 1000" in p["message"] for p in problems_of(many))


def test_check_headers_accepts_the_natwest_files():
    rules = parse_rules(json.dumps(NATWEST), "json")
    assert rules.check_headers(INPUT, REFERENCE) == []
    resolution = rules.resolve(INPUT, REFERENCE)
    assert resolution.join_input == ("refkey1", "refkey2") == resolution.join_reference
    assert resolution.used("ref") == ["refdata1", "refdata2", "refdata3", "refdata4"]


def test_check_headers_unknown_names_with_suggestions():
    rules = parse_rules(json.dumps({"a": "Field1 + fiel2", "b": "ref.refdata9", "c": "input.refdata1"}), "json")
    problems = rules.check_headers(INPUT, REFERENCE)
    assert [(p["rule"], p["column"], p["position"]) for p in problems] == [
        ("a", "Field1", 1), ("a", "fiel2", 10), ("b", "refdata9", 1), ("c", "refdata1", 1)]
    assert "did you mean 'field1'" in problems[0]["message"]
    assert "did you mean 'field2'" in problems[1]["message"]
    assert "reference file has no such column" in problems[2]["message"]
    assert "input file has no such column" in problems[3]["message"]


def test_check_headers_without_a_reference_file():
    rules = parse_rules(json.dumps(NATWEST), "json")
    problems = rules.check_headers(INPUT, None)
    assert {p["column"] for p in problems} == {"refdata1", "refdata2", "refdata3", "refdata4"}
    assert "no reference file was given" in problems[0]["message"]
    only_input = parse_rules(json.dumps({"a": "field1", "b": "ref.x"}), "json")
    assert [p["message"] for p in only_input.check_headers(INPUT, None)] == [
        "ref.x needs a reference file, and none was given"]


def test_check_headers_join_keys():
    shared_none = parse_rules(json.dumps({"a": "field1"}), "json")
    problems = shared_none.check_headers(["field1"], ["other"])
    assert len(problems) == 1 and "share no column" in problems[0]["message"]
    explicit = parse_rules(json.dumps({"columns": {"a": "refdata1"},
                                       "join": {"input": ["refkey1", "refkey3"], "reference": ["refkey1", "rk2"]}}),
                           "json")
    problems = explicit.check_headers(INPUT, REFERENCE)
    assert [(p["column"], p["message"].split(" (")[0]) for p in problems] == [
        ("refkey3", "join key 'refkey3' is not a column of the input file"),
        ("rk2", "join key 'rk2' is not a column of the reference file")]


def test_check_headers_declared_types_must_name_columns():
    rules = parse_rules(json.dumps({"columns": {"a": "field1"}, "types": {"nope": "number"}}), "json")
    problems = rules.check_headers(INPUT, REFERENCE)
    assert problems[0]["column"] == "nope" and problems[0]["message"].startswith("types: unknown column")


def test_unqualified_names_prefer_the_input():
    rules = parse_rules(json.dumps({"a": "refkey1", "b": "ref.refkey1", "c": "refdata1"}), "json")
    resolution = rules.resolve(INPUT, REFERENCE)
    assert resolution.columns[(None, "refkey1")] == ("input", "refkey1")
    assert resolution.columns[("ref", "refkey1")] == ("ref", "refkey1")
    assert resolution.columns[(None, "refdata1")] == ("ref", "refdata1")


def test_resolve_raises_with_problems():
    rules = parse_rules(json.dumps({"a": "nope"}), "json")
    with pytest.raises(RulesError) as caught:
        rules.resolve(INPUT, None)
    assert caught.value.problems[0]["column"] == "nope"
