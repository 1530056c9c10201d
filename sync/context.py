"""What a rule sees while it runs on the hub: the page's session, the settings and the run."""

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
