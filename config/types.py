"""Small validated value types shared by settings, program rules and the unified model."""

from collections.abc import Callable
from decimal import Decimal
from typing import Annotated

import pycountry
from pydantic import AfterValidator, Field

SYSTEMS = ("salesforce", "hubspot", "netsuite", "odoo", "hub")
ENTITIES = ("partner", "deal", "accrual", "payout")


def _currency(code: str) -> str:
    code = code.strip().upper()
    if pycountry.currencies.get(alpha_3=code) is None:
        raise ValueError(f"unknown currency {code!r} (ISO 4217 code expected)")
    return code


def one_of(names: tuple[str, ...], what: str) -> Callable[[str], str]:
    """A validator that accepts only `names`, and says which ones when it refuses."""

    def check(name: str) -> str:
        if name not in names:
            raise ValueError(f"unknown {what} {name!r}; expected one of {', '.join(names)}")
        return name

    return check


Currency = Annotated[str, AfterValidator(_currency)]
System = Annotated[str, AfterValidator(one_of(SYSTEMS, "system"))]
Rate = Annotated[Decimal, Field(ge=0, le=1)]
Amount = Annotated[Decimal, Field(ge=0)]
