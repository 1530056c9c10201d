"""Jinja templates of the web pages (autoescaped; from the package, so an installed copy finds them)."""

from decimal import Decimal

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.templating import Jinja2Templates

from mapping.money import round_money
from sync.logs import masked


def amount(value: Decimal | None, currency: str | None) -> str:
    """An amount as people write it (1234.50 USD, 1000 JPY); digits beyond the minor unit are kept, not hidden."""
    if value is None:
        return "-"
    if not currency:
        return f"{value}"
    rounded = round_money(value, currency)
    return f"{rounded if rounded == value else value} {currency}"


def duration(seconds: int | None) -> str:
    """Lag as people read it: 45 s, 12 min, 3 h 5 min, 2 d 4 h."""
    if seconds is None:
        return "-"
    minutes, hours = seconds // 60, seconds // 3600
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{minutes} min"
    if seconds < 86400:
        return f"{hours} h {minutes % 60} min"
    return f"{seconds // 86400} d {hours % 24} h"


# finalize: every value a template prints passes the secret mask (settings are never passed to templates;
# this guards against a remote error message echoing a credential back).
_env = Environment(loader=PackageLoader("web", "templates"), autoescape=select_autoescape(default=True),
                   finalize=masked)
_env.globals.update(amount=amount, duration=duration)
templates = Jinja2Templates(env=_env)
