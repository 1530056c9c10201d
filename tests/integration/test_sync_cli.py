"""`partnersync sync`, `errors` and `history` as a user runs them, against a live Salesforce sandbox."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.salesforce import SalesforceSandbox

EXE = Path(sys.executable).parent / "partnersync"


@pytest.fixture
def sf() -> Iterator[SalesforceSandbox]:
    with SalesforceSandbox() as sb:
        yield sb


def cli(*args: str, cwd: Path, sf: SalesforceSandbox) -> subprocess.CompletedProcess[str]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PARTNERSYNC_")},
           "PARTNERSYNC_SALESFORCE__INSTANCE_URL": sf.url, "PARTNERSYNC_SALESFORCE__ACCESS_TOKEN": sf.access_token,
           "PARTNERSYNC_SALESFORCE__VERIFY_TLS": sf.ca_file, "PARTNERSYNC_HUBSPOT__ENABLED": "false",
           "PARTNERSYNC_ERP__ENABLED": "false", "COLUMNS": "250"}
    return subprocess.run([str(EXE), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_dry_run_then_sync_then_quarantine_edit_and_replay(workdir: Path, sf: SalesforceSandbox) -> None:
    assert cli("db", "upgrade", cwd=workdir, sf=sf).returncode == 0
    [good] = sf.seed_accounts(1, Name="Globex", Phone=None)
    [bad] = sf.seed_accounts(1, Name="Hooli", Phone="not a phone")

    dry = cli("sync", "--dry-run", cwd=workdir, sf=sf)
    assert dry.returncode == 0, dry.stderr
    assert "salesforce partner" in dry.stdout and "update" in dry.stdout
    assert "partnersync_id: None -> " in dry.stdout
    assert cli("status", "--json", cwd=workdir, sf=sf).stdout.count('"system"') == 0  # nothing written

    run = cli("sync", "--once", cwd=workdir, sf=sf)
    assert run.returncode == 0, run.stderr
    assert sf.get("Account", good)["PartnerSync_Id__c"]

    listed = cli("errors", "list", cwd=workdir, sf=sf)
    assert "Phone" in listed.stdout and "validation" in listed.stdout
    shown = json.loads(cli("errors", "show", "1", cwd=workdir, sf=sf).stdout)
    assert shown["external_id"] == bad and shown["raw_payload"]["Name"] == "Hooli"
    assert cli("errors", "retry", "1", cwd=workdir, sf=sf).returncode == 1  # still bad

    fixed = {**shown["raw_payload"], "Phone": "+1 650 555 0100"}
    (workdir / "fixed.json").write_text(json.dumps(fixed))
    assert cli("errors", "edit", "1", "--payload", "fixed.json", cwd=workdir, sf=sf).returncode == 0
    replay = cli("errors", "retry", "1", cwd=workdir, sf=sf)
    assert replay.returncode == 0 and "fixed 1" in replay.stdout, (replay.stdout, replay.stderr)
    assert "no quarantined records" in cli("errors", "list", cwd=workdir, sf=sf).stdout
    assert sf.get("Account", bad)["PartnerSync_Id__c"]  # the replayed record was pushed (our id stamped)

    lineage = cli("history", "partner", good, cwd=workdir, sf=sf)
    assert lineage.returncode == 0 and "Globex" in lineage.stdout and "salesforce" in lineage.stdout


def test_unknown_system_is_bad_input(workdir: Path, sf: SalesforceSandbox) -> None:
    cli("db", "upgrade", cwd=workdir, sf=sf)
    result = cli("sync", "--once", "--system", "sap", cwd=workdir, sf=sf)
    assert result.returncode == 2 and "--system: 'sap' is not configured" in result.stderr
