"""A cluster on test nodes, as the tests drive it: the engine through the real SSH adapter, one
connection per host, the way `pyrke up` does (cli/up.py), without the command line around it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from harness import images
from harness.nodes import TestNode
from pulumi_pyrke.deadline import Deadline
from pulumi_pyrke.engine.cluster import Applied, apply_config, close_all, open_hosts
from pulumi_pyrke.engine.ports import HostConnection
from pulumi_pyrke.model.cluster import ClusterConfig
from pulumi_pyrke.model.node import NodeSpec
from pulumi_pyrke.model.plan import HostPlan
from pulumi_pyrke.model.secret import Secret
from pulumi_pyrke.plan import ClusterState
from pulumi_pyrke.transport import SSHTarget, observe_facts, open_host

Connect = Callable[[NodeSpec | HostPlan, Deadline], HostConnection]


def prepare(nodes: Iterable[TestNode], system_images: dict[str, str]) -> None:
    """Load the cluster's images into each node and give it a stock hardened sshd
    (MaxSessions 10, no forwarding: what a hardened host allows)."""
    for node in nodes:
        images.load(node.name, system_images.values())
        node.harden_sshd()


def connector(key: str) -> Connect:
    """Connect as root with ``key`` (the test key's text)."""

    def connect(node: NodeSpec | HostPlan, deadline: Deadline) -> HostConnection:
        target = SSHTarget(address=node.address, user="root", private_key=Secret(key))
        return open_host(target, deadline=deadline)

    return connect


def apply(
    config: ClusterConfig, state: ClusterState | None, connect: Connect, **options: Any
) -> Applied:
    """`pyrke up` for ``config``: every node connected once, observed, planned, converged."""
    hosts = open_hosts(config.nodes, connect, parallel=10, timeout=30)
    try:
        return apply_config(
            config,
            hosts,
            lambda conn, socket, deadline: observe_facts(
                conn, docker_socket=socket, deadline=deadline
            ),
            state=state,
            connect=connect,
            **{"timeout": 240.0, **options},
        )
    finally:
        close_all(hosts)
