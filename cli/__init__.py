"""The `partnersync` command line. Exit 0 ok, 1 failure, 2 bad input or configuration."""

from cli import demo, money, review, runs, setup, web  # noqa: F401  (each module registers its commands)
from cli.app import app


def main() -> None:
    app()
