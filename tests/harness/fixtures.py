"""pytest plugin for real test nodes: the `nodes` marker, the `test_keys`, `node_factory`,
`shared_nodes` and `system_images` fixtures, and PYRKE_REAL_NODES=required (CI), under which a
`nodes` test may neither be skipped nor run without nodes. Loaded by tests/conftest.py."""

from __future__ import annotations

import atexit
import os
import signal
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from harness import keys, nodes


def _required() -> bool:
    return os.environ.get("PYRKE_REAL_NODES") == "required"


class _RealNodesGate:
    """Skips (or, when required, fails) `nodes` tests on machines without Docker, and under
    PYRKE_REAL_NODES=required turns any skipped `nodes` test into a failed run."""

    def __init__(self) -> None:
        self._reason: list[str | None] = []  # computed once, on the first `nodes` test
        self.skipped: list[str] = []

    def unavailable_reason(self) -> str | None:
        if not self._reason:
            self._reason.append(nodes.unavailable_reason())
        return self._reason[0]

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        if item.get_closest_marker("nodes") is None:
            return
        reason = self.unavailable_reason()
        if reason is None:
            return
        if _required():
            pytest.fail(f"PYRKE_REAL_NODES=required, but test nodes cannot run: {reason}")
        pytest.skip(f"no test nodes: {reason}")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.skipped and "nodes" in report.keywords and not hasattr(report, "wasxfail"):
            longrepr = report.longrepr
            why = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
            self.skipped.append(f"{report.nodeid}: {why}")

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if _required() and self.skipped and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if _required() and self.skipped:
            terminalreporter.section("PYRKE_REAL_NODES=required", red=True)
            terminalreporter.line(f"{len(self.skipped)} test(s) marked `nodes` were skipped:")
            for line in self.skipped:
                terminalreporter.line(f"  {line}")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "nodes: needs real test nodes (Docker-in-Docker: sshd + dockerd); skipped without "
        "Docker, unless PYRKE_REAL_NODES=required",
    )
    config.pluginmanager.register(_RealNodesGate(), "pyrke-real-nodes-gate")


class NodeFactory:
    """Starts nodes for one pytest session; every name starts with `prefix`, so that one
    `stop_nodes(prefix)` at the end removes them all."""

    def __init__(self, prefix: str, authorized_keys: Iterable[str]) -> None:
        self.prefix = prefix
        self.authorized_keys = list(authorized_keys)
        self._calls = 0

    def __call__(
        self,
        count: int = 1,
        *,
        authorized_keys: Iterable[str] | None = None,
        sshd_delay: float = 0,
        dockerd: bool = True,
        wait: bool = True,
    ) -> list[nodes.TestNode]:
        """Start `count` nodes that authorize every test key but "unauthorized" and "user_ca"
        (or `authorized_keys`); options as for `nodes.start_nodes`."""
        self._calls += 1
        return nodes.start_nodes(
            count,
            prefix=f"{self.prefix}{self._calls}-",
            authorized_keys=self.authorized_keys if authorized_keys is None else authorized_keys,
            sshd_delay=sshd_delay,
            dockerd=dockerd,
            wait=wait,
            owned=True,
        )

    def remove(self, started: Iterable[nodes.TestNode]) -> None:
        """Remove these nodes now instead of at the end of the session."""
        nodes.remove_nodes(started)


@pytest.fixture(scope="session")
def test_keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, keys.KeyPair]:
    """Every test key by name (see harness.keys): the formats, "unauthorized", "user_ca"."""
    return keys.make_keys(Path(tmp_path_factory.mktemp("keys")))


@pytest.fixture(scope="session")
def node_factory(test_keys: dict[str, keys.KeyPair]) -> Iterator[NodeFactory]:
    """`node_factory(count=1, **options) -> list[TestNode]`; all removed at session end."""
    prefix = f"pyt{os.getpid()}-"
    nodes.reap_orphans()  # nodes of runs killed before their teardown
    atexit.register(nodes.stop_nodes, prefix)  # in case the session ends without teardown
    # SIGTERM (a CI timeout) would end Python at once: make it an interrupt, which tears down
    previous = signal.getsignal(signal.SIGTERM)
    if previous == signal.SIG_DFL and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield NodeFactory(prefix, keys.authorized_public_keys(test_keys))
    finally:
        nodes.stop_nodes(prefix)
        atexit.unregister(nodes.stop_nodes)
        if signal.getsignal(signal.SIGTERM) is _interrupt:
            signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="session")
def shared_nodes(node_factory: NodeFactory) -> list[nodes.TestNode]:
    """Three ordinary nodes, sshd and dockerd answering, shared by the whole session.

    Tests must not change them (users, keys, daemons, containers): use node_factory."""
    return node_factory(3)


@pytest.fixture(scope="session")
def system_images() -> dict[str, str]:
    """system_images key -> image for test clusters: the images of PYRKE_SYSTEM_IMAGES (a YAML
    file, images already in the local Engine), else the test images, built if needed."""
    from harness import images

    return images.system_images()
