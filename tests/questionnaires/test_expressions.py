"""The XLSForm expression language: parser, XPath coercions, errors, and agreement with the
JavaScript evaluator the respondent page runs (frontend/static/frontend/expressions.js)."""
from __future__ import annotations

import json
import math
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from questionnaires.expressions import ExpressionError, evaluate, holds, parse, references

ROOT = Path(__file__).resolve().parents[2]
EXPRESSIONS_JS = ROOT / "frontend" / "static" / "frontend" / "expressions.js"
HARNESS_JS = Path(__file__).with_name("expressions_harness.js")


def num(x: float) -> list[Any]:
    return ["num", float(x)]


def ref(name: str) -> list[Any]:
    return ["ref", name]


def op(symbol: str, left: list[Any], right: list[Any]) -> list[Any]:
    return ["op", symbol, left, right]


def value_of(source: str, values: dict[str, Any] | None = None, current: Any = None) -> Any:
    return evaluate(parse(source), values or {}, current)


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("source", "tree"),
    [
        ("1 + 2 * 3", op("+", num(1), op("*", num(2), num(3)))),
        ("1 * 2 + 3", op("+", op("*", num(1), num(2)), num(3))),
        ("(1 + 2) * 3", op("*", op("+", num(1), num(2)), num(3))),
        ("1 - 2 - 3", op("-", op("-", num(1), num(2)), num(3))),
        ("8 div 4 div 2", op("div", op("div", num(8), num(4)), num(2))),
        ("2 * 3 mod 4 div 5", op("div", op("mod", op("*", num(2), num(3)), num(4)), num(5))),
        ("1 < 2 = 2 > 1", op("=", op("<", num(1), num(2)), op(">", num(2), num(1)))),
        ("1 + 1 >= 2", op(">=", op("+", num(1), num(1)), num(2))),
        ("${a} or ${b} and ${c}", op("or", ref("a"), op("and", ref("b"), ref("c")))),
        ("${a} and ${b} or ${c}", op("or", op("and", ref("a"), ref("b")), ref("c"))),
        ("${a} = 1 and ${b} != 'x'", op("and", op("=", ref("a"), num(1)), op("!=", ref("b"), ["str", "x"]))),
        ("- 2 - 3", op("-", ["neg", num(2)], num(3))),
        ("-${a} = 2", op("=", ["neg", ref("a")], num(2))),
        (". >= 0", op(">=", ["self"], num(0))),
        (".5 + 1.", op("+", num(0.5), num(1))),
        ('"say \'hi\'"', ["str", "say 'hi'"]),
        ("selected(${occupation}, 'farmer')", ["call", "selected", [ref("occupation"), ["str", "farmer"]]]),
        ("count-selected(${f}) >= 2", op(">=", ["call", "count-selected", [ref("f")]], num(2))),
        ("true()", ["call", "true", []]),
        ("not(${a} = 1)", ["call", "not", [op("=", ref("a"), num(1))]]),
        ("if(${a}, 1, 2)", ["call", "if", [ref("a"), num(1), num(2)]]),
        ("${group.item-2}", ref("group.item-2")),
    ],
)
def test_parse_builds_trees_with_xpath_precedence_and_left_associativity(source: str, tree: list[Any]) -> None:
    assert parse(source) == tree


def test_parse_tree_is_plain_json() -> None:
    tree = parse("if(selected(${f}, 'a'), -${n} * 2.5, count-selected(.)) > 1 or not(${x} = '')")
    assert json.loads(json.dumps(tree)) == tree


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("1 - 2 - 3", -4.0),
        ("8 div 4 div 2", 1.0),
        ("2 + 3 * 4", 14.0),
        ("(2 + 3) * 4", 20.0),
        ("-2 * 3", -6.0),
        ("- 2 - 3", -5.0),
        ("10 mod 4 * 2", 4.0),
        ("7 mod -3", 1.0),
        ("-7 mod 3", -1.0),
        ("1 < 2 = 2 > 1", True),
        ("1 = 2 or 2 = 2 and 3 = 3", True),
        ("(1 = 2 or 2 = 2) and 3 = 4", False),
    ],
)
def test_arithmetic_and_logic_follow_precedence(source: str, value: Any) -> None:
    assert value_of(source) == value


# --------------------------------------------------------------------------- coercions


