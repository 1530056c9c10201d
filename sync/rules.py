"""The rules hook: what runs on the hub after a page of changes is applied, in the same transaction.

The engine calls `run_rules` once per applied page with the hub ids that changed. Rules may write hub
tables and queue write-backs with `sync.outbox.enqueue`.
"""

from collections.abc import Sequence

from sync import conflicts, dedup, incentives, payouts
from sync.context import Rule, RuleContext

# entity -> rules run, in order, on that entity's changed hub ids.
RULES: dict[str, list[Rule]] = {
    "partner": [dedup.on_partners_changed],
    "deal": [conflicts.on_deals_changed, incentives.on_deals_changed],
    "payout": [payouts.on_payouts_changed],
}


def run_rules(ctx: RuleContext, entity: str, hub_ids: Sequence[str]) -> None:
    if not hub_ids:
        return
    for rule in RULES.get(entity, []):
        rule(ctx, hub_ids)


__all__ = ["RULES", "Rule", "RuleContext", "run_rules"]
