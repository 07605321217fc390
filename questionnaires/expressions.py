"""A safe parser and evaluator for the XLSForm expression language (an XPath subset).

Used for `relevant`, `constraint`, wave eligibility and group rules, e.g.
``${age} >= 60 and selected(${occupation}, 'farmer')``.  Expressions are parsed into a
small JSON-serialisable tree (nested lists), which the server evaluates here and the
respondent page evaluates with the same semantics in JavaScript, so no expression text is
ever handed to `eval`.

Tree nodes::

    ["num", 1.5]            ["str", "farmer"]        ["ref", "age"]      ["self"]
    ["op", "and", a, b]     ["neg", a]               ["call", "selected", [args]]
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

Node = list[Any]
Value = str | float | bool | list[str] | None


class ExpressionError(ValueError):
    """An expression that cannot be parsed; the message names the position."""


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<ref>\$\{[A-Za-z_][A-Za-z0-9_\-.]*\})
      | (?P<num>\d+(?:\.\d*)?|\.\d+)
      | (?P<str>'[^']*'|"[^"]*")
      | (?P<op><=|>=|!=|=|<|>|\+|-|\*|\(|\)|,)
      | (?P<name>[A-Za-z_][A-Za-z0-9_\-]*)
      | (?P<dot>\.)
    )""",
    re.VERBOSE,
)

# Binding power of infix operators (XPath precedence: or < and < equality < relational < additive < multiplicative).
_INFIX = {
    "or": 10,
    "and": 20,
    "=": 30,
    "!=": 30,
    "<": 40,
    "<=": 40,
    ">": 40,
    ">=": 40,
    "+": 50,
    "-": 50,
    "*": 60,
    "div": 60,
    "mod": 60,
}

FUNCTIONS: dict[str, tuple[int, int]] = {
    # name: (min args, max args)
    "selected": (2, 2),
    "count-selected": (1, 1),
    "not": (1, 1),
    "true": (0, 0),
    "false": (0, 0),
    "string-length": (1, 1),
    "number": (1, 1),
    "int": (1, 1),
    "if": (3, 3),
    "regex": (2, 2),
    "coalesce": (2, 2),
    "contains": (2, 2),
}


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    pos: int