@pytest.mark.parametrize(
    ("source", "values", "expected"),
    [
        # A missing or empty value is the empty string: it compares false with any number ...
        ("${x} = 0", {}, False),
        ("${x} < 1", {}, False),
        ("${x} > -1", {}, False),
        ("${x} >= 0", {"x": ""}, False),
        ("${x} + 1 > 0", {}, False),
        # ... but equals the empty string, and differs from every number.
        ("${x} = ''", {}, True),
        ("${x} != 0", {}, True),
        # Number against string converts the string; relational operators always compare numbers.
        ("'10' = 10", {}, True),
        ("' 5 ' = 5", {}, True),
        ("'abc' = 0", {}, False),
        ("'2' < '10'", {}, True),
        ("'2' = '2.0'", {}, False),
        ("2 = '2.0'", {}, True),
        ("${age} >= 60", {"age": 62}, True),
        ("${age} >= 60", {"age": "59"}, False),
        # Against a boolean both sides become booleans.
        ("true() = 1", {}, True),
        ("false() = ''", {}, True),
        ("true() = 'false'", {}, True),
        ("false() = 0", {}, True),
        # selected() and count-selected() take a list or a space-separated string.
        ("selected(${f}, 'c')", {"f": ["a", "c"]}, True),
        ("selected(${f}, 'b')", {"f": ["a", "c"]}, False),
        ("selected(${f}, 'c')", {"f": "a c"}, True),
        ("selected(${f}, 'a c')", {"f": "a c"}, False),
        ("selected(${f}, 'a')", {}, False),
        ("count-selected(${f}) = 2", {"f": ["a", "c"]}, True),
        ("count-selected(${f}) = 3", {"f": " a  b\tc "}, True),
        ("count-selected(${f}) = 0", {}, True),
        ("${f} = 'a c'", {"f": ["a", "c"]}, True),
        # not() negates the boolean value: the empty string, 0 and [] are false, '0' is not.
        ("not(${x})", {}, True),
        ("not(0)", {}, True),
        ("not('0')", {}, False),
        ("not(${f})", {"f": []}, True),
        ("not(${f})", {"f": ["a"]}, False),
        ("not(number('x'))", {}, True),
        # if() picks a branch by the boolean value of its condition.
        ("if(${age} >= 60, 'elder', 'other') = 'elder'", {"age": 75}, True),
        ("if(${age} >= 60, 'elder', 'other') = 'elder'", {}, False),
        # The other functions.
        ("string-length(${t}) = 5", {"t": "素养调查表"}, True),
        ("string-length(12.5) = 4", {}, True),
        ("contains(${t}, 'arm')", {"t": "farmer"}, True),
        ("coalesce(${x}, 'none') = 'none'", {}, True),
        ("coalesce(${x}, 'none') = 'set'", {"x": "set"}, True),
        ("regex(${p}, '^1[3-9][0-9]{9}$')", {"p": "13812345678"}, True),
        ("regex(${p}, '^1[3-9][0-9]{9}$')", {"p": "12812345678"}, False),
        ("number('4') + int(2.9) = 6", {}, True),
        ("int(-2.9) = -2", {}, True),
    ],
)
def test_xpath_coercions(source: str, values: dict[str, Any], expected: bool) -> None:
    assert holds(source, values) is expected


@pytest.mark.parametrize(
    ("current", "ok"),
    [(0, True), (24, True), (25, False), (-1, False), ("12", True), ("", False), (None, False), ("abc", False)],
)
def test_dot_is_the_value_being_checked(current: Any, ok: bool) -> None:
    assert holds(". >= 0 and . <= 24", {}, current=current) is ok


def test_dot_reads_the_current_value_not_a_field_named_dot() -> None:
    assert holds(". = 'x'", {".": "y"}, current="x")
    assert holds("count-selected(.) = 2", {}, current=["a", "b"])


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 div 0", math.inf),
        ("-1 div 0", -math.inf),
        ("0 div 0", math.nan),
        ("5 mod 0", math.nan),
        ("(1 div 0) mod 2", math.nan),
        ("int(1 div 0)", math.inf),
        ("number('x') div 0", math.nan),
        ("${x} div 0", math.nan),
    ],
)
def test_division_by_zero_follows_ieee_754(source: str, expected: float) -> None:
    result = value_of(source)
    if math.isnan(expected):
        assert math.isnan(result)
    else:
        assert result == expected


