"""The rules expression language: a tokenizer and a recursive-descent parser to a small immutable tree.

Nothing here evaluates anything; `compile.py` turns the tree into polars expressions. Positions are
1-based character offsets into the expression text, for error messages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

MAX_LENGTH = 10_000
MAX_DEPTH = 100

# name -> (fewest, most) arguments; None: any number
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "max": (1, None), "min": (1, None), "abs": (1, 1), "round": (1, 2),
    "upper": (1, 1), "lower": (1, 1), "trim": (1, 1), "length": (1, 1),
    "concat": (1, None), "coalesce": (1, None), "if": (2, 3),
    "number": (1, 1), "text": (1, 1),
}
QUALIFIERS = {"input": "input", "ref": "ref"}
KEYWORDS = {"and", "or", "not", "true", "false", "null"}
COMPARISONS = {"=", "!=", "<", "<=", ">", ">="}


class ExpressionError(ValueError):
    def __init__(self, message: str, position: int):
        super().__init__(message)
        self.message = message
        self.position = position


@dataclass(frozen=True, slots=True)
class Literal:
    value: float | str | bool | None
    pos: int


@dataclass(frozen=True, slots=True)
class Name:
    name: str
    source: str | None  # "input", "ref", or None: the input's column if it has one, else the reference's
    pos: int

    def __str__(self) -> str:
        return f"{self.source}.{self.name}" if self.source else self.name


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "-" or "not"
    operand: Node
    pos: int


@dataclass(frozen=True, slots=True)
class Binary:
    op: str  # + - * / % = != < <= > >= and or
    left: Node
    right: Node
    pos: int


@dataclass(frozen=True, slots=True)
class Call:
    func: str  # lower case, a key of FUNCTIONS
    args: tuple[Node, ...]
    pos: int


Node = Literal | Name | Unary | Binary | Call


def walk(node: Node) -> Iterator[Node]:
    yield node
    if isinstance(node, Unary):
        yield from walk(node.operand)
    elif isinstance(node, Binary):
        yield from walk(node.left)
        yield from walk(node.right)
    elif isinstance(node, Call):
        for arg in node.args:
            yield from walk(arg)


def names(node: Node) -> Iterator[Name]:
    return (n for n in walk(node) if isinstance(n, Name))


# --- tokenizer ------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # num str ident qname op eof
    text: str  # the value (unescaped for str/qname; lower case keyword/op for op)
    pos: int


_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<num>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<ident>[^\W\d]\w*)
  | (?P<op><=|>=|==|!=|<>|[-+*/%()<>=,.])
""", re.VERBOSE)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"'}


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "'\"":
            value, end = _quoted(text, i, ch, backslash=True)
            tokens.append(Token("str", value, i + 1))
            i = end
            continue
        if ch in "`[":
            value, end = _quoted(text, i, "`" if ch == "`" else "]", backslash=False)
            tokens.append(Token("qname", value, i + 1))
            i = end
            continue
        m = _TOKEN.match(text, i)
        if not m:
            raise ExpressionError(f"unexpected character {ch!r}", i + 1)
        kind = m.lastgroup
        if kind == "num" and m.end() < n and (text[m.end()].isalnum() or text[m.end()] == "_"):
            raise ExpressionError(f"invalid number {text[i:m.end() + 1]!r}...", i + 1)
        if kind == "op":
            tokens.append(Token("op", {"==": "=", "<>": "!="}.get(m.group(), m.group()), i + 1))
        elif kind == "ident" and m.group().lower() in KEYWORDS:
            tokens.append(Token("op", m.group().lower(), i + 1))
        elif kind != "ws":
            tokens.append(Token(kind, m.group(), i + 1))
        i = m.end()
    tokens.append(Token("eof", "", n + 1))
    return tokens


def _quoted(text: str, start: int, close: str, backslash: bool) -> tuple[str, int]:
    """Read a quoted string or name starting at `start`; return its value and the index after it."""
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if backslash and ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt not in _ESCAPES:
                raise ExpressionError(f"unknown escape \\{nxt} (use \\\\ for a backslash)", i + 1)
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        if ch == close:
            if i + 1 < len(text) and text[i + 1] == close:  # doubled: the character itself
                out.append(ch)
                i += 2
                continue
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    what = "text" if backslash else "quoted name"
    raise ExpressionError(f"unterminated {what}: missing closing {close}", start + 1)


# --- parser ---------------------------------------------------------------------------------------------

