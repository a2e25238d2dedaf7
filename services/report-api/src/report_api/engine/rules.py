"""Rules files: JSON or YAML text to a validated RuleSet, and the checks of a RuleSet against CSV headers.

Common form: ``{"outfield1": "field1 + field2", ...}``. Extended form: a top-level ``columns`` mapping, plus
optional ``types``, ``join``, ``on_missing_reference`` and ``on_duplicate_reference`` (docs/rules-language.md).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

import yaml

from .errors import Problem, RulesError, problem
from .expressions import ExpressionError, Literal, Name, Node, parse
from .expressions import names as names_in
from .types import ANY, TypeCheck

MAX_RULES = 1000
MAX_RULES_BYTES = 1_000_000
MISSING_POLICIES = ("null", "error", "drop")
DUPLICATE_POLICIES = ("error", "first")
EXTENDED_KEYS = ("columns", "types", "join", "on_missing_reference", "on_duplicate_reference")
TYPE_ALIASES = {"number": "number", "numeric": "number", "text": "text", "string": "text"}


@dataclass(frozen=True)
class Rule:
    name: str  # the output column
    text: str  # the expression as written
    expr: Node
    type: str | None = None  # declared output type: the result is converted to it


@dataclass(frozen=True)
class ColumnType:
    name: str
    source: str | None  # "input", "ref", or None (resolved like an unqualified name)
    type: str


@dataclass(frozen=True)
class Resolution:
    """A RuleSet matched to two headers: where every name comes from, and the join keys."""

    columns: dict[tuple[str | None, str], tuple[str, str]]  # (source, name) as written -> (side, column)
    join_input: tuple[str, ...]
    join_reference: tuple[str, ...]
    declared: dict[tuple[str, str], str]  # (side, column) -> declared type

    def used(self, side: str) -> list[str]:
        return sorted({col for s, col in self.columns.values() if s == side})


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    types: tuple[ColumnType, ...] = ()
    join_input: tuple[str, ...] | None = None  # None: the columns both files share
    join_reference: tuple[str, ...] | None = None
    on_missing_reference: str = "null"
    on_duplicate_reference: str = "error"
    _names: tuple[tuple[Rule, Name], ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "_names", tuple((r, n) for r in self.rules for n in names_in(r.expr)))

    @property
    def columns(self) -> list[str]:
        """The output columns, in order."""
        return [r.name for r in self.rules]

    def input_columns_needed(self) -> set[str]:
        """Columns the input file must have: `input.x` names and explicit input join keys."""
        return {n.name for _, n in self._names if n.source == "input"} | set(self.join_input or ())

    def reference_columns_needed(self) -> set[str]:
        """Columns the reference file must have: `ref.x` names and explicit reference join keys."""
        return {n.name for _, n in self._names if n.source == "ref"} | set(self.join_reference or ())

    def unqualified_names(self) -> set[str]:
        """Names found in the input if it has them, else in the reference: resolved by check_headers."""
        return {n.name for _, n in self._names if n.source is None}

    def check_headers(self, input_header: list[str], reference_header: list[str] | None) -> list[Problem]:
        """Problems of these rules with these headers: unknown names, join keys missing from either file."""
        return self._resolve(input_header, reference_header)[1]

    def resolve(self, input_header: list[str], reference_header: list[str] | None) -> Resolution:
        resolution, problems = self._resolve(input_header, reference_header)
        if problems:
            raise RulesError(problems)
        return resolution

    def _resolve(self, input_header: list[str], reference_header: list[str] | None
                 ) -> tuple[Resolution, list[Problem]]:
        problems: list[Problem] = []
        inputs, refs = set(input_header), set(reference_header or ())

        def find(name: str, source: str | None) -> tuple[tuple[str, str] | None, str]:
            if source in (None, "input") and name in inputs:
                return ("input", name), ""
            if source in (None, "ref") and name in refs:
                return ("ref", name), ""
            if source == "ref" and reference_header is None:
                return None, f"ref.{name} needs a reference file, and none was given"
            if source is None and reference_header is None:
                message = f"unknown column {name!r}: the input file has no such column (and no reference file " \
                          "was given)"
            elif source is None:
                message = f"unknown column {name!r}: neither the input nor the reference file has it"
            else:
                message = f"unknown column {name!r}: the {'input' if source == 'input' else 'reference'} " \
                          "file has no such column"
            pool = input_header if source == "input" else (reference_header or []) if source == "ref" \
                else [*input_header, *(reference_header or [])]
            return None, message + _suggest(name, pool)

        columns: dict[tuple[str | None, str], tuple[str, str]] = {}
        for rule, name in self._names:
            found, message = find(name.name, name.source)
            if found:
                columns[(name.source, name.name)] = found
            else:
                problems.append(problem(message, rule.name, name.name, name.pos))

        declared: dict[tuple[str, str], str] = {}
        for ct in self.types:
            found, message = find(ct.name, ct.source)
            if found:
                declared[found] = ct.type
            else:
                problems.append(problem("types: " + message, None, ct.name))

        join_in: tuple[str, ...] = ()
        join_ref: tuple[str, ...] = ()
        if reference_header is not None:
            if self.join_input is None:
                join_in = join_ref = tuple(c for c in input_header if c in refs)
                if not join_in:
                    problems.append(problem("the input and reference files share no column to join on; declare "
                                            "the keys with \"join\" (extended form)"))
            else:
                join_in, join_ref = self.join_input, self.join_reference or self.join_input
                for key in join_in:
                    if key not in inputs:
                        problems.append(problem(f"join key {key!r} is not a column of the input file"
                                                + _suggest(key, input_header), None, key))
                for key in join_ref:
                    if key not in refs:
                        problems.append(problem(f"join key {key!r} is not a column of the reference file"
                                                + _suggest(key, reference_header), None, key))
        return Resolution(columns, join_in, join_ref, declared), problems


def _suggest(name: str, pool: Iterable[str]) -> str:
    pool = list(dict.fromkeys(pool))
    same_case = [c for c in pool if c.lower() == name.lower()]
    close = same_case or difflib.get_close_matches(name, pool, n=3, cutoff=0.75)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""


# --- parsing ----------------------------------------------------------------------------------------------

def parse_rules(text: str | bytes, fmt: str) -> RuleSet:
    """Parse and validate a rules file; raise RulesError listing every problem found."""
    fmt = (fmt or "").lower().lstrip(".")
    if fmt not in ("json", "yaml", "yml"):
        raise RulesError([problem(f"unknown rules format {fmt!r}: use json or yaml")])
    if isinstance(text, bytes):
        if len(text) > MAX_RULES_BYTES:
            raise RulesError([problem(f"rules file larger than {MAX_RULES_BYTES} bytes")])
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise RulesError([problem(f"rules file is not valid UTF-8 (byte {e.start + 1})")]) from None
    text = text.removeprefix("\ufeff")
    if len(text) > MAX_RULES_BYTES:
        raise RulesError([problem(f"rules file larger than {MAX_RULES_BYTES} characters")])
    document = _load_json(text) if fmt == "json" else _load_yaml(text)
    return _build(document)


class _Duplicate(ValueError):
    pass


def _no_duplicates(pairs: list[tuple]) -> dict:
    seen: dict = {}
    for key, value in pairs:
        if key in seen:
            raise _Duplicate(f"{key!r} is given twice")
        seen[key] = value
    return seen


def _load_json(text: str):
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except _Duplicate as e:
        raise RulesError([problem(f"duplicate key: {e}")]) from None
    except json.JSONDecodeError as e:
        raise RulesError([problem(f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}")]) from None


class _Loader(yaml.SafeLoader):
    def construct_mapping(self, node, deep=False):
        keys = [self.construct_object(k, deep=deep) for k, _ in node.value]
        for i, key in enumerate(keys):
            if key in keys[:i]:
                mark = node.value[i][0].start_mark
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", mark)
        return super().construct_mapping(node, deep=deep)


def _load_yaml(text: str):
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: no Python objects
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise RulesError([problem(f"invalid YAML{where}: {e.problem or e.context}")]) from None
    except yaml.YAMLError as e:
        raise RulesError([problem(f"invalid YAML: {e}")]) from None


def _build(document) -> RuleSet:
    problems: list[Problem] = []
    if not isinstance(document, dict):
        raise RulesError([problem("the rules must be a mapping of output column names to expressions")])
    extended = isinstance(document.get("columns"), dict | list)
    options: dict = {}
    if extended:
        for key in document:
            if key not in EXTENDED_KEYS:
                problems.append(problem(f"unknown key {key!r} in the extended form (allowed: "
                                        f"{', '.join(EXTENDED_KEYS)})"))
        spec = document["columns"]
        if isinstance(spec, list):
            spec = _list_columns(spec, problems)
        options = _options(document, problems)
    else:
        spec = document
    if not spec:
        problems.append(problem("no output columns: give at least one rule"))
    if len(spec) > MAX_RULES:
        problems.append(problem(f"more than {MAX_RULES} output columns"))
    rules = [rule for name, value in spec.items() if (rule := _rule(name, value, extended, problems))]
    if problems:
        raise RulesError(problems)
    return RuleSet(tuple(rules), **options)


def _list_columns(items: list, problems: list[Problem]) -> dict:
    spec: dict = {}
    for i, item in enumerate(items, 1):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            problems.append(problem(f"columns item {i}: expected a mapping with 'name' and 'expr'"))
        elif item["name"] in spec:
            problems.append(problem(f"output column {item['name']!r} is given twice", item["name"]))
        else:
            spec[item["name"]] = {k: v for k, v in item.items() if k != "name"}
    return spec


def _rule(name, value, extended: bool, problems: list[Problem]) -> Rule | None:
    if not isinstance(name, str) or not name.strip():
        problems.append(problem(f"output column name {name!r} must be non-empty text"))
        return None
    declared = None
    if extended and isinstance(value, dict):
        unknown = set(value) - {"expr", "type"}
        if unknown:
            problems.append(problem(f"unknown key(s) {', '.join(map(repr, sorted(unknown)))} (allowed: expr, type)",
                                    name))
        declared = value.get("type")
        if declared is not None and declared not in TYPE_ALIASES:
            problems.append(problem(f"type must be number or text, not {declared!r}", name))
            declared = None
        value = value.get("expr")
    if isinstance(value, bool) or value is None or not isinstance(value, str | int | float):
        problems.append(problem("expected an expression (text)" + (" or {expr, type}" if extended else ""), name))
        return None
    source = value if isinstance(value, str) else repr(float(value))
    try:
        expr = parse(source) if isinstance(value, str) else Literal(float(value), 1)
    except ExpressionError as e:
        problems.append(problem(e.message, name, None, e.position))
        return None
    check = TypeCheck(lambda _name: ANY)
    check.run(expr)
    for message, position in check.problems:
        problems.append(problem(message, name, None, position))
    return Rule(name, source, expr, TYPE_ALIASES.get(declared) if declared else None)


def _keys(value, what: str, problems: list[Problem]) -> tuple[str, ...] | None:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        problems.append(problem(f"join: {what} must be a column name or a non-empty list of column names"))
        return None
    if len(set(value)) != len(value):
        problems.append(problem(f"join: {what} names a column twice"))
        return None
    return tuple(value)


def _options(document: dict, problems: list[Problem]) -> dict:
    options: dict = {}
    types = document.get("types") or {}
    if not isinstance(types, dict):
        problems.append(problem("types must be a mapping of column names to number or text"))
        types = {}
    declared = []
    for key, kind in types.items():
        if kind not in TYPE_ALIASES:
            problems.append(problem(f"types: {key!r} must be number or text, not {kind!r}", None, str(key)))
            continue
        key = str(key)
        source, _, rest = key.partition(".")
        if rest and source in ("input", "ref"):
            declared.append(ColumnType(rest, source, TYPE_ALIASES[kind]))
        else:
            declared.append(ColumnType(key, None, TYPE_ALIASES[kind]))
    options["types"] = tuple(declared)
    if "join" in document:
        join = document["join"]
        if isinstance(join, dict):
            unknown = set(join) - {"input", "reference", "ref"}
            if unknown:
                problems.append(problem(f"join: unknown key(s) {', '.join(map(repr, sorted(unknown)))} "
                                        "(allowed: input, reference)"))
            left = _keys(join.get("input"), "input", problems)
            right = _keys(join.get("reference", join.get("ref")), "reference", problems)
            if left and right and len(left) != len(right):
                problems.append(problem("join: input and reference need the same number of keys"))
        else:
            left = right = _keys(join, "join", problems)
        options["join_input"], options["join_reference"] = left, right
    for key, allowed in (("on_missing_reference", MISSING_POLICIES), ("on_duplicate_reference", DUPLICATE_POLICIES)):
        if key in document:
            value = "null" if document[key] is None and key == "on_missing_reference" else document[key]
            if value not in allowed:
                problems.append(problem(f"{key} must be one of {', '.join(allowed)}, not {document[key]!r}"))
            else:
                options[key] = value
    return options
