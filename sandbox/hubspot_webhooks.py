"""Webhook deliveries from the HubSpot sandbox: each change in the portal, as HubSpot sends it.

Set `HubSpotSandbox.on_change = Deliveries(url, client_secret)` and every create, update and archive
(over the API or made directly, as a rep's edit) becomes a v3 event (`company.creation`,
`deal.propertyChange`, ...) posted to `url`, signed with `X-HubSpot-Signature-v3`, up to 100 events a
request, from a thread of its own (the change never waits for the delivery).
"""

import itertools
import json
import queue
import threading
import time

import httpx
import structlog

from web.webhooks import signature

log = structlog.get_logger("partnersync.sandbox")
OBJECT = {"companies": "company", "deals": "deal"}
BATCH = 100
Event = dict[str, object]


class Deliveries:
    def __init__(self, url: str, client_secret: str, *, portal_id: int = 62515, app_id: int = 1) -> None:
        self.url, self.secret = url, client_secret
        self.portal_id, self.app_id = portal_id, app_id
        self._ids = itertools.count(1)
        self._queue: queue.Queue[Event | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="hubspot-webhooks", daemon=True)
        self._thread.start()

    def __call__(self, kind: str, object_id: str, change: str) -> None:
        """`HubSpotSandbox.on_change`: `change` is creation, propertyChange or deletion."""
        self._queue.put({"eventId": next(self._ids), "subscriptionId": 1, "portalId": self.portal_id,
                         "appId": self.app_id, "occurredAt": int(time.time() * 1000),
                         "subscriptionType": f"{OBJECT[kind]}.{change}", "attemptNumber": 0,
                         "objectId": int(object_id), "changeSource": "CRM"})

    def join(self) -> None:
        """Wait until every change so far has been delivered (tests)."""
        self._queue.join()

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while (first := self._queue.get()) is not None:
            events, done = [first], False
            while len(events) < BATCH and not done:
                try:
                    nxt = self._queue.get(timeout=0.2)  # HubSpot sends changes close in time together
                except queue.Empty:
                    break
                done = nxt is None
                if nxt is not None:
                    events.append(nxt)
            self._post(events)
            for _ in range(len(events) + done):
                self._queue.task_done()
            if done:
                return
        self._queue.task_done()

    def _post(self, events: list[Event]) -> None:
        body = json.dumps(events).encode()
        stamp = str(int(time.time() * 1000))
        headers = {"Content-Type": "application/json", "X-HubSpot-Request-Timestamp": stamp,
                   "X-HubSpot-Signature-v3": signature(self.secret, "POST", self.url, body, stamp)}
        try:
            answer = httpx.post(self.url, content=body, headers=headers, timeout=10)
            log.info("webhook delivered", url=self.url, events=len(events), status=answer.status_code)
        except httpx.HTTPError as exc:  # HubSpot retries later; the sandbox drops it (polling catches up)
            log.warning("webhook not delivered", url=self.url, events=len(events), error=str(exc))