def parse(text: str) -> Node:
    """Parse one expression; raise ExpressionError(message, position) for the first problem."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters", MAX_LENGTH)
    if not text.strip():
        raise ExpressionError("empty expression", 1)
    return _Parser(tokenize(text)).parse()


class _Parser:
    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def at(self, *ops: str) -> bool:
        return self.tok.kind == "op" and self.tok.text in ops

    def expect(self, op: str, what: str) -> Token:
        if not self.at(op):
            raise ExpressionError(f"expected {what}, found {_describe(self.tok)}", self.tok.pos)
        return self.take()

    def parse(self) -> Node:
        node = self.expr()
        if self.tok.kind != "eof":
            raise ExpressionError(f"unexpected {_describe(self.tok)} (missing operator?)", self.tok.pos)
        return node

    def expr(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"expression nested deeper than {MAX_DEPTH} levels", self.tok.pos)
        try:
            return self.or_expr()
        finally:
            self.depth -= 1

    def or_expr(self) -> Node:
        node = self.and_expr()
        while self.at("or"):
            tok = self.take()
            node = Binary("or", node, self.and_expr(), tok.pos)
        return node

    def and_expr(self) -> Node:
        node = self.not_expr()
        while self.at("and"):
            tok = self.take()
            node = Binary("and", node, self.not_expr(), tok.pos)
        return node

    def not_expr(self) -> Node:
        if self.at("not"):
            tok = self.take()
            return Unary("not", self.nested(self.not_expr), tok.pos)
        return self.comparison()

    def comparison(self) -> Node:
        node = self.additive()
        if self.tok.kind == "op" and self.tok.text in COMPARISONS:
            tok = self.take()
            node = Binary(tok.text, node, self.additive(), tok.pos)
            if self.tok.kind == "op" and self.tok.text in COMPARISONS:
                raise ExpressionError("comparisons cannot be chained; join them with 'and'", self.tok.pos)
        return node

    def additive(self) -> Node:
        node = self.term()
        while self.at("+", "-"):
            tok = self.take()
            node = Binary(tok.text, node, self.term(), tok.pos)
        return node

    def term(self) -> Node:
        node = self.unary()
        while self.at("*", "/", "%"):
            tok = self.take()
            node = Binary(tok.text, node, self.unary(), tok.pos)
        return node

    def unary(self) -> Node:
        if self.at("-", "+"):
            tok = self.take()
            operand = self.nested(self.unary)
            if tok.text == "+":
                return Unary("+", operand, tok.pos)
            if isinstance(operand, Literal) and isinstance(operand.value, float):
                return Literal(-operand.value, tok.pos)
            return Unary("-", operand, tok.pos)
        return self.primary()

    def nested(self, rule):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"expression nested deeper than {MAX_DEPTH} levels", self.tok.pos)
        try:
            return rule()
        finally:
            self.depth -= 1

    def primary(self) -> Node:
        tok = self.tok
        if tok.kind == "num":
            self.take()
            return Literal(float(tok.text), tok.pos)
        if tok.kind == "str":
            self.take()
            return Literal(tok.text, tok.pos)
        if tok.kind == "op":
            if tok.text in ("true", "false"):
                self.take()
                return Literal(tok.text == "true", tok.pos)
            if tok.text == "null":
                self.take()
                return Literal(None, tok.pos)
            if tok.text == "(":
                self.take()
                node = self.expr()
                self.expect(")", "')'")
                return node
        if tok.kind == "ident" and self.tokens[self.i + 1].kind == "op" and self.tokens[self.i + 1].text == "(":
            return self.call()
        if tok.kind in ("ident", "qname"):
            return self.name()
        if tok.kind == "eof":
            raise ExpressionError("unexpected end of expression", tok.pos)
        raise ExpressionError(f"unexpected {_describe(tok)}", tok.pos)

    def call(self) -> Node:
        tok = self.take()
        func = tok.text.lower()
        if func not in FUNCTIONS:
            known = ", ".join(sorted(FUNCTIONS))
            raise ExpressionError(f"unknown function {tok.text!r} (known: {known})", tok.pos)
        self.take()  # (
        args: list[Node] = []
        if not self.at(")"):
            args.append(self.expr())
            while self.at(","):
                self.take()
                args.append(self.expr())
        self.expect(")", f"',' or ')' in {func}()")
        fewest, most = FUNCTIONS[func]
        if len(args) < fewest or (most is not None and len(args) > most):
            wanted = str(fewest) if fewest == most else (f"{fewest} or more" if most is None else f"{fewest} to {most}")
            raise ExpressionError(f"{func}() takes {wanted} argument(s), got {len(args)}", tok.pos)
        return Call(func, tuple(args), tok.pos)

    def name(self) -> Node:
        first = self.take()
        parts = [first]
        while self.at(".") and self.tokens[self.i + 1].kind in ("ident", "qname"):
            self.take()
            parts.append(self.take())
        if self.at("."):
            raise ExpressionError("expected a column name after '.'", self.tok.pos)
        if len(parts) == 2 and parts[0].kind == "ident" and parts[0].text in QUALIFIERS:
            return Name(parts[1].text, QUALIFIERS[parts[0].text], first.pos)
        return Name(".".join(p.text for p in parts), None, first.pos)


def _describe(tok: Token) -> str:
    if tok.kind == "eof":
        return "end of expression"
    if tok.kind == "str":
        return f"text {tok.text!r}"
    return repr(tok.text)
