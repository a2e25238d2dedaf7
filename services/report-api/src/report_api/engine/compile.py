"""Expression trees to polars expressions. Every compiled node carries, beside its value, a boolean "error"
expression (None when it cannot fail): a number that does not convert, a division by zero, a missing
reference row under the "error" policy. An output cell with an error is empty and counted; `if` and
`coalesce` only count errors in the arguments they actually use.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from .errors import RulesError, problem
from .expressions import Binary, Call, Literal, Name, Node, Unary
from .rules import Rule
from .types import BOOL, NULL, NUMBER, TEXT, TypeCheck, numeric_comparison

F64 = pl.Float64


@dataclass(frozen=True, eq=False)  # holds polars expressions: no == or hash
class Column:
    """An input or reference column as the plan sees it."""

    name: str  # its name in the joined frame
    type: str  # number or text
    missing: pl.Expr | None = None  # error flag of a row without a reference row ("error" policy)


class Columns:
    """Resolves names to columns and converts columns to numbers. This one converts inline; the report plan
    converts each column once, in a stage before the outputs (see run.py)."""

    def __init__(self, columns: dict[str, Column]):
        self.columns = columns

    def column(self, name: Name) -> Column:
        return self.columns[str(name)]

    def number(self, column: Column) -> tuple[pl.Expr, pl.Expr]:
        return to_number(pl.col(column.name))


@dataclass(frozen=True, eq=False)  # holds polars expressions: no == or hash
class Output:
    name: str
    kind: str  # number, text, bool, or number_text (a number column copied as written)
    value: pl.Expr  # empty where err
    err: pl.Expr | None  # None: this column never has errors


@dataclass(frozen=True, eq=False)  # holds polars expressions: no == or hash
class Val:
    type: str
    expr: pl.Expr
    err: pl.Expr | None = None
    text: pl.Expr | None = None  # a column's cell as written
    text_err: pl.Expr | None = None
    column: Column | None = None


def either(*errs: pl.Expr | None) -> pl.Expr | None:
    present = [e for e in errs if e is not None]
    if not present:
        return None
    out = present[0]
    for e in present[1:]:
        out = out | e
    return out


def to_number(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Text to number, surrounding blanks ignored; the error flag is set for non-blank text that is not a finite
    number (never null)."""
    stripped = text.str.strip_chars()
    number = stripped.cast(F64, strict=False)
    return number, conversion_error(stripped, number)


def conversion_error(stripped: pl.Expr, number: pl.Expr) -> pl.Expr:
    return (stripped != "").fill_null(False) & number.is_finite().not_().fill_null(True)


def format_number(number: pl.Expr) -> pl.Expr:
    """Shortest text that reads back as the same number; whole numbers without '.0'."""
    return (number + 0.0).cast(pl.String).str.strip_suffix(".0")


def compile_rule(rule: Rule, columns: Columns) -> Output:
    check = TypeCheck(lambda name: columns.column(name).type)
    check.run(rule.expr)
    if check.problems:
        raise RulesError([problem(m, rule.name, None, p) for m, p in check.problems])
    compiler = _Compiler(columns, check.types)
    if isinstance(rule.expr, Name) and rule.type is None:  # a copy: the cell as written
        val = compiler.node(rule.expr)
        kind = "number_text" if val.type == NUMBER else "text"
        value, err = compiler.as_text(val)
    else:
        val = compiler.node(rule.expr)
        if rule.type == NUMBER or (rule.type is None and val.type == NUMBER):
            kind, (value, err) = NUMBER, compiler.as_number(val)
            err = either(err, value.is_finite().not_())
        elif rule.type == TEXT or val.type in (TEXT, NULL):
            kind, (value, err) = TEXT, compiler.as_text(val)
        else:
            kind, value, err = BOOL, val.expr, val.err
    if err is not None:
        err = err.fill_null(False)
        value = pl.when(err).then(None).otherwise(value)
    return Output(rule.name, kind, value, err)


