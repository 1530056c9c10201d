"""`partnersync duplicates ...` and `conflicts ...` against the hub, run in-process (the CSV and main CLI
tests already cover the real console script; this keeps the many invocations here fast)."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner, Result

from cli import app
from config import Settings
from config.program import ProgramRules, Registration
from sync import conflicts, dedup
from sync.context import RuleContext
from sync.store import Store
from sync.store.tables import DealProductRow, DealRow, PartnerMergeRow, PartnerRow


def run(*args: str, url: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"PARTNERSYNC_DATABASE_URL": url})


def test_review_queue_and_conflicts_from_the_command_line(workdir: Path, store: Store) -> None:
    with store.session() as s:
        s.add_all([PartnerRow(id="cli-b1", name="Initech LLC", country="US", city="Austin"),
                   PartnerRow(id="cli-b2", name="Initech Inc", country="US"),
                   PartnerRow(id="cli-c1", name="Hooli Corp", country="US"),
                   PartnerRow(id="cli-c2", name="Hooli Inc", country="US")])
        s.flush()
        dedup.on_partners_changed(RuleContext(session=s, settings=Settings()), ["cli-b1", "cli-b2", "cli-c1",
                                                                               "cli-c2"])
        now = datetime.now(UTC)
        for deal_id, partner, ago in (("cli-d1", "cli-b1", 5), ("cli-d2", "cli-c1", 1)):
            s.add(DealRow(id=deal_id, partner_id=partner, name=deal_id, customer_name="Contoso",
                          customer_domain="contoso.com", customer_country="GB", registration_status="approved",
                          registered_at=now - timedelta(days=ago)))
            s.flush()
            s.add(DealProductRow(deal_id=deal_id, product="fw", family="firewall"))
        manual = Settings(program=ProgramRules(registration=Registration(policy="manual")))
        conflicts.on_deals_changed(RuleContext(session=s, settings=manual), ["cli-d1", "cli-d2"])
    listed = run("duplicates", "list", url=store.url)
    assert listed.exit_code == 0 and "cli-b1" in listed.output and "cli-c1" in listed.output, listed.stderr
    with store.session() as s:
        ids = {c.partner_a: c.id for c in dedup.open_candidates(s)}
    merged = run("duplicates", "merge", str(ids["cli-b1"]), url=store.url)
    assert merged.exit_code == 0 and "cli-b2 -> cli-b1" in merged.output, merged.stderr
    rejected = run("duplicates", "reject", str(ids["cli-c1"]), url=store.url)
    assert rejected.exit_code == 0, rejected.output
    again = run("duplicates", "reject", str(ids["cli-c1"]), url=store.url)
    assert again.exit_code == 2 and "already rejected" in again.stderr
    with store.session() as s:
        merge_id = s.scalars(select(PartnerMergeRow.id)).one()
    undone = run("duplicates", "unmerge", str(merge_id), url=store.url)
    assert undone.exit_code == 0 and "cli-b2 restored" in undone.output, undone.stderr
    assert run("duplicates", "unmerge", "999999", url=store.url).exit_code == 2

    shown = run("conflicts", "list", url=store.url)
    assert shown.exit_code == 0 and "customer_overlap" in shown.output, shown.stderr
    with store.session() as s:
        conflict_id = conflicts.open_conflicts(s)[0].id
    wrong = run("conflicts", "resolve", str(conflict_id), "--winner", "nope", url=store.url)
    assert wrong.exit_code == 2 and "winner 'nope' is neither" in wrong.stderr
    resolved = run("conflicts", "resolve", str(conflict_id), "--winner", "cli-d2", url=store.url)
    assert resolved.exit_code == 0, resolved.output
    with store.session() as s:
        assert s.get(DealRow, "cli-d1").registration_status == "rejected"  # type: ignore[union-attr]
    for result in (again, wrong):
        assert "Traceback" not in result.stderr
