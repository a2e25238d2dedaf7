"""The rules expression parser: precedence, names, literals, and errors with positions."""

import pytest

from report_api.engine.expressions import (
    MAX_DEPTH,
    Binary,
    Call,
    ExpressionError,
    Literal,
    Name,
    Unary,
    names,
    parse,
)


def show(node) -> str:
    """A fully parenthesised rendering, to check the tree's shape."""
    if isinstance(node, Literal):
        return repr(node.value)
    if isinstance(node, Name):
        return str(node)
    if isinstance(node, Unary):
        return f"({node.op} {show(node.operand)})"
    if isinstance(node, Binary):
        return f"({show(node.left)} {node.op} {show(node.right)})"
    return f"{node.func}({', '.join(show(a) for a in node.args)})"


@pytest.mark.parametrize(("text", "tree"), [
    ("a + b * c", "(a + (b * c))"),
    ("(a + b) * c", "((a + b) * c)"),
    ("a - b - c", "((a - b) - c)"),
    ("a / b % c", "((a / b) % c)"),
    ("-a * b", "((- a) * b)"),
    ("- -a", "(- (- a))"),
    ("a + b > c * 2", "((a + b) > (c * 2.0))"),
    ("a = 1 or b = 2 and c = 3", "((a = 1.0) or ((b = 2.0) and (c = 3.0)))"),
    ("not a = 1 and b", "((not (a = 1.0)) and b)"),
    ("a == b", "(a = b)"),
    ("a <> b", "(a != b)"),
    ("a >= -1.5e2", "(a >= -150.0)"),
    ("max(a, b + 1, .5)", "max(a, (b + 1.0), 0.5)"),
    ("IF(x AND y, 'p', \"q\")", "if((x and y), 'p', 'q')"),
    ("true or FALSE and Null = null", "(True or (False and (None = None)))"),
])
def test_precedence_and_shapes(text, tree):
    assert show(parse(text)) == tree


def test_names_plain_qualified_quoted_and_dotted():
    node = parse("input.a + ref.b + `odd name` + [x [1]]] + ref.`p q` + order.id + `ref.c`")
    found = [(n.source, n.name) for n in names(node)]
    assert found == [("input", "a"), ("ref", "b"), (None, "odd name"), (None, "x [1]"), ("ref", "p q"),
                     (None, "order.id"), (None, "ref.c")]


def test_unicode_identifiers_and_backtick_escape():
    assert [n.name for n in names(parse("prénom + `a``b`"))] == ["prénom", "a`b"]


def test_string_escapes_and_doubled_quotes():
    assert parse(r"'it\'s\n'").value == "it's\n"
    assert parse("'it''s'").value == "it's"
    assert parse('"say ""hi"""').value == 'say "hi"'


def test_positions_are_one_based_offsets():
    node = parse("a +  max(b, 1)")
    assert node.pos == 3
    assert isinstance(node.right, Call) and node.right.pos == 6
    assert node.right.args[0].pos == 10


@pytest.mark.parametrize(("text", "position", "fragment"), [
    ("maxx(a)", 1, "unknown function 'maxx'"),
    ("a + foo(1)", 5, "unknown function 'foo'"),
    ("a +", 4, "unexpected end"),
    ("(a + b", 7, "expected ')'"),
    ("a b", 3, "unexpected 'b'"),
    ("a < b < c", 7, "cannot be chained"),
    ("'abc", 1, "unterminated text"),
    ("`abc", 1, "unterminated quoted name"),
    ("a $ b", 3, "unexpected character '$'"),
    ("round()", 1, "round() takes 1 to 2 argument(s), got 0"),
    ("abs(1, 2)", 1, "abs() takes 1 argument(s), got 2"),
    ("if(a)", 1, "if() takes 2 to 3 argument(s)"),
    ("max(a,)", 7, "unexpected ')'"),
    ("12abc", 1, "invalid number"),
    ("ref.", 4, "expected a column name after '.'"),
    ("'a\\q'", 3, "unknown escape"),
    ("", 1, "empty expression"),
    ("   ", 1, "empty expression"),
])
def test_errors_point_at_the_position(text, position, fragment):
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    assert fragment in caught.value.message
    assert caught.value.position == position


def test_keywords_need_backticks_as_names():
    with pytest.raises(ExpressionError):
        parse("and + 1")
    assert [n.name for n in names(parse("`and` + 1"))] == ["and"]


def test_nesting_is_limited():
    deep = "(" * (MAX_DEPTH + 5) + "1" + ")" * (MAX_DEPTH + 5)
    with pytest.raises(ExpressionError, match="nested deeper"):
        parse(deep)
    assert parse("(" * 50 + "1" + ")" * 50).value == 1.0
    with pytest.raises(ExpressionError, match="nested deeper"):
        parse("-" * (MAX_DEPTH + 5) + "a")


def test_trees_are_immutable_and_comparable():
    a, b = parse("x + 1"), parse("x + 1")
    assert a == b and hash(a) == hash(b)
    with pytest.raises(AttributeError):
        a.op = "-"
