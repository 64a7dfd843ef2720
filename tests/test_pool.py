"""The host pool: bounded parallelism, a deadline per host, progress events, every failure kept."""

from __future__ import annotations

import threading

import pytest

from pulumi_pyrke.deadline import Deadline
from pulumi_pyrke.engine.pool import HostEvent, HostPool, HostTask
from pulumi_pyrke.errors import SSHError, TransportError


def test_results_come_back_in_input_order_with_each_failure_and_its_host() -> None:
    release = threading.Event()

    def work(host: str, task: HostTask) -> str:
        if host == "a":
            release.wait(5)  # finishes last
        if host == "b":
            release.set()
            raise SSHError(f"[ssh] host {host}: refused")
        if host == "c":
            raise KeyError("surprise")
        return host.upper()

    outcomes = HostPool(size=4, timeout=10, plane="ssh").run(["a", "b", "c", "d"], work)
    assert [o.host for o in outcomes] == ["a", "b", "c", "d"]
    assert [o.value for o in outcomes] == ["A", None, None, "D"]
    assert [o.ok for o in outcomes] == [True, False, False, True]
    assert isinstance(outcomes[1].error, SSHError)
    surprise = outcomes[2].error
    assert isinstance(surprise, TransportError)
    assert str(surprise) == "[ssh] host c: unexpected KeyError: 'surprise'"
    assert isinstance(surprise.__cause__, KeyError)


def test_parallelism_is_bounded_by_size() -> None:
    lock = threading.Lock()
    running = [0]
    peak = [0]
    gate = threading.Barrier(2, timeout=5)

    def work(host: int, task: HostTask) -> int:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        gate.wait()  # two at a time must meet here, or this times out
        with lock:
            running[0] -= 1
        return host

    outcomes = HostPool(size=2, timeout=10).run(list(range(6)), work)
    assert [o.value for o in outcomes] == list(range(6))
    assert peak[0] == 2


def test_each_host_gets_its_own_deadline_from_when_its_work_starts() -> None:
    deadlines: dict[str, Deadline] = {}

    def work(host: str, task: HostTask) -> None:
        deadlines[host] = task.deadline
        assert task.host == host

    HostPool(size=1, timeout=30).run(["x", "y"], work)
    assert {d.seconds for d in deadlines.values()} == {30}
    assert deadlines["y"].at >= deadlines["x"].at  # y's clock started when y began


def test_progress_events_per_host() -> None:
    events: list[HostEvent] = []

    def work(host: str, task: HostTask) -> None:
        task.say(f"connected to {host}")
        if host == "bad":
            raise SSHError("[ssh] host bad: no route")

    outcomes = HostPool(size=1, timeout=5, on_event=events.append).run(["ok", "bad"], work)
    assert [(e.host, e.phase, e.message, e.finished, e.total) for e in events] == [
        ("ok", "start", "", 0, 2),
        ("ok", "progress", "connected to ok", 0, 2),
        ("ok", "done", "", 1, 2),
        ("bad", "start", "", 1, 2),
        ("bad", "progress", "connected to bad", 1, 2),
        ("bad", "failed", "[ssh] host bad: no route", 2, 2),
    ]
    assert not outcomes[1].ok and outcomes[1].seconds >= 0


def test_names_come_from_the_name_function_and_no_hosts_is_no_work() -> None:
    outcomes = HostPool(size=3, timeout=5).run(
        [{"address": "10.0.0.5"}], lambda h, t: t.host, name=lambda h: h["address"]
    )
    assert outcomes[0].host == "10.0.0.5" and outcomes[0].value == "10.0.0.5"
    assert HostPool(size=3, timeout=5).run([], lambda h, t: h) == []


def test_an_interrupt_is_not_swallowed() -> None:
    def work(host: str, task: HostTask) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        HostPool(size=1, timeout=5).run(["a"], work)
