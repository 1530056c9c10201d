"""Jinja templates of the web pages (autoescaped; from the package, so an installed copy finds them)."""

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.templating import Jinja2Templates

templates = Jinja2Templates(env=Environment(loader=PackageLoader("web", "templates"),
                                            autoescape=select_autoescape(default=True)))
