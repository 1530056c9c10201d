"""The rules hook: what runs on the hub after a page of changes is applied, in the same transaction.

The engine calls `run_rules` once per applied page with the hub ids that changed; each rule module
(dedup for partners, conflicts and incentives for deals) exposes a function of the `Rule` shape and
is listed in `RULES`. Rules may write hub tables and queue write-backs with `sync.outbox.enqueue`.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from config import Settings


@dataclass
class RuleContext:
    session: Session
    settings: Settings
    run_id: str | None = None
    source_system: str | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


Rule = Callable[[RuleContext, Sequence[str]], None]

# entity -> rules run, in order, on that entity's changed hub ids (filled as rule modules land).
RULES: dict[str, list[Rule]] = {"partner": [], "deal": [], "payout": []}


def run_rules(ctx: RuleContext, entity: str, hub_ids: Sequence[str]) -> None:
    if not hub_ids:
        return
    for rule in RULES.get(entity, []):
        rule(ctx, hub_ids)
