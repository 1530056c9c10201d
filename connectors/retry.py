"""One retry policy for every connector: exponential backoff with jitter, capped, then TransientError."""

from collections.abc import Callable
from typing import Any, TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from connectors.base import TransientError

T = TypeVar("T")


def call_with_retries(
    fn: Callable[[], T],
    *,
    is_transient: Callable[[BaseException], bool],
    attempts: int = 5,
    max_wait: float = 8.0,
    describe: str = "request",
) -> T:
    """Run `fn`, retrying while `is_transient(error)`; after `attempts` raise `TransientError`."""

    def give_up(state: RetryCallState) -> Any:
        error = state.outcome.exception() if state.outcome else None
        raise TransientError(f"{describe} failed after {state.attempt_number} attempts: {error}") from error

    retrying = Retrying(
        retry=retry_if_exception(is_transient),
        wait=wait_random_exponential(multiplier=0.2, max=max_wait),
        stop=stop_after_attempt(attempts),
        retry_error_callback=give_up,
        reraise=False,
    )
    return retrying(fn)