def test_division_by_zero_is_never_true_in_a_constraint() -> None:
    assert not holds("0 div 0 = 0 div 0", {})
    assert holds("1 div 0 > 1000000", {})


@pytest.mark.parametrize(
    ("number", "text"),
    [
        ("1 div 0", "Infinity"),
        ("-1 div 0", "-Infinity"),
        ("0 div 0", "NaN"),
        ("3", "3"),
        ("2.50", "2.5"),
        ("-0", "0"),
        ("1 div 4", "0.25"),
        ("0.00001", "0.00001"),
        ("0.0000001", "1e-7"),
        ("123456789 * 1000000000000", "123456789000000000000"),
        ("123456789 * 10000000000000", "1.23456789e+21"),
    ],
)
def test_numbers_become_text_as_on_the_respondent_page(number: str, text: str) -> None:
    # There is no string() function; string-length() and contains() use the same conversion.
    assert holds(f"string-length({number}) = {len(text)}", {})
    assert holds(f"contains({number}, '{text}')", {})


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("12", 12.0),
        (" 12 ", 12.0),
        ("\u3000-3.5\u3000", -3.5),
        (".5", 0.5),
        ("5.", 5.0),
        ("1e3", 1000.0),
        ("Infinity", math.inf),
        ("", math.nan),
        ("abc", math.nan),
        ("inf", math.nan),
        ("nan", math.nan),
        ("1_000", math.nan),
        ("\uff11\uff12", math.nan),  # full-width digits: not a number on the page either
        ("1 2", math.nan),
    ],
)
def test_number_reads_text_like_the_respondent_page(text: str, number: float) -> None:
    result = evaluate(["call", "number", [["str", text]]], {})
    assert (math.isnan(result) and math.isnan(number)) or result == number


def test_empty_expression_always_holds() -> None:
    assert holds("", {})
    assert holds("   ", {})
    assert holds(parse("1 = 1"), {})
    assert not holds(parse("1 = 2"), {})


