"""Static types of expression trees: number, text, bool (conditions) and null, plus `any` for a column whose
type is not known yet (at upload, before the files are seen). The same checks run at upload (with `any`)
and when a report is compiled (with the columns' real types), so both agree.
"""

from __future__ import annotations

from collections.abc import Callable

from .expressions import Binary, Call, Literal, Name, Node, Unary

NUMBER, TEXT, BOOL, NULL, ANY = "number", "text", "bool", "null", "any"
COLUMN_TYPES = (NUMBER, TEXT)
ARITHMETIC = {"-", "*", "/", "%"}
MAX_ROUND_DIGITS = 15


def is_number_text(value: str) -> bool:
    try:
        number = float(value.strip())
    except ValueError:
        return False
    return number == number and abs(number) != float("inf")


class TypeCheck:
    """Type every node of a tree; `types` maps each node to its type, `problems` holds (message, position)."""

    def __init__(self, column_type: Callable[[Name], str]):
        self.column_type = column_type
        self.types: dict[Node, str] = {}
        self.problems: list[tuple[str, int]] = []

    def run(self, node: Node) -> str:
        kind = self._type(node)
        self.types[node] = kind
        return kind

    def fail(self, message: str, node: Node) -> None:
        self.problems.append((message, node.pos))

    def need_number(self, node: Node, kind: str, where: str) -> None:
        if kind == BOOL:
            self.fail(f"{where} needs a number, not a condition", node)
        elif isinstance(node, Literal) and isinstance(node.value, str) and not is_number_text(node.value):
            self.fail(f"{where} needs a number, and {node.value!r} is not one", node)

    def need_condition(self, node: Node, kind: str, where: str) -> None:
        if kind not in (BOOL, NULL):
            got = "a column value" if kind == ANY else f"a {kind} value"
            self.fail(f"{where}: expected a condition (a comparison, and/or/not, true/false), got {got}", node)

    def need_value(self, node: Node, kind: str, where: str) -> None:
        if kind == BOOL:
            self.fail(f"{where} needs a number or text, not a condition", node)

    def unify(self, nodes: tuple[Node, ...], kinds: list[str], where: str) -> str:
        present = {k for k in kinds if k != NULL}
        if not present:
            return NULL
        if BOOL in present:
            if present != {BOOL}:
                node = next(n for n, k in zip(nodes, kinds, strict=True) if k == BOOL)
                self.fail(f"{where} mixes conditions with values", node)
            return BOOL
        if TEXT in present:
            return TEXT
        return ANY if ANY in present else NUMBER

    def _type(self, node: Node) -> str:
        if isinstance(node, Literal):
            v = node.value
            return NULL if v is None else BOOL if isinstance(v, bool) else NUMBER if isinstance(v, float) else TEXT
        if isinstance(node, Name):
            return self.column_type(node)
        if isinstance(node, Unary):
            kind = self.run(node.operand)
            if node.op == "not":
                self.need_condition(node.operand, kind, "'not'")
                return BOOL
            self.need_number(node.operand, kind, f"unary '{node.op}'")
            return NUMBER
        if isinstance(node, Binary):
            return self._binary(node, self.run(node.left), self.run(node.right))
        return self._call(node, [self.run(a) for a in node.args])

    def _binary(self, node: Binary, left: str, right: str) -> str:
        op = node.op
        if op in ("and", "or"):
            self.need_condition(node.left, left, f"'{op}'")
            self.need_condition(node.right, right, f"'{op}'")
            return BOOL
        if op in ARITHMETIC:
            self.need_number(node.left, left, f"'{op}'")
            self.need_number(node.right, right, f"'{op}'")
            return NUMBER
        if op == "+":
            for side, kind in ((node.left, left), (node.right, right)):
                if kind == BOOL:
                    self.fail("'+' needs numbers or text, not a condition", side)
            kinds = {left, right}
            if TEXT in kinds:
                return TEXT
            if ANY in kinds:
                return ANY
            return NULL if kinds == {NULL} else NUMBER
        # comparisons
        nulls = [isinstance(side, Literal) and side.value is None for side in (node.left, node.right)]
        if any(nulls):
            if op not in ("=", "!="):
                self.fail(f"null can only be compared with = or != (to test for an empty value), not {op}", node)
            return BOOL
        if BOOL in (left, right):
            if left != right:
                self.fail(f"'{op}' compares a condition with a value", node)
            elif op not in ("=", "!="):
                self.fail(f"conditions can only be compared with = or !=, not {op}", node)
            return BOOL
        return BOOL

    def _call(self, node: Call, kinds: list[str]) -> str:
        f, args = node.func, node.args
        where = f"{f}()"
        if f in ("max", "min", "abs"):
            for arg, kind in zip(args, kinds, strict=True):
                self.need_number(arg, kind, where)
            return NUMBER
        if f == "round":
            self.need_number(args[0], kinds[0], where)
            if len(args) == 2:
                digits = args[1]
                if not (isinstance(digits, Literal) and isinstance(digits.value, float) and digits.value.is_integer()
                        and 0 <= digits.value <= MAX_ROUND_DIGITS):
                    self.fail(f"round() digits must be a whole number from 0 to {MAX_ROUND_DIGITS}", digits)
            return NUMBER
        if f in ("upper", "lower", "trim", "length"):
            self.need_value(args[0], kinds[0], where)
            return NUMBER if f == "length" else TEXT
        if f in ("concat", "text"):
            return TEXT
        if f == "number":
            self.need_number(args[0], kinds[0], where)
            return NUMBER
        if f == "coalesce":
            return self.unify(args, kinds, where)
        # if(condition, then[, else])
        self.need_condition(args[0], kinds[0], "if() condition")
        return self.unify(args[1:], kinds[1:], "if()")


def numeric_comparison(node: Binary, left: str, right: str) -> bool:
    """A comparison is numeric when a side is a number, unless a side is text written in the rule that is not
    a number (`code = 'A1'` compares text even if `code` holds numbers)."""
    if NUMBER not in (left, right):
        return False
    return not any(isinstance(side, Literal) and isinstance(side.value, str) and not is_number_text(side.value)
                   for side in (node.left, node.right))
