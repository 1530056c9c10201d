"""A configuration error that carries every problem found, each naming file, line and field."""


class ConfigError(Exception):
    """Raised for bad settings or program rules; the CLI prints `problems` and exits 2."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
