"""`partnersync demo --no-serve --records 2000` as a newcomer runs it: a subprocess in an empty folder.

The printed summary is checked against the hub database the demo leaves behind, with this test's own
SQL (never the code that printed it), and against what the demo says it seeded and planted.
"""

import re
import socket
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

EXE = Path(sys.executable).parent / "partnersync"
NAMES = {"Salesforce": "salesforce", "HubSpot": "hubspot", "NetSuite": "netsuite"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, sqlite3.Connection]:
    cwd = tmp_path_factory.mktemp("demo")
    done = subprocess.run([str(EXE), "demo", "--no-serve", "--records", "2000"], cwd=cwd, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    db = sqlite3.connect(cwd / "partnersync-demo.db")
    return done.stdout, db


def rows(text: str, title: str) -> list[list[str]]:
    """The body rows of the rich table printed under `title`."""
    block = text.split(title, 1)[1]
    found = []
    for line in block.splitlines()[4:]:
        if not line.startswith("│"):
            if line.startswith("└"):
                break
            continue
        found.append([cell.strip() for cell in line.strip("│").split("│")])
    return found


def facts(text: str) -> dict[str, str]:
    return {what: value for what, value, *_ in rows(text, "partnersync demo")}


def numbers(text: str) -> list[Decimal]:
    return [Decimal(n.replace(",", "")) for n in re.findall(r"\d[\d,]*(?:\.\d+)?", text)]


def money(scaled: int) -> Decimal:
    """SQLite holds amounts as integers scaled by 10^4 (sync/store/types.py); the summary shows cents."""
    return Decimal(scaled).scaleb(-4).quantize(Decimal("0.01"))


def one(db: sqlite3.Connection, sql: str, *args: object) -> int:
    return int(db.execute(sql, args).fetchone()[0] or 0)


def test_a_busy_port_is_refused_before_the_run(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run([str(EXE), "demo", "--records", "50", "--port", str(port)], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and f"--port: 127.0.0.1:{port} is in use" in done.stderr
    assert not (tmp_path / "partnersync-demo.db").exists()


def test_what_moved_where_is_what_the_hub_recorded(demo: tuple[str, sqlite3.Connection]) -> None:
    out, db = demo
    printed = {(NAMES[r[0]], r[1]): [int(v) for v in r[2:]] for r in rows(out, "what moved where")}
    recorded = {(s, e): [runs, limited, rin, rout] for s, e, runs, limited, rin, rout in db.execute(
        "select system, entity, count(*), sum(status = 'rate_limited'), sum(records_in), sum(records_out) "
        "from sync_runs group by system, entity")}
    quarantined = dict(((s, e), n) for s, e, n in db.execute(
        "select system, entity, count(*) from sync_errors where status = 'open' group by system, entity"))
    assert set(printed) == {(s, e) for s in ("salesforce", "hubspot", "netsuite") for e in ("partner",)} | {
        ("salesforce", "deal"), ("hubspot", "deal"), ("netsuite", "payout")}
    for key, (runs, limited, pulled, new, echoes, pushed, held) in printed.items():
        assert [runs, limited, pulled, pushed] == recorded[key], key
        assert held == quarantined.get(key, 0), key
        assert new + echoes <= pulled, key
    # each CRM's rate-limit episode ended one run cleanly, and later runs went on
    assert printed[("salesforce", "partner")][1] == 1 and printed[("hubspot", "deal")][1] == 1
    assert recorded[("netsuite", "payout")][3] == one(db, "select count(*) from payouts where erp_bill_id is not null")


def test_seeded_records_arrive_everywhere_and_bad_ones_wait_in_quarantine(
        demo: tuple[str, sqlite3.Connection]) -> None:
    out, db = demo
    seeded = numbers(re.search(r"^seeded: (.*)$", out, re.M)[1])  # type: ignore[index]
    sf_accounts, sf_opps, hs_companies, hs_deals = seeded
    planted = re.search(r"^planted: (.*)$", out, re.M)[1]  # type: ignore[index]
    bad = int(re.search(r"(\d+) bad records", planted)[1])  # type: ignore[index]
    errors = db.execute("select system, entity, message from sync_errors where status = 'open'").fetchall()
    assert len(errors) == bad
    for reason in ("call me maybe", "ask for Bob at reception", "about 50k", "end of Q3",
                   "PartnerSync_Registration_Status__c: Input should be"):
        assert any(reason in message for *_, message in errors), reason
    bad_partners = sum(1 for _, entity, _ in errors if entity == "partner")
    merged = one(db, "select count(*) from partner_merges where undone_at is null")
    active = one(db, "select count(*) from partners where status = 'active'")
    assert active == sf_accounts + hs_companies - bad_partners - merged
    deals = one(db, "select count(*) from deals where deleted_at is null")
    assert deals == sf_opps + hs_deals - (bad - bad_partners)

    # the hub converged: every live record is linked in every system that holds its kind
    everywhere = one(db, "select count(*) from partners p where status = 'active' and 3 = (select count(distinct "
                     "system) from external_links l where l.entity = 'partner' and l.hub_id = p.id and not archived)")
    both_crms = one(db, "select count(*) from deals d where deleted_at is null and 2 = (select count(distinct system) "
                    "from external_links l where l.entity = 'deal' and l.hub_id = d.id and not archived "
                    "and system in ('salesforce', 'hubspot'))")
    assert (everywhere, both_crms) == (active, deals)
    summary = facts(out)
    assert numbers(summary["hub partners"])[:2] == [active, everywhere]
    assert numbers(summary["hub deals"])[:2] == [deals, both_crms]


def test_duplicates_conflicts_and_money_match_the_hub(demo: tuple[str, sqlite3.Connection]) -> None:
    out, db = demo
    summary = facts(out)
    merged = one(db, "select count(*) from partner_merges where undone_at is null")
    review = one(db, "select count(*) from duplicate_candidates where status = 'open'")
    candidates = one(db, "select count(*) from duplicate_candidates")
    assert numbers(summary["duplicate partners"]) == [merged + candidates, merged, review]
    names = {name for (name,) in db.execute("select name from partners where status = 'active'")}
    assert sum(1 for n in names if n.lower().startswith("acme networks")) == 1  # in both CRMs, twice in one
    assert sum(1 for n in names if n.startswith("Northwind Traders")) == 1  # spelled apart across CRMs
    assert review >= 1 and db.execute(  # the two Globex records differ in address: a person decides
        "select count(*) from duplicate_candidates c join partners a on a.id = c.partner_a join partners b "
        "on b.id = c.partner_b where c.status = 'open' and a.name like 'Globex%' and b.name like 'Globex%'"
    ).fetchone()[0] == 1

    conflicts = one(db, "select count(*) from registration_conflicts")
    assert numbers(summary["registration conflicts"])[0] == conflicts
    initech = db.execute("select id from deals where customer_domain = 'initech.com'").fetchall()
    assert len(initech) == 3
    involved = db.execute("select deal_id, other_deal_id from registration_conflicts c join deals d on "
                          "d.id = c.deal_id where d.customer_domain = 'initech.com'").fetchall()
    assert {d for pair in involved for d in pair} == {d for (d,) in initech}
    origins = dict(db.execute("select hub_id, system from external_links where id in (select min(id) from "
                              "external_links where entity = 'deal' group by hub_id)").fetchall())
    assert {origins[d] for (d,) in initech} == {"salesforce", "hubspot"}  # the conflict spans both CRMs
    pairs = db.execute("select deal_id, other_deal_id from registration_conflicts").fetchall()
    assert numbers(summary["registration conflicts"])[1] == sum(1 for a, b in pairs if origins[a] != origins[b])

    accruals, accrued = db.execute("select count(*), sum(amount) from accruals").fetchone()
    assert numbers(summary["accruals"]) == [accruals, money(accrued)]
    built, sent, total, paid, full = db.execute(
        "select count(*), count(erp_bill_id), sum(amount), sum(paid_amount), sum(status = 'paid') from payouts"
    ).fetchone()
    assert numbers(summary["payouts"]) == [built, sent, money(total)]
    assert numbers(summary["paid"]) == [money(paid), money(total), full]
    assert 0 < paid < total and sent == built > 0
    differences = one(db, "select sum(differences) from reconcile_runs where id in "
                          "(select max(id) from reconcile_runs group by period)")
    assert numbers(summary["reconciliation"])[0] == differences == 1  # the bill finance edited by hand
    assert re.findall(r"^reconciliation difference: (\w+):", out, re.M) == ["amount"]
    firing = db.execute("select rule, message from alerts where state = 'firing' order by fired_at, id").fetchall()
    assert numbers(summary["alerts firing"])[0] == len(firing)
    assert re.findall(r"^alert firing: (.*)$", out, re.M) == [f"{rule}: {message}" for rule, message in firing]
    assert {rule for rule, _ in firing} >= {"registration_sla", "reconciliation"}
    open_errors = one(db, "select count(*) from sync_errors where status = 'open'")
    assert sum(numbers(summary["quarantined"])) == open_errors
