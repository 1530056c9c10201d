"""Odoo search domains (prefix notation with '&', '|', '!') evaluated over in-memory records."""

from collections.abc import Callable, Sequence
from typing import Any

Rec = dict[str, Any]
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a is not False and a is not None and a > b,
    ">=": lambda a, b: a is not False and a is not None and a >= b,
    "<": lambda a, b: a is not False and a is not None and a < b,
    "<=": lambda a, b: a is not False and a is not None and a <= b,
    "in": lambda a, b: a in b,
    "not in": lambda a, b: a not in b,
    "ilike": lambda a, b: isinstance(a, str) and str(b).lower() in a.lower(),
}


class DomainError(ValueError):
    """A malformed domain (Odoo answers it with a ValueError)."""


def _value(record: Rec, field: str) -> Any:
    value = record.get(field, False)
    if isinstance(value, list | tuple) and len(value) == 2 and isinstance(value[0], int):
        return value[0]  # a many2one compares by id
    return value if value is not None else False


def matcher(domain: Sequence[Any], fields: set[str]) -> Callable[[Rec], bool]:
    """A predicate for `domain`; leaves are `[field, operator, value]`, implicit '&' between terms."""
    items = list(domain)
    pos = 0

    def term() -> Callable[[Rec], bool]:
        nonlocal pos
        if pos >= len(items):
            raise DomainError(f"Invalid domain: an operator lacks operands in {domain!r}")
        item = items[pos]
        pos += 1
        if item in ("&", "|"):
            left, right = term(), term()
            if item == "&":
                return lambda r: left(r) and right(r)
            return lambda r: left(r) or right(r)
        if item == "!":
            inner = term()
            return lambda r: not inner(r)
        if not isinstance(item, list | tuple) or len(item) != 3:
            raise DomainError(f"Invalid leaf {item!r}")
        field, op, expected = item
        if field not in fields:
            raise DomainError(f"Invalid field {field!r} in leaf {item!r}")
        if op not in _OPS:
            raise DomainError(f"Invalid operator {op!r} in leaf {item!r}")
        compare = _OPS[op]
        return lambda r: bool(compare(_value(r, field), expected))

    terms = []
    while pos < len(items):
        terms.append(term())
    return lambda r: all(t(r) for t in terms)
