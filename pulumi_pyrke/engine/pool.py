"""The host pool: one piece of work per host, run in parallel with bounded workers.

Each host gets its own deadline (counted from when its work starts, not while it queues),
reports progress as small event values, and ends with its result or the error that stopped
it: a surprise on one host never costs the others their results. Results come back in the
order the hosts were given. Knows nothing of SSH or Docker: the work does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from pulumi_pyrke.deadline import Deadline
from pulumi_pyrke.errors import PyrkeError, TransportError

H = TypeVar("H")
T = TypeVar("T")

Phase = Literal["start", "progress", "done", "failed"]


@dataclass(frozen=True, kw_only=True, slots=True)
class HostEvent:
    """Something that happened on one host: it started, said something, finished or failed.

    ``finished`` counts the hosts finished so far (this one included on done/failed)."""

    host: str
    phase: Phase
    message: str = ""
    finished: int = 0
    total: int = 0
    seconds: float = 0.0  # since this host's work started


@dataclass(frozen=True, kw_only=True, slots=True)
class HostOutcome(Generic[T]):
    """What became of one host: the work's value, or the error that stopped it."""

    host: str
    seconds: float
    value: T | None = None
    error: PyrkeError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, kw_only=True, slots=True)
class HostTask:
    """What the work gets besides its host: the host's deadline and a way to report progress."""

    host: str
    deadline: Deadline
    say: Callable[[str], None]


Listener = Callable[[HostEvent], None]


@dataclass(frozen=True, kw_only=True, slots=True)
class HostPool:
    """Runs work across hosts, ``size`` at a time, each within ``timeout`` seconds.

    The work must honour ``task.deadline`` itself (threads cannot be stopped from outside);
    every adapter call takes a timeout for that. ``on_event`` is called from worker threads,
    one event at a time. ``plane`` names the plane in the message of a surprise error.
    """

    size: int
    timeout: float
    on_event: Listener | None = None
    plane: str = "engine"

    def run(
        self,
        hosts: Sequence[H],
        work: Callable[[H, HostTask], T],
        *,
        name: Callable[[H], str] = str,
    ) -> list[HostOutcome[T]]:
        """Run ``work(host, task)`` for every host; one outcome per host, in input order."""
        total = len(hosts)
        lock = threading.Lock()
        finished = [0]

        def emit(event: HostEvent) -> None:
            if self.on_event is not None:
                self.on_event(event)

        def one(host: H) -> HostOutcome[T]:
            label = name(host)
            started = time.monotonic()

            def say(message: str) -> None:
                with lock:
                    emit(
                        HostEvent(
                            host=label,
                            phase="progress",
                            message=message,
                            finished=finished[0],
                            total=total,
                            seconds=time.monotonic() - started,
                        )
                    )

            with lock:
                emit(HostEvent(host=label, phase="start", finished=finished[0], total=total))
            task = HostTask(host=label, deadline=Deadline.after(self.timeout), say=say)
            outcome = _attempt(label, started, lambda: work(host, task), self.plane)
            with lock:
                finished[0] += 1
                emit(
                    HostEvent(
                        host=label,
                        phase="done" if outcome.ok else "failed",
                        message="" if outcome.error is None else str(outcome.error),
                        finished=finished[0],
                        total=total,
                        seconds=outcome.seconds,
                    )
                )
            return outcome

        if not hosts:
            return []
        with ThreadPoolExecutor(max_workers=max(1, min(self.size, total))) as executor:
            return list(executor.map(one, hosts))


def _attempt(label: str, started: float, call: Callable[[], T], plane: str) -> HostOutcome[T]:
    try:
        value = call()
    except PyrkeError as exc:
        return HostOutcome(host=label, seconds=time.monotonic() - started, error=exc)
    except Exception as exc:  # one host's surprise must not cost the others their results
        error = TransportError(f"[{plane}] host {label}: unexpected {type(exc).__name__}: {exc}")
        error.__cause__ = exc
        return HostOutcome(host=label, seconds=time.monotonic() - started, error=error)
    return HostOutcome(host=label, seconds=time.monotonic() - started, value=value)
