"""Refresh: what really runs on a cluster's hosts, against what its plan says should.

Each host is observed once (its facts list every container with its spec-digest label) and
every planned container is compared by digest (plan/drift.py): a container deleted or changed
by hand shows with its reasons. A host that does not answer is reported, never waited for
beyond its deadline. Nothing on a host changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pulumi_pyrke.engine.cluster import Connect, Observe
from pulumi_pyrke.engine.pool import HostPool, HostTask, Listener
from pulumi_pyrke.model.cluster import ClusterConfig
from pulumi_pyrke.model.facts import NodeFacts
from pulumi_pyrke.model.node import NodeSpec
from pulumi_pyrke.plan import ClusterState, plan_cluster
from pulumi_pyrke.plan.drift import container_drift, container_files, spec_digest


@dataclass(frozen=True, kw_only=True, slots=True)
class HostDrift:
    """One host's containers that differ from the plan, with why; or why it was not seen."""

    address: str
    drift: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (container, reasons), plan order
    error: str = ""

    @property
    def reachable(self) -> bool:
        return not self.error


def observe_drift(
    config: ClusterConfig,
    connect: Connect,
    observe: Observe,
    *,
    state: ClusterState | None,
    parallel: int = 20,
    timeout: float = 60.0,
    on_event: Listener | None = None,
) -> dict[str, HostDrift]:
    """Every node of ``config`` observed at once, its containers compared with the plan that
    ``state`` (the certificates the last apply used) gives; by address."""

    def look(node: NodeSpec, task: HostTask) -> NodeFacts:
        conn = connect(node, task.deadline)
        try:
            return observe(conn, node.docker_socket, task.deadline)
        finally:
            conn.close()

    outcomes = HostPool(size=parallel, timeout=timeout, on_event=on_event, plane="refresh").run(
        list(config.nodes), look, name=lambda n: n.address
    )
    facts: Mapping[str, NodeFacts] = {o.host: o.value for o in outcomes if o.value is not None}
    plan = plan_cluster(config, facts, state)
    found: dict[str, HostDrift] = {}
    for outcome in outcomes:
        if outcome.value is None:
            found[outcome.host] = HostDrift(address=outcome.host, error=str(outcome.error))
            continue
        host = plan.node(outcome.host)
        if host is None:
            continue
        files = container_files(host)
        seen = {c.name: c for c in outcome.value.containers}
        drift = []
        for spec in host.containers:
            digest = spec_digest(spec, files)
            reasons: tuple[str, ...]
            if digest is None:  # no certificates known: only presence can be judged
                reasons = () if spec.name in seen else ("missing",)
            else:
                reasons = container_drift(spec, digest, seen.get(spec.name))
            if reasons:
                drift.append((spec.name, reasons))
        found[outcome.host] = HostDrift(address=outcome.host, drift=tuple(drift))
    return found
