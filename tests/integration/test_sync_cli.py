"""`partnersync sync|errors|history` against the Salesforce sandbox and a real database."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from sandbox.salesforce import SalesforceSandbox
from tests.integration.salesforce_fixtures import sandbox

__all__ = ["sandbox"]
runner = CliRunner()


def _env(sb: SalesforceSandbox, url: str) -> dict[str, str]:
    return {"PARTNERSYNC_DATABASE_URL": url, "PARTNERSYNC_SALESFORCE__INSTANCE_URL": sb.url,
            "PARTNERSYNC_SALESFORCE__ACCESS_TOKEN": sb.access_token, "PARTNERSYNC_SALESFORCE__LOGIN_URL": sb.url,
            "PARTNERSYNC_SALESFORCE__VERIFY_TLS": sb.ca_file, "PARTNERSYNC_HUBSPOT__ENABLED": "false",
            "PARTNERSYNC_ERP__ENABLED": "false", "COLUMNS": "250"}


def test_sync_pulls_the_sandbox_and_errors_list_and_history_answer(
        sandbox: SalesforceSandbox, database_url: str, workdir: Path) -> None:
    sandbox.seed_accounts(5)
    env = _env(sandbox, database_url)
    dry = runner.invoke(app, ["sync", "--dry-run", "--entity", "partner"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "salesforce" in dry.output and "partner" in dry.output

    done = runner.invoke(app, ["sync", "--once", "--entity", "partner"], env=env)
    assert done.exit_code == 0, done.output
    assert "salesforce" in done.output
    [account] = sandbox.records("Account")[:1]
    lineage = runner.invoke(app, ["history", "partner", account["Id"], "--field", "name"], env=env)
    assert lineage.exit_code == 0 and "salesforce" in lineage.output, lineage.output
    listed = runner.invoke(app, ["errors", "list"], env=env)
    assert listed.exit_code == 0


@pytest.mark.parametrize("args", [["sync", "--entity", "widget"], ["errors", "retry"], ["errors", "show", "999"],
                                  ["history", "widget", "x"]])
def test_bad_input_exits_2_with_a_message(sandbox: SalesforceSandbox, database_url: str, workdir: Path,
                                          args: list[str]) -> None:
    result = runner.invoke(app, args, env=_env(sandbox, database_url))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


def test_no_system_configured_exits_2(workdir: Path, database_url: str) -> None:
    result = runner.invoke(app, ["sync"], env={"PARTNERSYNC_DATABASE_URL": database_url})
    assert result.exit_code == 2 and "no system configured" in result.output