class _Compiler:
    def __init__(self, columns: Columns, types: dict[Node, str]):
        self.columns = columns
        self.types = types

    # --- conversions ---
    def as_number(self, v: Val) -> tuple[pl.Expr, pl.Expr | None]:
        if v.type == NUMBER:
            return v.expr, v.err
        if v.type == NULL:
            return pl.lit(None, F64), v.err
        number, err = self.columns.number(v.column) if v.column is not None else to_number(v.expr)
        return number, either(v.err, err)

    def as_text(self, v: Val) -> tuple[pl.Expr, pl.Expr | None]:
        if v.text is not None:
            return v.text, v.text_err
        if v.type == TEXT:
            return v.expr, v.err
        if v.type == NUMBER:
            return format_number(v.expr), v.err
        if v.type == BOOL:
            return pl.when(v.expr).then(pl.lit("true")).when(v.expr.not_()).then(pl.lit("false")), v.err
        return pl.lit(None, pl.String), v.err

    def as_type(self, v: Val, kind: str) -> tuple[pl.Expr, pl.Expr | None]:
        if kind == NUMBER:
            return self.as_number(v)
        if kind == TEXT:
            return self.as_text(v)
        if kind == NULL:
            return pl.lit(None), None
        return v.expr, v.err

    def number_val(self, node: Node) -> tuple[pl.Expr, pl.Expr | None]:
        if isinstance(node, Literal) and isinstance(node.value, str):  # a number written as text: convert once
            return pl.lit(float(node.value.strip()), F64), None
        return self.as_number(self.node(node))

    # --- nodes ---
    def node(self, node: Node) -> Val:
        kind = self.types[node]
        if isinstance(node, Literal):
            dtype = {NUMBER: F64, TEXT: pl.String, BOOL: pl.Boolean}.get(kind)
            return Val(kind, pl.lit(node.value, dtype) if dtype else pl.lit(None))
        if isinstance(node, Name):
            column = self.columns.column(node)
            cell = pl.col(column.name)
            if column.type == TEXT:
                return Val(TEXT, cell, column.missing, column=column)
            number, err = self.columns.number(column)
            return Val(NUMBER, number, either(column.missing, err), cell, column.missing)
        if isinstance(node, Unary):
            if node.op == "not":
                v = self.node(node.operand)
                return Val(BOOL, v.expr.not_(), v.err)
            number, err = self.number_val(node.operand)
            return Val(NUMBER, -number if node.op == "-" else number, err)
        if isinstance(node, Binary):
            return self.binary(node, kind)
        return self.call(node, kind)

    def binary(self, node: Binary, kind: str) -> Val:
        op = node.op
        if op in ("and", "or"):
            left, right = self.node(node.left), self.node(node.right)
            expr = left.expr & right.expr if op == "and" else left.expr | right.expr
            return Val(BOOL, expr, either(left.err, right.err))
        if op == "+" and kind == TEXT:
            return self.concat([self.node(n) for n in self._concat_parts(node)])
        if op == "+" and kind == NULL:
            return Val(NULL, pl.lit(None))
        if op in ("+", "-", "*", "/", "%"):
            (a, ea), (b, eb) = self.number_val(node.left), self.number_val(node.right)
            if op in ("/", "%"):
                zero = b.eq_missing(0.0)
                return Val(NUMBER, a / b if op == "/" else a % b, either(ea, eb, zero))
            return Val(NUMBER, a + b if op == "+" else a - b if op == "-" else a * b, either(ea, eb))
        return self.compare(node)

    def concat(self, vals: list[Val]) -> Val:
        """Empty parts count as empty text; the result is empty only when every part is."""
        parts = [self.as_text(v) for v in vals]
        texts = [p for p, _ in parts]
        joined = pl.concat_str(texts, ignore_nulls=True)
        return Val(TEXT, pl.when(pl.all_horizontal(t.is_null() for t in texts)).then(None).otherwise(joined),
                   either(*(e for _, e in parts)))

    def _concat_parts(self, node: Node) -> list[Node]:
        if isinstance(node, Binary) and node.op == "+" and self.types[node] == TEXT:
            return self._concat_parts(node.left) + self._concat_parts(node.right)
        return [node]

    def compare(self, node: Binary) -> Val:
        op, lt, rt = node.op, self.types[node.left], self.types[node.right]
        for side, other in ((node.left, node.right), (node.right, node.left)):
            if isinstance(side, Literal) and side.value is None:  # x = null: is x empty?
                v = self.node(other)
                cell, err = (v.text, v.text_err) if v.text is not None else (v.expr, v.err)
                return Val(BOOL, cell.is_null() if op == "=" else cell.is_not_null(), err)
        if BOOL in (lt, rt):
            (a, ea), (b, eb) = self.as_type(self.node(node.left), BOOL), self.as_type(self.node(node.right), BOOL)
        elif numeric_comparison(node, lt, rt):
            (a, ea), (b, eb) = self.number_val(node.left), self.number_val(node.right)
        else:
            (a, ea), (b, eb) = self.as_text(self.node(node.left)), self.as_text(self.node(node.right))
        expr = {"=": lambda: a.eq_missing(b), "!=": lambda: a.ne_missing(b), "<": lambda: a < b,
                "<=": lambda: a <= b, ">": lambda: a > b, ">=": lambda: a >= b}[op]()
        return Val(BOOL, expr, either(ea, eb))

    def call(self, node: Call, kind: str) -> Val:
        f, args = node.func, node.args
        if f in ("max", "min"):
            numbers = [self.number_val(a) for a in args]
            combine = pl.max_horizontal if f == "max" else pl.min_horizontal
            return Val(NUMBER, combine([n for n, _ in numbers]), either(*(e for _, e in numbers)))
        if f in ("abs", "round", "number"):
            number, err = self.number_val(args[0])
            if f == "abs":
                number = number.abs()
            elif f == "round":
                digits = int(args[1].value) if len(args) == 2 else 0
                number = number.round(digits, mode="half_away_from_zero")
            return Val(NUMBER, number, err)
        if f in ("upper", "lower", "trim", "length", "text"):
            text, err = self.as_text(self.node(args[0]))
            if f == "length":
                return Val(NUMBER, text.str.len_chars().cast(F64), err)
            text = {"upper": lambda: text.str.to_uppercase(), "lower": lambda: text.str.to_lowercase(),
                    "trim": lambda: text.str.strip_chars(), "text": lambda: text}[f]()
            return Val(TEXT, text, err)
        if f == "concat":
            return self.concat([self.node(a) for a in args])
        if f == "coalesce":
            values = [self.as_type(self.node(a), kind) for a in args]
            err, all_empty = None, None
            for value, e in values:  # an error counts only if coalesce reached that argument
                if e is not None:
                    err = either(err, e if all_empty is None else all_empty & e)
                all_empty = value.is_null() if all_empty is None else all_empty & value.is_null()
            if kind == NULL:
                return Val(NULL, pl.lit(None), err)
            return Val(kind, pl.coalesce([v for v, _ in values]), err)
        # if(condition, then[, else])
        cond = self.node(args[0])
        then_value, then_err = self.as_type(self.node(args[1]), kind)
        else_value, else_err = (self.as_type(self.node(args[2]), kind) if len(args) == 3
                                else (pl.lit(None), None))
        if kind == NULL:
            then_value = else_value = pl.lit(None)
        expr = pl.when(cond.expr).then(then_value).otherwise(else_value)
        branch_err = None
        if then_err is not None or else_err is not None:
            false = pl.lit(False)
            branch_err = pl.when(cond.expr).then(then_err if then_err is not None else false) \
                .otherwise(else_err if else_err is not None else false)
        return Val(kind, expr, either(cond.err, branch_err))
