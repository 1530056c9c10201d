"""Jinja templates of the web pages (autoescaped; from the package, so an installed copy finds them)."""

from decimal import Decimal

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.templating import Jinja2Templates

from mapping.money import round_money


def amount(value: Decimal | None, currency: str | None) -> str:
    """An amount as people write it (1234.50 USD, 1000 JPY); digits beyond the minor unit are kept, not hidden."""
    if value is None:
        return "-"
    if not currency:
        return f"{value}"
    rounded = round_money(value, currency)
    return f"{rounded if rounded == value else value} {currency}"


_env = Environment(loader=PackageLoader("web", "templates"), autoescape=select_autoescape(default=True))
_env.globals["amount"] = amount
templates = Jinja2Templates(env=_env)
