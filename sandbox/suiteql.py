"""A small SuiteQL evaluator for the NetSuite sandbox: single-table SELECT with WHERE and ORDER BY.

It answers like SuiteQL does where a client can trip: datetimes are compared and shown in the user's
time zone, a date or datetime selected without TO_CHAR comes back in the user's date format (M/D/YYYY),
booleans are "T"/"F", and null columns are left out of the row. Anything outside the subset is a
`QueryError` (the sandbox answers 400), never a silent wrong answer.
"""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

Row = dict[str, Any]
_TOKEN = re.compile(r"\s*(?:('(?:[^']|'')*')|(\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_.]*)|(<>|!=|>=|<=|[=<>(),*]))")
_FORMATS = {"YYYY-MM-DD HH24:MI:SS": "%Y-%m-%d %H:%M:%S", "YYYY-MM-DD": "%Y-%m-%d"}
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b, "<>": lambda a, b: a != b, "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b, "<": lambda a, b: a < b, ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b,
}


class QueryError(ValueError):
    """The query is not valid SuiteQL (or not in the subset this sandbox answers)."""


@dataclass
class _Column:
    name: str
    alias: str
    to_char: str | None = None


class _Parser:
    def __init__(self, text: str, columns: set[str], table: str, zone: ZoneInfo) -> None:
        self.tokens = self._tokenize(text)
        self.pos = 0
        self.columns = columns
        self.table = table
        self.zone = zone

    @staticmethod
    def _tokenize(text: str) -> list[str]:
        tokens, pos = [], 0
        text = text.strip()
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if not match or match.end() == pos:
                raise QueryError(f"Invalid search query: unexpected text near {text[pos:pos + 20]!r}")
            tokens.append(match.group(0).strip())
            pos = match.end()
        return tokens

    def peek(self) -> str:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ""

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if not token or (expected and token.upper() != expected):
            raise QueryError(f"Invalid search query: expected {expected or 'more'} near {token!r}")
        self.pos += 1
        return token

    def column(self) -> str:
        name = self.take().lower()
        if name not in self.columns:
            raise QueryError(f"Invalid search query: field '{name}' for record '{self.table}' was not found")
        return name

    def select_item(self) -> _Column:
        if self.peek().upper() == "TO_CHAR":
            self.take()
            self.take("(")
            name = self.column()
            self.take(",")
            fmt = self.string()
            self.take(")")
            if fmt not in _FORMATS:
                raise QueryError(f"Invalid search query: unsupported format {fmt!r}")
            column = _Column(name, name, fmt)
        else:
            name = self.column()
            column = _Column(name, name)
        if self.peek().upper() == "AS":
            self.take()
            column.alias = self.take().lower()
        return column

    def string(self) -> str:
        token = self.take()
        if not token.startswith("'"):
            raise QueryError(f"Invalid search query: expected a string near {token!r}")
        return token[1:-1].replace("''", "'")

    def operand(self) -> Callable[[Row], Any]:
        token = self.peek()
        if token.upper() == "TO_TIMESTAMP":
            self.take()
            self.take("(")
            text = self.string()
            self.take(",")
            fmt = self.string()
            self.take(")")
            if fmt not in _FORMATS:
                raise QueryError(f"Invalid search query: unsupported format {fmt!r}")
            try:
                moment = datetime.strptime(text, _FORMATS[fmt]).replace(tzinfo=self.zone).astimezone(UTC)
            except ValueError as error:
                raise QueryError(f"Invalid search query: {error}") from error
            return lambda row: moment
        if token.startswith("'"):
            value = self.string()
            return lambda row: value
        if re.fullmatch(r"\d+(\.\d+)?", token):
            self.take()
            number = Decimal(token)
            return lambda row: number
        name = self.column()
        return lambda row: _comparable(row.get(name))

    def factor(self) -> Callable[[Row], bool]:
        if self.peek() == "(":
            self.take()
            inner = self.expr()
            self.take(")")
            return inner
        left = self.operand()
        op = self.take()
        if op.upper() == "IS":
            negate = self.peek().upper() == "NOT"
            if negate:
                self.take()
            self.take("NULL")
            return lambda row: (left(row) is None) != negate
        if op not in _OPS:
            raise QueryError(f"Invalid search query: unsupported operator {op!r}")
        right = self.operand()
        compare = _OPS[op]

        def test(row: Row) -> bool:
            a, b = left(row), right(row)
            return a is not None and b is not None and compare(a, b)

        return test

    def term(self) -> Callable[[Row], bool]:
        parts = [self.factor()]
        while self.peek().upper() == "AND":
            self.take()
            parts.append(self.factor())
        return lambda row: all(p(row) for p in parts)

    def expr(self) -> Callable[[Row], bool]:
        parts = [self.term()]
        while self.peek().upper() == "OR":
            self.take()
            parts.append(self.term())
        return lambda row: any(p(row) for p in parts)


def _comparable(value: Any) -> Any:
    if isinstance(value, str) and value.isdigit():
        return Decimal(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    return value


def table_of(text: str) -> str:
    """The table a query reads (to pick the rows before parsing the whole query)."""
    match = re.search(r"\bFROM\s+([A-Za-z_][A-Za-z0-9_]*)", text, re.IGNORECASE)
    if not match:
        raise QueryError("Invalid search query: no FROM clause")
    return match.group(1).lower()


def run(text: str, rows: Iterable[Row], columns: set[str], zone: ZoneInfo) -> list[Row]:
    """Evaluate `text` over `rows` (lower-case column names; datetimes UTC-aware)."""
    parser = _Parser(text, columns, table_of(text), zone)
    parser.take("SELECT")
    selected = [parser.select_item()]
    while parser.peek() == ",":
        parser.take()
        selected.append(parser.select_item())
    parser.take("FROM")
    parser.take()
    where: Callable[[Row], bool] = lambda row: True  # noqa: E731
    if parser.peek().upper() == "WHERE":
        parser.take()
        where = parser.expr()
    order: list[tuple[str, bool]] = []
    if parser.peek().upper() == "ORDER":
        parser.take()
        parser.take("BY")
        while True:
            name = parser.column()
            descending = parser.peek().upper() == "DESC"
            if parser.peek().upper() in {"ASC", "DESC"}:
                parser.take()
            order.append((name, descending))
            if parser.peek() != ",":
                break
            parser.take()
    if parser.peek():
        raise QueryError(f"Invalid search query: unexpected {parser.peek()!r}")
    found = [row for row in rows if where(row)]
    for name, descending in reversed(order):
        found.sort(key=_sort_key(name), reverse=descending)
    return [_project(row, selected, zone) for row in found]


def _sort_key(name: str) -> Callable[[Row], tuple[bool, Any]]:
    """Nulls last; numbers as numbers (ids are text in a row)."""
    return lambda row: (row.get(name) is None, _comparable(row.get(name)))


def _project(row: Row, selected: list[_Column], zone: ZoneInfo) -> Row:
    out: Row = {}
    for column in selected:
        value = row.get(column.name)
        if value is None or value == "":
            continue
        out[column.alias] = _show(value, column.to_char, zone)
    return out


def _show(value: Any, to_char: str | None, zone: ZoneInfo) -> Any:
    if isinstance(value, datetime):
        local = value.astimezone(zone)
        return local.strftime(_FORMATS[to_char]) if to_char else f"{local.month}/{local.day}/{local.year}"
    if isinstance(value, date):
        return value.strftime(_FORMATS[to_char]) if to_char else f"{value.month}/{value.day}/{value.year}"
    if isinstance(value, bool):
        return "T" if value else "F"
    return value
