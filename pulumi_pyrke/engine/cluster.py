"""A whole cluster from its configuration: connect to every node once, observe, adopt the state
(given, else found on the control-plane hosts), plan with certificates, converge. The one flow
behind `pyrke up` and the Cluster resource; how to connect and observe are arguments.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from pulumi_pyrke.deadline import Deadline
from pulumi_pyrke.engine.converge import ApplyError, registry_auths
from pulumi_pyrke.engine.pool import HostPool, HostTask, Listener
from pulumi_pyrke.engine.ports import HostConnection
from pulumi_pyrke.engine.remove import remove
from pulumi_pyrke.engine.state import find_state
from pulumi_pyrke.engine.up import UpOptions, UpReport, encode_state, up
from pulumi_pyrke.errors import ConfigError, Problem
from pulumi_pyrke.model.cluster import ClusterConfig
from pulumi_pyrke.model.facts import NodeFacts
from pulumi_pyrke.model.node import NodeSpec
from pulumi_pyrke.model.plan import ClusterPlan, HostPlan
from pulumi_pyrke.model.secret import Secret
from pulumi_pyrke.pki.kubeconfig import admin_kubeconfig
from pulumi_pyrke.plan import ClusterState, plan_cluster, plan_cluster_with_pki
from pulumi_pyrke.plan.membership import host_changes
from pulumi_pyrke.versions.docker_policy import docker_version_warning

log = logging.getLogger("pulumi_pyrke.engine")

Connect = Callable[[NodeSpec, Deadline], HostConnection]
Observe = Callable[[HostConnection, str, Deadline], NodeFacts]


@dataclass(frozen=True, kw_only=True, slots=True)
class Applied:
    """What applying a configuration did and left: the plan, the new state, the report."""

    plan: ClusterPlan
    state: ClusterState
    report: UpReport
    kubeconfig: Secret
    adopted_from: str | None = None  # the host whose state was adopted, when none was given


def open_hosts(
    nodes: Sequence[NodeSpec],
    connect: Connect,
    *,
    parallel: int,
    timeout: float,
    on_event: Listener | None = None,
) -> dict[str, HostConnection]:
    """One connection per node, all at once; every failure reported together."""
    outcomes = HostPool(size=parallel, timeout=timeout, on_event=on_event, plane="ssh").run(
        list(nodes), lambda node, task: connect(node, task.deadline), name=lambda n: n.address
    )
    opened = {o.host: o.value for o in outcomes if o.value is not None}
    failed = [o for o in outcomes if o.error is not None]
    if failed:
        close_all(opened)
        raise ApplyError("\n".join(str(o.error) for o in failed))
    return opened


def close_all(hosts: Mapping[str, HostConnection]) -> None:
    for conn in hosts.values():
        conn.close()


def apply_config(
    config: ClusterConfig,
    hosts: Mapping[str, HostConnection],
    observe: Observe,
    *,
    state: ClusterState | None,
    parallel: int = 20,
    timeout: float = 900.0,
    health_timeout: float = 180.0,
    holder: str = "pyrke",
    on_event: Listener | None = None,
    say: Callable[[str], None] = lambda _: None,
    connect: Connect | None = None,
) -> Applied:
    """Bring the hosts (open connections, by address) to ``config``; ``timeout`` bounds each
    host's part of a step, ``health_timeout`` each wait for health. Worker hosts that left
    the config since the state was written are cleaned afterwards, reached with ``connect``."""
    sockets = {n.address: n.docker_socket for n in config.nodes}

    def look(node: NodeSpec, task: HostTask) -> NodeFacts:
        return observe(hosts[node.address], node.docker_socket, task.deadline)

    outcomes = HostPool(size=parallel, timeout=timeout, plane="docker").run(
        list(config.nodes), look, name=lambda n: n.address
    )
    failed = [o for o in outcomes if o.error is not None]
    if failed:
        raise ApplyError("\n".join(str(o.error) for o in failed))
    facts = {o.host: o.value for o in outcomes if o.value is not None}
    refused = [
        Problem(path=f"host {address}", message=warning)
        for address, found in facts.items()
        if (
            warning := docker_version_warning(
                found.docker_version,
                config.kubernetes_version,
                ignore=bool(config.ignore_docker_version),
            )
        )
    ]
    if refused:
        raise ConfigError(refused)  # as RKE: before anything changes
    adopted = None
    if state is None:
        draft = plan_cluster(config, facts)
        found = find_state(
            draft.nodes, hosts, tools_image=draft.tools_image, docker_sockets=sockets
        )
        if found is not None:
            say(f"adopting the cluster state found on {found.host}")
            state, adopted = found.state, found.host
    state = _with_encryption_key(config, state)
    changes = host_changes(state.nodes if state else (), config)
    if changes.problems:
        raise ConfigError(changes.problems)
    plan, bundle = plan_cluster_with_pki(config, facts, state)
    for change in plan.certificates:
        if change.action != "keep":
            say(f"certificate {change.name}: {change.action} ({change.reason})")
    new_state = ClusterState(
        certificates=bundle.bundle,
        encryption_key=state.encryption_key if state else None,
        encryption_key_name=state.encryption_key_name if state else "key-pyrke",
        etcd_members=plan.hosts_with("etcd"),
        nodes=tuple(config.nodes),
    )
    report = up(
        plan,
        hosts,
        UpOptions(
            tools_image=plan.tools_image,
            parallel=parallel,
            host_timeout=timeout,
            health_timeout=health_timeout,
            holder=holder,
            registries=registry_auths(config.private_registries),
        ),
        state=encode_state(new_state.to_dict(logins=False)),
        docker_sockets=sockets,
        on_event=on_event,
        admin=bundle.bundle.get("kube-admin"),
    )
    if changes.leaving:
        if connect is None:
            raise ApplyError(
                f"[remove] hosts {', '.join(n.address for n in changes.leaving)} left the "
                "cluster but cannot be reached to clean them; run remove on them by hand"
            )
        _clean_leavers(changes.leaving, connect, plan, config.prefix_path or "/", say)
    kubeconfig = admin_kubeconfig(
        bundle.bundle, cluster_name=plan.cluster_name, server_url=plan.api_server_url
    )
    return Applied(
        plan=plan, state=new_state, report=report, kubeconfig=kubeconfig, adopted_from=adopted
    )


def _clean_leavers(
    leaving: Sequence[NodeSpec],
    connect: Connect,
    plan: ClusterPlan,
    prefix_path: str,
    say: Callable[[str], None],
) -> None:
    """Remove the cluster from hosts that left it (their containers and directories)."""
    by_address = {n.address: n for n in leaving}
    plans = [
        HostPlan(address=n.address, internal_address=n.internal_address or n.address,
                 hostname=n.hostname_override or n.address, roles=tuple(n.roles), prefix_path=prefix_path)
        for n in leaving
    ]  # fmt: skip
    report = remove(
        plans,
        lambda host, seconds: connect(by_address[host.address], Deadline.after(seconds)),
        cluster=plan.cluster_name,
        tools_image=plan.tools_image,
        docker_sockets={n.address: n.docker_socket for n in leaving},
    )
    say(report.summary())
    if not report.complete:
        # a machine already gone (terminated outside Pulumi) must not block every later run:
        # what could not be cleaned is said, and `pyrke remove` on that host finishes it
        log.warning(
            "[remove] hosts that left the cluster were not all cleaned:\n%s", report.summary()
        )
        say("[remove] some hosts that left were not cleaned; run remove on them when they are back")


def _with_encryption_key(config: ClusterConfig, state: ClusterState | None) -> ClusterState | None:
    """Secrets encryption needs one AES key for the cluster's life: made once, here, for a
    cluster that has none yet, and kept in the state from then on."""
    encryption = config.services.kube_api.secrets_encryption_config
    if encryption is None or not encryption.enabled or (state and state.encryption_key):
        return state
    key = Secret(base64.b64encode(os.urandom(32)).decode())
    return dataclasses.replace(state or ClusterState(), encryption_key=key)
