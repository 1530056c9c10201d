"""The distributed runtime: the dramatiq broker (Redis, from PARTNERSYNC_REDIS_URL) and its actors.

Run with `dramatiq worker` and, for the schedule, `periodiq worker`.
"""

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from config import load_settings

settings = load_settings()
broker = RedisBroker(url=settings.redis_url)
dramatiq.set_broker(broker)