def test_missing_fields_are_empty() -> None:
    assert evaluate(parse("${nobody}"), {}) == ""
    assert evaluate(parse("${nobody}"), {"nobody": None}) == ""


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("", "empty expression"),
        ("   ", "empty expression"),
        ("#", "unexpected character '#' at position 1"),
        ("${age} >= 18 & 1", "unexpected character '&' at position 14"),
        ("1 +   #", "unexpected character '#' at position 7"),
        ("'unclosed", "unexpected character \"'\" at position 1"),
        ("${age", "unexpected character '$' at position 1"),
        ("foo(1)", "unknown function 'foo' at position 1"),
        ("1 + bar()", "unknown function 'bar' at position 5"),
        ("selected(${a})", "selected() takes 2 argument(s), got 1 (position 1)"),
        ("1 = true(1)", "true() takes 0 argument(s), got 1 (position 5)"),
        ("if(1, 2)", "if() takes 3 argument(s), got 2 (position 1)"),
        ("(1 + 2", "expected ')' at position 7, found 'end of expression'"),
        ("not(1", "expected ')' at position 6, found 'end of expression'"),
        ("not 1", "expected '(' at position 5, found '1'"),
        ("1 2", "unexpected '2' at position 3"),
        ("1 +", "unexpected 'end of expression' at position 4"),
        ("and 1", "unexpected 'and' at position 1"),
        ("1 or or 2", "unexpected 'or' at position 6"),
        ("()", "unexpected ')' at position 2"),
    ],
)
def test_parse_errors_name_what_and_where(source: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse(source)
    assert str(caught.value) == message


def test_expression_errors_are_value_errors() -> None:
    assert issubclass(ExpressionError, ValueError)
    with pytest.raises(ValueError):
        holds("1 +", {})


# --------------------------------------------------------------------------- references


@pytest.mark.parametrize(
    ("source", "names"),
    [
        ("${a} > 1 and selected(${b}, 'x') or -${c} = count-selected(${a})", {"a", "b", "c"}),
        ("if(${a}, ${b}, not(${c}))", {"a", "b", "c"}),
        ("'${x}' = ${y}", {"y"}),
        (". >= 0 and . <= 24", set()),
        ("true()", set()),
    ],
)
def test_references_lists_every_field_read(source: str, names: set[str]) -> None:
    assert references(parse(source)) == names


# --------------------------------------------------------------------------- JavaScript mirror


@pytest.fixture(scope="module")
def javascript() -> Iterator[Callable[[list[dict[str, Any]]], list[dict[str, Any]]]]:
    """Return a function that evaluates a batch of cases in one long-lived node process."""
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip("node is not on PATH: cannot run frontend/static/frontend/expressions.js")
    process = subprocess.Popen(
        [node, str(HARNESS_JS), str(EXPRESSIONS_JS)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    assert process.stdin is not None and process.stdout is not None

    def run(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
        process.stdin.write(json.dumps(cases, ensure_ascii=False) + "\n")  # type: ignore[union-attr]
        process.stdin.flush()  # type: ignore[union-attr]
        line = process.stdout.readline()  # type: ignore[union-attr]
        assert line, "the node harness stopped"
        return json.loads(line)  # type: ignore[no-any-return]

    yield run
    process.stdin.close()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def tagged(value: Any) -> list[Any]:
    """Return VALUE tagged as the harness tags JavaScript values."""
    if isinstance(value, bool):
        return ["b", value]
    if isinstance(value, (int, float)):
        number = float(value)
        if math.isnan(number):
            return ["n", "NaN"]
        if math.isinf(number):
            return ["n", "Infinity" if number > 0 else "-Infinity"]
        return ["n", number]
    if isinstance(value, str):
        return ["s", value]
    if isinstance(value, list):
        return ["l", [str(v) for v in value]]
    return ["?", repr(value)]


def python_result(tree: list[Any], values: dict[str, Any], current: Any) -> dict[str, Any]:
    try:
        return {"value": tagged(evaluate(tree, values, current)), "holds": holds(tree, values, current)}
    except Exception as exc:  # noqa: BLE001 - a crash is a disagreement to report, not to hide
        return {"value": ["error", f"{type(exc).__name__}: {exc}"], "holds": None}


NAMES = ("a", "b", "age", "occ")
NUMBER_LITERALS = ("0", "1", "2", "3", "7", "10", "0.5", "2.5", "100", "0.1", "0.00001", "123456789", "1.", ".25")
SPECIAL_TEXT = (
    "", " ", "12", " 12 ", "-4", "+5", ".5", "5.", "1e3", "1e-7", "0x10", "Infinity", "-Infinity", "inf",
    "nan", "NaN", "1_000", "\uff11\uff12", "farmer", "a b", "a  b", "true", "false", "中文", "\u3000", "0.1",
)
# BMP only and no newline: both are known divergences with their own tests below.
TEXT_ALPHABET = "ab01 .-+e\t\u3000\u00a0x中I"
OPTIONS = ("a", "b", "c", "farmer", "1")
REGEX_PATTERNS = ("^[0-9]+$", "a", "^$", "^[a-z ]*$", "1", "^-?[0-9]+(\\.[0-9]+)?$", "b|中")

texts = st.one_of(st.sampled_from(SPECIAL_TEXT), st.text(alphabet=TEXT_ALPHABET, max_size=6))
field_values = st.one_of(
    st.none(),
    st.integers(min_value=-(10**9), max_value=10**9),
    st.floats(allow_nan=False, allow_infinity=False),
    texts,
    st.lists(st.sampled_from(OPTIONS), max_size=3, unique=True),
)

Expr = tuple[str, list[Any]]  # (source text, the tree it must parse to)


def _quoted(text: str) -> str:
    return f"'{text}'"


leaves: st.SearchStrategy[Expr] = st.one_of(
    st.sampled_from(NUMBER_LITERALS).map(lambda t: (t, ["num", float(t)])),
    texts.map(lambda t: (_quoted(t), ["str", t])),
    st.sampled_from(NAMES).map(lambda n: ("${" + n + "}", ["ref", n])),
    st.just((".", ["self"])),
    st.sampled_from(("true", "false")).map(lambda f: (f"{f}()", ["call", f, []])),
)


def _call(name: str, *args: Expr) -> Expr:
    return f"{name}({', '.join(a[0] for a in args)})", ["call", name, [a[1] for a in args]]


def _extend(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    ops = ("or", "and", "=", "!=", "<", "<=", ">", ">=", "+", "-", "*", "div", "mod")
    return st.one_of(
        st.tuples(st.sampled_from(ops), children, children).map(
            lambda t: (f"({t[1][0]} {t[0]} {t[2][0]})", ["op", t[0], t[1][1], t[2][1]])
        ),
        # Parenthesised whole: the parser lets unary minus take a following product (-(2) * 3
        # reads as -(2 * 3)), which has the same value but another tree.
        children.map(lambda c: (f"(-({c[0]}))", ["neg", c[1]])),
        st.tuples(st.sampled_from(("not", "count-selected", "string-length", "number", "int")), children).map(
            lambda t: _call(t[0], t[1])
        ),
        st.tuples(st.sampled_from(("selected", "coalesce", "contains")), children, children).map(
            lambda t: _call(t[0], t[1], t[2])
        ),
        st.tuples(children, children, children).map(lambda t: _call("if", *t)),
        st.tuples(children, st.sampled_from(REGEX_PATTERNS)).map(
            lambda t: _call("regex", t[0], (_quoted(t[1]), ["str", t[1]]))
        ),
    )


expressions = st.recursive(leaves, _extend, max_leaves=10)
cases = st.fixed_dictionaries(
    {
        "expr": expressions,
        "values": st.fixed_dictionaries({}, optional={name: field_values for name in NAMES}),
        "current": field_values,
    }
)


def known_javascript_divergence(tree: list[Any], values: dict[str, Any], current: Any) -> bool:
    """Return whether TREE divides NaN by zero somewhere (expressions.js gives -Infinity, see below)."""
    if tree[0] == "op" and tree[1] == "div":
        dividend = evaluate(["call", "number", [tree[2]]], values, current)
        divisor = evaluate(["call", "number", [tree[3]]], values, current)
        if math.isnan(dividend) and divisor == 0:
            return True
    children: list[Any] = []
    if tree[0] == "op":
        children = tree[2:]
    elif tree[0] == "neg":
        children = [tree[1]]
    elif tree[0] == "call":
        children = tree[2]
    return any(known_javascript_divergence(child, values, current) for child in children)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(cases, min_size=1, max_size=20))
def test_python_and_javascript_evaluators_agree(
    javascript: Callable[[list[dict[str, Any]]], list[dict[str, Any]]], batch: list[dict[str, Any]]
) -> None:
    to_run = []
    for case in batch:
        source, tree = case["expr"]
        # The parser reads the generated text back into the tree it was generated from.
        assert parse(source) == tree, source
        if not known_javascript_divergence(tree, case["values"], case["current"]):
            to_run.append({"source": source, "tree": tree, "values": case["values"], "current": case["current"]})
    results = javascript([{k: c[k] for k in ("tree", "values", "current")} for c in to_run])
    for case, js in zip(to_run, results, strict=True):
        if js["value"][0] == "n" and not isinstance(js["value"][1], str):
            js["value"][1] = float(js["value"][1])  # JSON may spell a large double as an int
        py = python_result(case["tree"], case["values"], case["current"])
        assert py == js, f"{case['source']!r} with values {case['values']!r}, current {case['current']!r}"


def test_javascript_harness_sees_the_real_evaluator(
    javascript: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
) -> None:
    # Guards the property test against a harness that agrees with everything.
    (result,) = javascript([{"tree": parse("${a} + 1"), "values": {"a": "41"}, "current": None}])
    assert result == {"value": ["n", 42], "holds": True}


def test_javascript_divides_nan_by_zero_like_the_server(
    javascript: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
) -> None:
    tree = parse("number('x') div 0")
    (result,) = javascript([{"tree": tree, "values": {}, "current": None}])
    assert result == python_result(tree, {}, None)


def test_javascript_counts_characters_like_the_server(
    javascript: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
) -> None:
    tree = parse("string-length(${name})")
    values = {"name": "吉𠮷"}
    (result,) = javascript([{"tree": tree, "values": values, "current": None}])
    assert result == python_result(tree, values, None)


def test_regex_end_anchor_agrees_on_a_trailing_newline(
    javascript: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
) -> None:
    tree = parse("regex(., '^[0-9]{11}$')")
    (result,) = javascript([{"tree": tree, "values": {}, "current": "13812345678\n"}])
    assert result == python_result(tree, {}, "13812345678\n")
