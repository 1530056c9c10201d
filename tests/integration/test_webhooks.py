"""POST /webhooks/hubspot over real HTTP: v3 signature, 5-minute window, replayed event ids."""

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from config import Settings
from sandbox.server import SandboxServer
from sync.store import Store
from sync.webhooks import Event
from web.app import create_app
from web.webhooks import signature

SECRET = "app-client-secret"


@pytest.fixture
def served(store: Store) -> Iterator[tuple[str, list[list[Event]]]]:
    settings = Settings.model_validate({"hubspot": {"client_secret": SECRET}})
    app = create_app(settings, store)
    calls: list[list[Event]] = []
    app.state.on_hubspot_events = calls.append
    with SandboxServer(app) as server:
        yield server.url, calls


def post(url: str, events: list[dict[str, Any]], *, age_ms: int = 0, secret: str = SECRET) -> httpx.Response:
    body = json.dumps(events).encode()
    stamp = str(int(time.time() * 1000) - age_ms)
    uri = f"{url}/webhooks/hubspot"
    headers = {"X-HubSpot-Signature-v3": signature(secret, "POST", uri, body, stamp),
               "X-HubSpot-Request-Timestamp": stamp, "Content-Type": "application/json"}
    return httpx.post(uri, content=body, headers=headers)


EVENTS = [{"eventId": 101, "subscriptionType": "company.propertyChange", "objectId": 5001, "propertyName": "name"},
          {"eventId": 102, "subscriptionType": "deal.creation", "objectId": 7001}]


def test_valid_signature_enqueues_pulls_once(served: tuple[str, list[list[Event]]]) -> None:
    url, calls = served
    first = post(url, EVENTS)
    assert first.status_code == 200 and first.json() == {"accepted": 2, "duplicates": 0, "pulls": 2}
    assert calls == [[("deal", "7001", "creation"), ("partner", "5001", "propertyChange")]]
    replay = post(url, EVENTS)
    assert replay.status_code == 200 and replay.json()["accepted"] == 0 and len(calls) == 1


def test_bad_signature_is_401_and_changes_nothing(served: tuple[str, list[list[Event]]]) -> None:
    url, calls = served
    assert post(url, EVENTS, secret="someone-else").status_code == 401
    assert calls == []
    assert post(url, EVENTS).json()["accepted"] == 2  # the refused delivery recorded nothing


def test_old_timestamp_is_401(served: tuple[str, list[list[Event]]]) -> None:
    url, calls = served
    answer = post(url, EVENTS, age_ms=6 * 60 * 1000)
    assert answer.status_code == 401 and "5 minutes" in answer.json()["error"] and calls == []


def test_unsigned_is_401(served: tuple[str, list[list[Event]]]) -> None:
    url, _ = served
    assert httpx.post(f"{url}/webhooks/hubspot", json=EVENTS).status_code == 401