def _tokenize(source: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(source):
        if source[pos:].strip() == "":
            break
        match = _TOKEN.match(source, pos)
        if match is None or match.end() == pos:
            bad = len(source) - len(source[pos:].lstrip())
            raise ExpressionError(f"unexpected character {source[bad]!r} at position {bad + 1}")
        kind = match.lastgroup or ""
        text, start = match.group(kind), match.start(kind)
        if kind == "name" and text in ("and", "or", "div", "mod"):
            kind = "op"
        tokens.append(_Tok(kind, text, start + 1))
        pos = match.end()
    tokens.append(_Tok("end", "", len(source) + 1))
    return tokens


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens = _tokenize(source)
        self.i = 0

    def peek(self) -> _Tok:
        return self.tokens[self.i]

    def take(self) -> _Tok:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def expect(self, text: str) -> None:
        tok = self.take()
        if tok.text != text:
            found = tok.text or "end of expression"
            raise ExpressionError(f"expected {text!r} at position {tok.pos}, found {found!r}")

    def parse(self) -> Node:
        node = self.expression(0)
        tok = self.peek()
        if tok.kind != "end":
            raise ExpressionError(f"unexpected {tok.text!r} at position {tok.pos}")
        return node

    def expression(self, min_power: int) -> Node:
        left = self.prefix()
        while True:
            tok = self.peek()
            power = _INFIX.get(tok.text) if tok.kind == "op" else None
            if power is None or power <= min_power:
                return left
            self.take()
            right = self.expression(power)
            left = ["op", tok.text, left, right]

    def prefix(self) -> Node:
        tok = self.take()
        if tok.kind == "num":
            return ["num", float(tok.text)]
        if tok.kind == "str":
            return ["str", tok.text[1:-1]]
        if tok.kind == "ref":
            return ["ref", tok.text[2:-1]]
        if tok.kind == "dot":
            return ["self"]
        if tok.text == "-":
            return ["neg", self.expression(55)]
        if tok.text == "(":
            node = self.expression(0)
            self.expect(")")
            return node
        if tok.kind == "name":
            return self.call(tok)
        found = tok.text or "end of expression"
        raise ExpressionError(f"unexpected {found!r} at position {tok.pos}")

    def call(self, name: _Tok) -> Node:
        if name.text not in FUNCTIONS:
            raise ExpressionError(f"unknown function {name.text!r} at position {name.pos}")
        self.expect("(")
        args: list[Node] = []
        if self.peek().text != ")":
            args.append(self.expression(0))
            while self.peek().text == ",":
                self.take()
                args.append(self.expression(0))
        self.expect(")")
        low, high = FUNCTIONS[name.text]
        if not low <= len(args) <= high:
            raise ExpressionError(
                f"{name.text}() takes {low if low == high else f'{low}–{high}'} argument(s), "
                f"got {len(args)} (position {name.pos})"
            )
        return ["call", name.text, args]


MAX_DEPTH = 64  # nesting of a tree; forms need a handful, and evaluation recurses over it


def parse(source: str) -> Node:
    """Return the tree of SOURCE; raise ExpressionError naming the position of a fault."""
    if not source or not source.strip():
        raise ExpressionError("empty expression")
    try:
        tree = _Parser(source).parse()
    except RecursionError:
        raise ExpressionError(f"expression nested too deeply (more than {MAX_DEPTH} levels)") from None
    if _depth(tree) > MAX_DEPTH:
        raise ExpressionError(f"expression nested too deeply (more than {MAX_DEPTH} levels)")
    return tree


def _depth(tree: Node) -> int:
    """Return how deep TREE nests (without recursion: it may be deep)."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        for part in node:
            if isinstance(part, list | tuple):  # a child node, or a call's list of arguments
                stack.append((part, level + 1 if part and isinstance(part[0], str) else level))
    return deepest


def references(node: Node) -> set[str]:
    """Return the field names that NODE reads via ${name}."""
    if node[0] == "ref":
        return {node[1]}
    if node[0] == "op":
        return references(node[2]) | references(node[3])
    if node[0] == "neg":
        return references(node[1])
    if node[0] == "call":
        found: set[str] = set()
        for arg in node[2]:
            found |= references(arg)
        return found
    return set()


# --- evaluation (XPath 1.0 coercions) -----------------------------------------------------


# Text is read as a number, and numbers written as text, exactly as JavaScript's Number() and
# String() do, so that the respondent page (expressions.js) and the server agree on every value.
_JS_SPACE = (
    " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_JS_SPACES = re.compile(f"[{_JS_SPACE}]+")
_JS_NUMBER = re.compile(
    r"[+-]?(?:Infinity|(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
    r"|0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+"
)


def _text_to_number(text: str) -> float:
    text = text.strip(_JS_SPACE)
    if not _JS_NUMBER.fullmatch(text):
        return math.nan
    if text[:2] in ("0x", "0X", "0o", "0O", "0b", "0B"):
        try:
            return float(int(text, 0))
        except OverflowError:
            return math.inf
    return float(text)


def _number_to_text(value: float) -> str:
    """Return VALUE as ECMAScript's Number::toString writes it (shortest round-trip digits)."""
    if math.isnan(value):
        return "NaN"
    if value == 0:
        return "0"
    if value < 0:
        return "-" + _number_to_text(-value)
    if math.isinf(value):
        return "Infinity"
    _, digit_tuple, exponent = Decimal(repr(value)).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    k, n = len(digits), len(digits) + int(exponent)  # value = 0.DIGITS × 10**n
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * -n + digits
    mantissa = digits[0] + ("." + digits[1:] if k > 1 else "")
    return f"{mantissa}e{'+' if n > 0 else '-'}{abs(n - 1)}"


def _to_number(value: Value) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, list):
        value = " ".join(value)
    if value is None:
        return math.nan
    return _text_to_number(str(value))


