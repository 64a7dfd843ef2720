"""The cluster's state on its control-plane hosts: found there when local state is lost, so a
run without `cluster.rkestate` (or a Pulumi create that raised) adopts the running cluster and
its CA instead of minting a new one (RKE's worst failure).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pulumi_pyrke.engine.converge import ApplyError
from pulumi_pyrke.engine.ports import HostConnection
from pulumi_pyrke.engine.tools import Tools
from pulumi_pyrke.engine.up import STATE_FILE
from pulumi_pyrke.errors import PyrkeError
from pulumi_pyrke.model.plan import HostPlan
from pulumi_pyrke.plan import ClusterState, names


@dataclass(frozen=True, kw_only=True, slots=True)
class FoundState:
    """The state read from a host, and which host it came from."""

    state: ClusterState
    host: str


def find_state(
    plans: Sequence[HostPlan],
    hosts: Mapping[str, HostConnection],
    *,
    tools_image: str,
    docker_sockets: Mapping[str, str] | None = None,
) -> FoundState | None:
    """The state the last run left on a control-plane (else an etcd) host, or None for a new
    cluster. A copy that does not parse is passed over for the next host's.

    Refuses (ApplyError) when no host holds readable state but any host already runs the
    cluster's containers: planning then would mint a second CA for a running cluster.
    """
    sockets = docker_sockets or {}
    keepers = [p for p in plans if "controlplane" in p.roles] + [
        p for p in plans if "etcd" in p.roles and "controlplane" not in p.roles
    ]
    unreadable: list[str] = []
    for plan in keepers:
        if plan.address not in hosts:
            continue
        socket = sockets.get(plan.address, "/var/run/docker.sock")
        path = names.on_host(plan.prefix_path, STATE_FILE)
        text = _read(hosts[plan.address], plan.address, path, tools_image, socket)
        if text is None:
            continue
        try:
            return FoundState(state=ClusterState.from_dict(json.loads(text)), host=plan.address)
        except (ValueError, PyrkeError) as exc:
            unreadable.append(f"{plan.address}:{path} ({exc})")  # another host may hold a good copy
    running = [
        plan.address
        for plan in plans
        if plan.address in hosts
        and any(
            c.name in {s.name for s in plan.containers}
            for c in hosts[plan.address]
            .docker(sockets.get(plan.address, "/var/run/docker.sock"))
            .list_containers()
        )
    ]
    if running or unreadable:
        broken = f" The copies found do not parse: {'; '.join(unreadable)}." if unreadable else ""
        raise ApplyError(
            f"[state] hosts {', '.join(running) or '(none)'} run this cluster's containers, but "
            f"no control-plane or etcd host holds a readable state and none was given.{broken} "
            "Planning now would make a new CA that the running etcd and kubelets refuse. Give "
            "the state file (--state cluster.rkestate, or the Cluster's state output), or "
            "remove the cluster first."
        )
    return None


def _read(conn: HostConnection, host: str, path: str, image: str, socket: str) -> bytes | None:
    """Read as the login user if it may (root); else through a tool container."""
    try:
        direct = conn.read_file(path)
    except PyrkeError:
        direct = None
    if direct is not None:
        return direct
    docker = conn.docker(socket)
    if not docker.has_image(image):
        return None
    return Tools(shell=conn, host=host, image=image, docker_socket=socket).read(path)
