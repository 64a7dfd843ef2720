"""Deadlines and the one waiting loop of the library: the only place that sleeps.

Every bounded wait (a booting machine, a container turning healthy) goes through
``wait_until``, so timeouts are uniform and every give-up raises ``DeadlineExceeded``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from pulumi_pyrke.errors import DeadlineExceeded

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Deadline:
    """A point in monotonic time; ``Deadline.after(30)`` is thirty seconds from now."""

    at: float
    seconds: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(at=time.monotonic() + seconds, seconds=seconds)

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.at - time.monotonic())

    def expired(self) -> bool:
        return time.monotonic() >= self.at


class Retry(Exception):
    """Raised by a ``wait_until`` check to say "not yet"; ``cause`` explains why."""

    def __init__(self, cause: BaseException | str) -> None:
        super().__init__(str(cause))
        self.cause = cause


def wait_until(
    check: Callable[[], T],
    deadline: Deadline,
    *,
    what: str,
    hint: str = "",
    interval: float = 0.25,
    max_interval: float = 5.0,
    on_retry: Callable[[int, Retry], None] | None = None,
) -> T:
    """Call ``check`` until it returns instead of raising ``Retry``, or the deadline passes.

    The interval doubles up to ``max_interval``. Any exception other than ``Retry`` ends the
    wait at once. On expiry ``DeadlineExceeded`` names ``what``, the last reason to retry and
    the ``hint`` (what to do), and is chained to its cause when that was an exception.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            return check()
        except Retry as retry:
            if deadline.expired():
                cause = retry.cause
                raise DeadlineExceeded(
                    f"{what}: still failing after {deadline.seconds:g}s ({attempt} attempts): "
                    f"{str(cause).rstrip('.')}.{' ' + hint if hint else ''}"
                ) from (cause if isinstance(cause, BaseException) else None)
            if on_retry is not None:
                on_retry(attempt, retry)
            time.sleep(min(interval, deadline.remaining()))
            interval = min(interval * 2, max_interval)
