"""The one waiting loop: retries until the deadline, then says what failed and what to do."""

from __future__ import annotations

import pytest

from pulumi_pyrke.deadline import Deadline, Retry, wait_until
from pulumi_pyrke.errors import DeadlineExceeded


def test_returns_the_first_success() -> None:
    calls = []

    def check() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise Retry("not yet")
        return "done"

    seen: list[int] = []
    assert (
        wait_until(
            check, Deadline.after(5), what="w", interval=0.001, on_retry=lambda n, r: seen.append(n)
        )
        == "done"
    )
    assert seen == [1, 2]


def test_expiry_names_what_the_last_cause_and_the_hint() -> None:
    cause = ConnectionRefusedError("refused")

    def check() -> None:
        raise Retry(cause)

    with pytest.raises(DeadlineExceeded) as info:
        wait_until(
            check, Deadline.after(0.05), what="[ssh] host h", hint="Open port 22.", interval=0.01
        )
    text = str(info.value)
    assert text.startswith("[ssh] host h: still failing after 0.05s")
    assert "refused." in text and text.endswith("Open port 22.")
    assert info.value.__cause__ is cause
    assert isinstance(info.value, TimeoutError)


def test_other_errors_end_the_wait_at_once() -> None:
    def check() -> None:
        raise ValueError("bad")

    with pytest.raises(ValueError):
        wait_until(check, Deadline.after(5), what="w")


def test_deadline_remaining_never_negative() -> None:
    deadline = Deadline.after(0)
    assert deadline.expired()
    assert deadline.remaining() == 0.0
