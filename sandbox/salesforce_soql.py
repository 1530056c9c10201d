"""The SOQL the sandbox understands, parsed the way Salesforce does, never by string matching.

`SELECT f, ..., (SELECT ... FROM Child) FROM Object [WHERE cond] [ORDER BY f [ASC|DESC], ...]
[LIMIT n]`, where `cond` combines `field op literal` (=, !=, <, <=, >, >=) and `field [NOT] IN (...)`
with AND, OR, NOT and parentheses. Like Salesforce, AND and OR may not be mixed without
parentheses, dateTime literals are unquoted, and anything else is MALFORMED_QUERY.
"""

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

Row = dict[str, Any]
Predicate = Callable[[Row], bool]

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<op>!=|<=|>=|=|<|>|\(|\)|,)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
""", re.X)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
KEYWORDS = {"select", "from", "where", "and", "or", "not", "in", "order", "by", "asc", "desc", "limit",
            "nulls", "first", "last", "true", "false", "null"}


class MalformedQuery(Exception):
    """Salesforce's 400 MALFORMED_QUERY."""


@dataclass
class Query:
    sobject: str
    fields: list[str]
    children: dict[str, list[str]] = field(default_factory=dict)
    where: Predicate | None = None
    terms: list[tuple[str, Any]] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)
    limit: int | None = None


@dataclass
class _Token:
    kind: str
    text: str

    @property
    def word(self) -> str:
        return self.text.lower() if self.kind == "name" else ""


def tokenize(soql: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(soql):
        match = _TOKEN.match(soql, pos)
        if match is None:
            raise MalformedQuery(f"unexpected token: '{soql[pos:pos + 20]}'")
        if match.lastgroup != "ws":
            tokens.append(_Token(str(match.lastgroup), match.group()))
        pos = match.end()
    return tokens


def literal(token: _Token) -> Any:
    if token.kind == "string":
        return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[1]), token.text[1:-1])
    if token.kind == "datetime":
        text = token.text.replace("Z", "+00:00")
        if re.search(r"[+-]\d{4}$", text):
            text = f"{text[:-2]}:{text[-2:]}"
        return datetime.fromisoformat(text).astimezone(UTC)
    if token.kind == "date":
        return date.fromisoformat(token.text)
    if token.kind == "number":
        return Decimal(token.text)
    if token.word in {"true", "false"}:
        return token.word == "true"
    if token.word == "null":
        return None
    raise MalformedQuery(f"unexpected token: '{token.text}'")


class _Parser:
    def __init__(self, soql: str) -> None:
        self.tokens = tokenize(soql)
        self.pos = 0
        self.terms: list[tuple[str, Any]] = []

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def next(self) -> _Token:
        token = self.peek()
        if token is None:
            raise MalformedQuery("unexpected end of query")
        self.pos += 1
        return token

    def accept(self, word: str) -> bool:
        token = self.peek()
        if token is not None and (token.word == word or (token.kind == "op" and token.text == word)):
            self.pos += 1
            return True
        return False

    def expect(self, word: str) -> None:
        if not self.accept(word):
            token = self.peek()
            raise MalformedQuery(f"unexpected token: '{token.text if token else 'end of query'}', "
                                 f"expecting '{word.upper()}'")

    def name(self) -> str:
        token = self.next()
        if token.kind != "name" or token.word in KEYWORDS:
            raise MalformedQuery(f"unexpected token: '{token.text}'")
        return token.text

    def query(self) -> Query:
        self.expect("select")
        fields: list[str] = []
        children: dict[str, list[str]] = {}
        while True:
            if self.accept("("):
                self.expect("select")
                inner = [self.name()]
                while self.accept(","):
                    inner.append(self.name())
                self.expect("from")
                children[self.name()] = inner
                self.expect(")")
            else:
                fields.append(self.name())
            if not self.accept(","):
                break
        self.expect("from")
        result = Query(self.name(), fields, children)
        if self.accept("where"):
            result.where = self.condition()
            result.terms = self.terms
        if self.accept("order"):
            self.expect("by")
            while True:
                name = self.name()
                descending = self.accept("desc")
                if not descending:
                    self.accept("asc")
                if self.accept("nulls") and not (self.accept("first") or self.accept("last")):
                    raise MalformedQuery("expecting FIRST or LAST after NULLS")
                result.order.append((name, descending))
                if not self.accept(","):
                    break
        if self.accept("limit"):
            token = self.next()
            if token.kind != "number" or not token.text.isdigit():
                raise MalformedQuery(f"unexpected token: '{token.text}', expecting a number after LIMIT")
            result.limit = int(token.text)
        if self.peek() is not None:
            raise MalformedQuery(f"unexpected token: '{self.next().text}'")
        return result

    def condition(self) -> Predicate:
        """Terms joined by one connective only; mixing AND and OR needs parentheses (as in SOQL)."""
        terms = [self.term()]
        connective = ""
        while (token := self.peek()) is not None and token.word in {"and", "or"}:
            if connective and token.word != connective:
                raise MalformedQuery(f"unexpected token: '{token.text}' (use parentheses to mix AND and OR)")
            connective = token.word
            self.pos += 1
            terms.append(self.term())
        if connective == "or":
            return lambda row: any(t(row) for t in terms)
        return lambda row: all(t(row) for t in terms)

    def term(self) -> Predicate:
        if self.accept("not"):
            inner = self.term()
            return lambda row: not inner(row)
        if self.accept("("):
            inner = self.condition()
            self.expect(")")
            return inner
        name = self.name()
        negate = self.accept("not")
        if self.accept("in"):
            self.expect("(")
            values = [literal(self.next())]
            while self.accept(","):
                values.append(literal(self.next()))
            self.expect(")")
            self.terms += [(name, v) for v in values]
            return lambda row: (_fold(_get(row, name)) in [_fold(v) for v in values]) != negate
        if negate:
            raise MalformedQuery("unexpected token: 'NOT', expecting IN")
        op = self.next()
        if op.kind != "op" or op.text in {"(", ")", ","}:
            raise MalformedQuery(f"unexpected token: '{op.text}'")
        value = literal(self.next())
        self.terms.append((name, value))
        return lambda row: compare(_get(row, name), op.text, value)


def parse(soql: str) -> Query:
    return _Parser(soql).query()


def _get(row: Row, path: str) -> Any:
    value: Any = row
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _fold(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def compare(left: Any, op: str, right: Any) -> bool:
    """SOQL semantics: text equality ignores case; a comparison with null is only true for = / !=."""
    if op in {"=", "!="}:
        equal = _fold(left) == _fold(right)
        return equal if op == "=" else not equal
    if left is None or right is None:
        return False
    if isinstance(left, float | int) and isinstance(right, Decimal):
        left = Decimal(str(left))
    try:
        return bool(_ORDER[op](left, right))
    except TypeError as exc:
        raise MalformedQuery(f"cannot compare {type(left).__name__} with {type(right).__name__}") from exc


def sort_key(row: Row, *, name: str) -> tuple[bool, Any]:
    value = _get(row, name)
    return (value is not None, _fold(value) if name != "Id" else value)
