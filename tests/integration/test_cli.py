"""The command line as a user runs it: a real process, real exit codes, no tracebacks."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.test_config import EXAMPLE

EXE = Path(sys.executable).parent / "partnersync"


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EXE), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_version_and_help(workdir: Path) -> None:
    assert run("--version", cwd=workdir).stdout.startswith("partnersync ")
    for args in (["--help"], ["db", "upgrade", "--help"], ["config", "check", "--help"], ["status", "--help"]):
        result = run(*args, cwd=workdir)
        assert result.returncode == 0 and "Usage" in result.stdout, args


def test_a_hub_without_its_schema_is_named_not_a_traceback(workdir: Path) -> None:
    result = run("status", cwd=workdir)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "database_url: the hub is empty (no schema yet)" in result.stderr
    assert "run `partnersync db upgrade`" in result.stderr


def test_upgrade_then_status_on_sqlite(workdir: Path) -> None:
    assert run("db", "upgrade", cwd=workdir).returncode == 0
    assert (workdir / "partnersync.db").exists()
    result = run("status", cwd=workdir)
    assert result.returncode == 0 and "no runs yet" in result.stdout
    assert '"streams": []' in run("status", "--json", cwd=workdir).stdout


def test_upgrade_on_postgresql(workdir: Path, pg_database_url: str) -> None:
    import os

    env = {**os.environ, "PARTNERSYNC_DATABASE_URL": pg_database_url}
    result = run("db", "upgrade", cwd=workdir, env=env)
    assert result.returncode == 0, result.stderr
    assert run("status", cwd=workdir, env=env).returncode == 0


def test_config_check(workdir: Path) -> None:
    ok = run("config", "check", str(EXAMPLE), cwd=workdir)
    assert ok.returncode == 0 and ok.stdout.startswith("ok:"), ok.stderr
    bad = workdir / "bad.yaml"
    bad.write_text(EXAMPLE.read_text().replace("tier: from:hub", "tier: sideways"))
    result = run("config", "check", str(bad), cwd=workdir)
    assert result.returncode == 2
    assert f"{bad}:" in result.stderr and "program.field_rules.partner.tier: unknown field rule" in result.stderr
    assert "Traceback" not in result.stderr
    missing = run("config", "check", "nope.yaml", cwd=workdir)
    assert missing.returncode == 2 and "nope.yaml: no such file" in missing.stderr


@pytest.mark.parametrize("url", ["postgresql://nobody@127.0.0.1:1/none", "sqlite:////no/such/dir/x.db"])
def test_unreachable_database_is_a_clean_failure(workdir: Path, url: str) -> None:
    import os

    result = run("db", "upgrade", cwd=workdir, env={**os.environ, "PARTNERSYNC_DATABASE_URL": url})
    assert result.returncode == 1 and "database_url: cannot migrate" in result.stderr
    assert "Traceback" not in result.stderr
