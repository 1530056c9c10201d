"""`partnersync incentives ...` and `partnersync reconcile` as a user runs them: real process, exit codes."""

import json
import os
from pathlib import Path

from sqlalchemy import select

from sync.store import Store
from sync.store.tables import PayoutRow
from tests.integration.incentive_data import deal, partner
from tests.integration.test_cli import run
from tests.unit.test_config import EXAMPLE


def test_accrue_approve_payout_and_reconcile(workdir: Path) -> None:
    env = {**os.environ, "PARTNERSYNC_CONFIG": str(EXAMPLE),
           "PARTNERSYNC_DATABASE_URL": f"sqlite:///{workdir / 'hub.db'}"}
    assert run("db", "upgrade", cwd=workdir, env=env).returncode == 0
    store = Store(env["PARTNERSYNC_DATABASE_URL"])
    with store.session() as s:
        partner(s, "p1", netsuite="V-1")
        partner(s, "p2")
        deal(s, "d1", "p1", "2026-01-15", "40000")
        deal(s, "d2", "p2", "2026-01-20", "1000")
        deal(s, "bad", "p1", "2026-01-21", "1000", "CHF")
    accrued = run("incentives", "accrue", cwd=workdir, env=env)
    assert accrued.returncode == 0, accrued.stderr
    assert "2 new accruals" in accrued.stdout and "1 quarantined" in accrued.stdout
    assert "deal bad: currency: unknown currency 'CHF'" in accrued.stderr
    bad = run("incentives", "approve", "--all", "--id", "x", "--by", "ann", cwd=workdir, env=env)
    assert bad.returncode == 2 and "give --id ID (repeatable) or --all" in bad.stderr
    approved = run("incentives", "approve", "--all", "--by", "ann", cwd=workdir, env=env)
    assert approved.returncode == 0 and "1 accruals approved by ann" in approved.stdout
    payouts = run("incentives", "payouts", "--period", "2026-01", cwd=workdir, env=env)
    assert payouts.returncode == 1 and "1 payouts created" in payouts.stdout
    assert "partner p2 (Partner p2): partner_id: no vendor link in netsuite" in payouts.stderr
    assert run("incentives", "payouts", "--period", "26-1", cwd=workdir, env=env).returncode == 2
    with store.session() as s:
        payout = s.scalars(select(PayoutRow)).one()
    store.dispose()
    bills = workdir / "bills.json"
    bills.write_text("[]")
    missing = run("reconcile", "--period", "2026-01", "--format", "csv", "--bills", str(bills), cwd=workdir, env=env)
    assert missing.returncode == 1 and missing.stdout.splitlines()[0] == "kind,payout_id,partner_id,hub,erp,detail"
    assert {line.split(",")[0] for line in missing.stdout.splitlines()[1:]} == {"missing_bill", "missing_payout"}
    bills.write_text(json.dumps([{"payout_id": payout.id, "bill_id": "B1", "amount": "2000.00", "currency": "USD",
                                  "status": "open"}]))
    result = run("reconcile", "--period", "2026-01", "--format", "json", "--bills", str(bills), cwd=workdir, env=env)
    assert result.returncode == 1 and [d["kind"] for d in json.loads(result.stdout)["differences"]] == [
        "missing_payout"]
    bills.write_text('[{"bill_id": "B1"}]')
    broken = run("reconcile", "--period", "2026-01", "--bills", str(bills), cwd=workdir, env=env)
    assert broken.returncode == 2 and "bill 0 (B1): amount: missing" in broken.stderr
    assert "Traceback" not in broken.stderr + payouts.stderr + accrued.stderr
    over = run("incentives", "mdf-claim", "--partner", "p1", "--reference", "C-1", "--amount", "5",
               "--currency", "USD", "--date", "2026-01-20", cwd=workdir, env=env)
    assert over.returncode == 2 and "mdf claim C-1: tier 'registered' has no MDF budget" in over.stderr
