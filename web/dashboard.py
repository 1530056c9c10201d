"""The ops dashboard: stream health, lag and error-rate charts, the queues a person works, payouts.

Reads come from sync (health, timeline, overview); every button is a POST form (web.security) that
calls the same sync function as its CLI command and comes back to the page with the outcome.
Replayed records and decisions queue their write-backs in the outbox; the next sync cycle pushes them.
"""

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from config import Settings
from sync.alerts import firing, history
from sync.health import streams
from sync.overview import load, reconciliation
from sync.payouts import PayoutError, check_period
from sync.store import Store
from sync.systems import System
from sync.timeline import series
from web import security
from web.charts import Series, line_chart
from web.security import Flash, form_action
from web.templating import templates

WINDOW_HOURS = 24
ALERT_HISTORY = 20


def _period(value: str | None, now: datetime) -> str:
    try:
        return check_period(value) if value else now.strftime("%Y-%m")
    except PayoutError:
        return now.strftime("%Y-%m")


def _hours(value: str | None) -> int:
    return int(value) if value and value.isdigit() and 0 < int(value) <= 24 * 90 else WINDOW_HOURS


def page_context(store: Store, settings: Settings, period: str, hours: int, with_reconcile: bool) -> dict[str, Any]:
    """Everything the page shows (blocking reads: run in a thread)."""
    now = datetime.now(UTC)
    timeline = series(store, now - timedelta(hours=hours))
    return {
        "streams": streams(store, settings, now),
        "alerts": firing(store),
        "alert_history": [a for a in history(store, ALERT_HISTORY) if a.state != "firing"],
        "lag_chart": line_chart(f"Lag (minutes), last {hours} h", [
            Series(s.name, [(p.at, p.lag_seconds / 60) for p in s.points if p.lag_seconds is not None])
            for s in timeline], unit=" min"),
        "error_chart": line_chart(f"Error rate (% of records per run), last {hours} h", [
            Series(s.name, [(p.at, p.error_rate) for p in s.points]) for s in timeline], unit="%"),
        "overview": load(store, period),
        "reconciliation": reconciliation(store, settings, period) if with_reconcile else None,
        "period": period,
        "hours": hours,
        "now": now,
    }


async def index(request: Request) -> Response:
    if security.user(request) is None:
        return security.challenge()
    now = datetime.now(UTC)
    params = request.query_params
    period, hours = _period(params.get("period"), now), _hours(params.get("hours"))
    context = await run_in_threadpool(page_context, request.app.state.store, request.app.state.settings, period,
                                      hours, params.get("reconcile") == "1")
    token, fresh = security.csrf(request)
    kept = urlencode([(k, v) for k, v in params.multi_items() if k != "reconcile"])  # actions don't re-read the ERP
    back = request.url.path + (f"?{kept}" if kept else "")
    response = templates.TemplateResponse(request, "dashboard.html", {
        **context, "csrf": token, "back": back, "flash": security.flash(request)})
    return security.finish(request, response, fresh)


def _by(request: Request) -> str:
    return f"web:{security.user(request) or 'dashboard'}"


def _systems(request: Request) -> dict[str, System]:
    systems: dict[str, System] = request.app.state.systems()
    return systems


async def replay(request: Request, form: dict[str, str]) -> Flash:
    """Quarantined record -> today's mapping and rules (as `errors retry ID`)."""
    from sync.replay import retry

    error_id = request.path_params["error_id"]
    store, settings = request.app.state.store, request.app.state.settings
    report = await run_in_threadpool(lambda: retry(store, settings, _systems(request), [error_id]))
    if error_id in report.fixed:
        return Flash("ok", f"record {error_id} replayed: fixed, its changes are queued for the next push")
    if error_id in report.requeued:
        return Flash("ok", f"record {error_id} queued to be pushed again")
    if error_id in report.failing:
        return Flash("error", f"record {error_id} replayed: still failing (reason below)")
    return Flash("error", f"record {error_id} is not an open quarantined record")


def _decide(request: Request, work: Any) -> Any:
    def run() -> Any:
        with request.app.state.store.session() as session:
            return work(session)
    return run_in_threadpool(run)


async def duplicate(request: Request, form: dict[str, str]) -> Flash:
    """Approve (merge) or reject a queued duplicate pair (as `duplicates merge|reject`)."""
    from sync.dedup import accept, reject
    from sync.merge import MergeError

    candidate, decision = request.path_params["candidate"], form.get("decision")
    rules = request.app.state.settings.program.dedup
    try:
        if decision == "merge":
            record = await _decide(request, lambda s: accept(s, rules, candidate, _by(request)))
            return Flash("ok", f"pair {candidate} merged: {record.loser_id} into {record.survivor_id}")
        if decision == "reject":
            await _decide(request, lambda s: reject(s, candidate, _by(request)))
            return Flash("ok", f"pair {candidate} rejected: never proposed again")
    except MergeError as exc:
        return Flash("error", str(exc))
    return Flash("error", f"pair {candidate}: decision must be merge or reject")


async def conflict(request: Request, form: dict[str, str]) -> Flash:
    """Decide a registration conflict (as `conflicts resolve --winner`)."""
    from sync.conflicts import ConflictError, resolve

    conflict_id, winner = request.path_params["conflict_id"], form.get("winner", "")
    note = form.get("note", "").strip() or "decided on the dashboard"
    try:
        await _decide(request, lambda s: resolve(s, conflict_id, winner, _by(request), note, datetime.now(UTC)))
    except ConflictError as exc:
        return Flash("error", str(exc))
    return Flash("ok", f"conflict {conflict_id} resolved: deal {winner} keeps the registration")


routes = [
    Route("/", index, methods=["GET"]),
    Route("/quarantine/{error_id:int}/replay", form_action(replay), methods=["POST"]),
    Route("/duplicates/{candidate:int}/decide", form_action(duplicate), methods=["POST"]),
    Route("/conflicts/{conflict_id:int}/resolve", form_action(conflict), methods=["POST"]),
]
