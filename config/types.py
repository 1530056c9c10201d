"""Small validated value types shared by settings, program rules and the unified model."""

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


def _system(name: str) -> str:
    if name not in SYSTEMS:
        raise ValueError(f"unknown system {name!r}; expected one of {', '.join(SYSTEMS)}")
    return name


Currency = Annotated[str, AfterValidator(_currency)]
System = Annotated[str, AfterValidator(_system)]
Rate = Annotated[Decimal, Field(ge=0, le=1)]
Amount = Annotated[Decimal, Field(ge=0)]
