"""The engine's log lines as a user gets them from `partnersync sync`: JSON, with run id, system, entity and
record ids, and never a secret, even when a system echoes the token back in an error."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from sandbox.hubspot import HubSpotSandbox
from sync.store import Store
from sync.store.tables import SyncRunRow
from tests.integration.test_hubspot import CUSTOM

EXE = Path(sys.executable).parent / "partnersync"
TOKEN = "pat-na1-7f3e9c1d-secret-token-0042"
CLIENT_SECRET = "client-secret-5b2a"


@pytest.fixture
def hs() -> Iterator[HubSpotSandbox]:
    with HubSpotSandbox(access_token=TOKEN, window_limit=100_000, search_per_second=100_000) as sb:
        for kind in ("companies", "deals"):
            sb.define_properties(kind, *CUSTOM, unique="partnersync_id")
        yield sb


def sync(workdir: Path, hs: HubSpotSandbox) -> tuple[str, list[dict[str, Any]]]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PARTNERSYNC_")},
           "PARTNERSYNC_HUBSPOT__BASE_URL": hs.url, "PARTNERSYNC_HUBSPOT__ACCESS_TOKEN": TOKEN,
           "PARTNERSYNC_HUBSPOT__CLIENT_SECRET": CLIENT_SECRET, "PARTNERSYNC_SALESFORCE__ENABLED": "false",
           "PARTNERSYNC_ERP__ENABLED": "false", "PARTNERSYNC_LOG_LEVEL": "DEBUG"}
    done = subprocess.run([str(EXE), "sync", "--once"], cwd=workdir, env=env, capture_output=True, text=True,
                          timeout=120)
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    return done.stdout + done.stderr, lines


def test_sync_logs_are_json_with_run_and_record_ids_and_no_secret(workdir: Path, hs: HubSpotSandbox) -> None:
    subprocess.run([str(EXE), "db", "upgrade"], cwd=workdir, capture_output=True, check=True)
    hs.create("companies", {"name": "Globex", "phone": "+1 650 555 0100"})
    bad = hs.create("companies", {"name": "Hooli", "phone": "not a phone"})["id"]
    first, lines = sync(workdir, hs)
    hs.faults.inject(401, body=json.dumps({"status": "error", "category": "INVALID_AUTHENTICATION",
                                           "message": f"Authentication credentials not found: Bearer {TOKEN}"}),
                     times=10, path="/search")
    second, more = sync(workdir, hs)

    for output in (first, second):
        assert TOKEN not in output and CLIENT_SECRET not in output
    engine = [line for line in lines + more if line["event"] not in ("alert fired", "alert resolved")]
    assert engine and all(line.get("run_id") and line.get("system") == "hubspot" and line.get("entity")
                          for line in engine), engine
    [quarantined] = [line for line in lines if line["event"] == "record quarantined"]
    assert (quarantined["external_id"], quarantined["category"], quarantined["field"]) == (bad, "validation", "phone")
    [failed, *_] = [line for line in more if line["event"] == "pull failed"]
    assert "401" in failed["error"] and "**********" in failed["error"]
    assert {line["event"] for line in lines} >= {"page applied", "run recorded", "pushed"}

    hub = Store(f"sqlite:///{workdir / 'partnersync.db'}")
    with hub.session() as session:
        messages = list(session.scalars(select(SyncRunRow.message).where(SyncRunRow.status == "failed")))
    hub.dispose()  # run messages are shown on pages: masked too
    assert messages and all(m and "401" in m and "**********" in m and TOKEN not in m for m in messages)