def _to_string(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return " ".join(value)
    if isinstance(value, float):
        return _number_to_text(value)
    return str(value)


def _to_bool(value: Value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return not (value == 0 or math.isnan(value))
    if isinstance(value, list):
        return len(value) > 0
    return bool(value)


def _compare(op: str, left: Value, right: Value) -> bool:
    if op in ("=", "!="):
        if isinstance(left, bool) or isinstance(right, bool):
            equal = _to_bool(left) == _to_bool(right)
        elif isinstance(left, (int, float)) or isinstance(right, (int, float)):
            equal = _to_number(left) == _to_number(right)
        else:
            equal = _to_string(left) == _to_string(right)
        return equal if op == "=" else not equal
    a, b = _to_number(left), _to_number(right)
    if math.isnan(a) or math.isnan(b):
        return False
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def _selections(value: Value) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [part for part in _JS_SPACES.split(_to_string(value)) if part]


def _call(name: str, args: list[Value]) -> Value:
    if name == "selected":
        return _to_string(args[1]) in _selections(args[0])
    if name == "count-selected":
        return float(len(_selections(args[0])))
    if name == "not":
        return not _to_bool(args[0])
    if name == "true":
        return True
    if name == "false":
        return False
    if name == "string-length":
        return float(len(_to_string(args[0])))
    if name == "number":
        return _to_number(args[0])
    if name == "int":
        number = _to_number(args[0])
        return float(math.trunc(number)) if math.isfinite(number) else number
    if name == "if":
        return args[1] if _to_bool(args[0]) else args[2]
    if name == "regex":
        return re.search(javascript_pattern(_to_string(args[1])), _to_string(args[0])) is not None
    if name == "coalesce":
        return args[0] if _to_string(args[0]) != "" else args[1]
    if name == "contains":
        return _to_string(args[1]) in _to_string(args[0])
    raise ExpressionError(f"unknown function {name!r}")  # pragma: no cover - parse() refuses it


def javascript_pattern(pattern: str) -> str:
    """Return PATTERN with JavaScript's meaning of `$` (end of text only, as on the page).

    Python's `$` also matches before a final newline; `\\Z` does not.  Escaped `\\$` and `$`
    inside a character class are left alone.
    """
    out, escaped, in_class = [], False, False
    for char in pattern:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            out.append(char)
            escaped = True
        elif char == "[":
            in_class = True
            out.append(char)
        elif char == "]":
            in_class = False
            out.append(char)
        elif char == "$" and not in_class:
            out.append(r"\Z")
        else:
            out.append(char)
    return "".join(out)


def evaluate(node: Node, values: Mapping[str, Value], current: Value = None) -> Value:
    """Return the value of NODE given field VALUES (missing fields are empty)."""
    kind = node[0]
    if kind == "num":
        return float(node[1])
    if kind == "str":
        return str(node[1])
    if kind == "ref":
        value = values.get(node[1])
        return "" if value is None else value
    if kind == "self":
        return "" if current is None else current
    if kind == "neg":
        return -_to_number(evaluate(node[1], values, current))
    if kind == "call":
        if node[1] == "if":
            cond, then, other = node[2]
            return evaluate(then if _to_bool(evaluate(cond, values, current)) else other, values, current)
        return _call(node[1], [evaluate(arg, values, current) for arg in node[2]])
    op, left_node, right_node = node[1], node[2], node[3]
    if op == "and":
        return _to_bool(evaluate(left_node, values, current)) and _to_bool(evaluate(right_node, values, current))
    if op == "or":
        return _to_bool(evaluate(left_node, values, current)) or _to_bool(evaluate(right_node, values, current))
    left, right = evaluate(left_node, values, current), evaluate(right_node, values, current)
    if op in ("=", "!=", "<", "<=", ">", ">="):
        return _compare(op, left, right)
    a, b = _to_number(left), _to_number(right)
    arithmetic: dict[str, Callable[[float, float], float]] = {
        "+": lambda x, y: x + y,
        "-": lambda x, y: x - y,
        "*": lambda x, y: x * y,
        "div": lambda x, y: x / y if y != 0 else (math.nan if x == 0 or math.isnan(x) else math.copysign(math.inf, x)),
        "mod": lambda x, y: math.fmod(x, y) if y != 0 and not math.isinf(x) else math.nan,
    }
    return arithmetic[op](a, b)


def holds(source: str | Node, values: Mapping[str, Value], current: Value = None) -> bool:
    """Return whether the expression is true; an empty expression always holds."""
    if isinstance(source, str):
        if not source.strip():
            return True
        source = _parsed(source)
    return _to_bool(evaluate(source, values, current))


@lru_cache(maxsize=1024)
def _parsed(source: str) -> Node:
    # Trees are never changed once built, so the few rules a process evaluates on every
    # submission (eligibility, groups) are parsed once.
    return parse(source)
