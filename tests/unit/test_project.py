"""The README's test command is the one CI runs."""

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_ci_runs_the_readme_test_command() -> None:
    readme = ROOT.joinpath("README.md").read_text()
    commands = re.findall(r"^\s*(python3 -m venv .+)$", readme, flags=re.M)
    assert len(commands) == 2, commands
    test_command = next(c for c in commands if "pytest" in c)
    assert test_command in ROOT.joinpath(".ci", "run").read_text()
