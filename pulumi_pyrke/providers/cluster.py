"""The pyrke Cluster: Kubernetes on a list of Nodes, `rke up` as a Pulumi resource.

``ClusterProvider`` is the dynamic provider (its class path is stored in stack state and never
moves); ``Cluster`` and ``ClusterArgs`` are what programs use. Create and update are the
engine's `up` (engine/cluster.py), delete is `remove`, read observes what really runs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi.dynamic
from pulumi.dynamic import (
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from pulumi_pyrke.deadline import Deadline
from pulumi_pyrke.engine.cluster import Applied, apply_config, close_all, open_hosts
from pulumi_pyrke.engine.ports import HostConnection
from pulumi_pyrke.engine.refresh import observe_drift
from pulumi_pyrke.engine.remove import remove
from pulumi_pyrke.errors import PyrkeError
from pulumi_pyrke.model.cluster import ClusterConfig
from pulumi_pyrke.model.facts import NodeFacts
from pulumi_pyrke.model.node import NodeSpec
from pulumi_pyrke.model.plan import HostPlan
from pulumi_pyrke.pki.specs import ADMIN, CA
from pulumi_pyrke.plan import ClusterState, plan_cluster
from pulumi_pyrke.providers._wire import (
    args_to_props,
    check_failures,
    contains_unknown,
    plain,
    resource_args,
    secret_input,
    without_provider,
)
from pulumi_pyrke.providers.cluster_check import (
    CLUSTER_INPUTS,
    DEFAULT_TIMEOUT,
    DERIVED,
    NODE_KEYS,
    check_cluster_inputs,
    encode_state_output,
    host_sets,
    parse_cluster_inputs,
    plan_summary,
    state_of,
)
from pulumi_pyrke.providers.node import BastionArgs, Node, NodeArgs
from pulumi_pyrke.transport import SSHTarget, observe_facts, open_host
from pulumi_pyrke.transport.known_hosts import KnownHosts
from pulumi_pyrke.transport.targets import node_target, record_host_keys

log = logging.getLogger("pulumi_pyrke.providers.cluster")

OpenHost = Callable[..., HostConnection]
"""How the provider reaches a host: ``open_host(target, deadline=)``."""

PARALLEL = 20
REMOVE_TIMEOUT = 120.0  # seconds per host for delete and for a removed worker
READ_TIMEOUT = 60.0

CLUSTER_OUTPUTS = (
    "api_server_url",
    "kubeconfig",
    "ca_certificate",
    "client_certificate",
    "client_key",
    "state",
    "kubernetes_version",
    "cluster_cidr",
    "service_cluster_ip_range",
    "cluster_dns_server",
    "cluster_domain",
    "host_keys",
    *DERIVED,
)
"""Outputs that are not inputs (``host_keys``: each host's key, recorded on first contact and
enforced from then on)."""

SECRET_INPUTS = (
    "nodes",
    "cluster_yml",
    "private_registries",
    "bastion_host",
    # these hold secrets in places (S3 and encryption keys, cloud passwords, the weave
    # password, the webhook's token): the model masks them, Pulumi's state must too
    "services",
    "cloud_provider",
    "network",
    "authentication",
)
"""Inputs (and outputs of the same name) that may hold a credential."""

SECRET_OUTPUTS = ("kubeconfig", "client_key", "state", *SECRET_INPUTS)
"""Outputs Pulumi must keep secret: credentials and everything that may hold one."""


class ClusterProvider(ResourceProvider):
    """Dynamic provider of ``pulumi_pyrke.Cluster``. Holds nothing: credentials arrive as
    inputs, connections live only inside one call."""

    serialize_as_secret_always = False

    def __init__(self, connect: OpenHost = open_host) -> None:
        self._connect = connect  # a function, pickled by reference; never a live client

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Every problem with its input's field path, and the plan summary, before any host."""
        old = without_provider(olds or {})
        try:
            state = state_of(old)
        except PyrkeError:
            state = None
        found = check_cluster_inputs(without_provider(news), olds=old, state=state)
        return CheckResult(found.inputs, check_failures(found.problems))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Update when a container, a file, the host set or a login would change; never replace
        (everything `up` can roll is rolled in place)."""
        changes = diff_cluster(olds, without_provider(news))
        return DiffResult(changes=bool(changes), replaces=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        """`rke up` from nothing; a re-run after a create that raised adopts the state left on
        the control-plane hosts (never a second CA)."""
        config, inputs = parse_cluster_inputs(without_provider(props))
        known = _known_hosts(props)
        applied = self._apply(config, inputs, known, state=None)
        outs = _outputs(config, inputs, applied, known)
        return CreateResult(cluster_id(config, applied), outs)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """`rke up` against the running cluster with its state; the engine cleans the workers
        that left (reached as the state, which keeps the nodes last applied, says)."""
        state = state_of(olds)
        config, inputs = parse_cluster_inputs(without_provider(news), state=state)
        known = _known_hosts(olds)
        applied = self._apply(config, inputs, known, state=state)
        return UpdateResult(_outputs(config, inputs, applied, known))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Observe every host: a container deleted or changed by hand shows in the refreshed
        ``plan``; an unreachable host keeps its last known part, with a warning."""
        state = state_of(props)
        config, _ = parse_cluster_inputs(_inputs_of(props), state=state)
        known = _known_hosts(props)
        targets = _targets(config, known)
        seen = observe_drift(
            config,
            lambda node, deadline: self._connect(targets[node.address], deadline=deadline),
            _observe,
            state=state,
            parallel=PARALLEL,
            timeout=min(float(props.get("timeout") or READ_TIMEOUT), READ_TIMEOUT),
        )
        plan = {k: dict(v) for k, v in plain(props.get("plan") or {}).items()}
        for address, host in seen.items():
            if not host.reachable:
                _warn(
                    f"[refresh] host {address} did not answer ({host.error}); keeping its last "
                    "known state"
                )
                continue
            entry = plan.get(address, {})
            for name, reasons in host.drift:
                if "missing" in reasons:
                    entry.pop(name, None)  # the next diff sees it wanted again
                elif name in entry:
                    entry[name] = {**entry[name], "drift": list(reasons)}
            plan[address] = entry
        outs = {**props, "plan": plan}
        return ReadResult(id_ or props.get("id", ""), outs, _inputs_of(outs))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """`rke remove` on every host, bounded. Hosts that could not be reached are reported as
        a warning and the delete succeeds (a terminated machine must not block destroy
        forever; run `pyrke remove` against it if it comes back); a host that was reached but
        could not be cleaned fails the delete, so running it again can finish the job."""
        config, _ = parse_cluster_inputs(_inputs_of(props))
        known = _known_hosts(props)
        addresses = [n.address for n in config.nodes]
        self._remove_config(config, addresses, known, state_of(props))

    # --- the engine --------------------------------------------------------------------------

    def _apply(
        self,
        config: ClusterConfig,
        inputs: Mapping[str, Any],
        known: KnownHosts,
        *,
        state: ClusterState | None,
    ) -> Applied:
        timeout = float(inputs.get("timeout") or DEFAULT_TIMEOUT)
        targets = _targets(config, known)

        def reach(node: NodeSpec, deadline: Deadline) -> HostConnection:
            target = targets.get(node.address) or node_target(
                node, config.bastion_host, known, path="nodes"
            )  # a worker that left: as the state keeps it
            return self._connect(target, deadline=deadline)

        hosts = open_hosts(
            config.nodes,
            reach,
            parallel=PARALLEL,
            timeout=min(timeout, 300.0),
        )
        try:
            for node in config.nodes:  # first contact records the key; later ones enforce it
                record_host_keys(known, node, config.bastion_host, hosts[node.address].info)
            return apply_config(
                config,
                hosts,
                _observe,
                state=state,
                parallel=PARALLEL,
                timeout=timeout,
                holder=f"pulumi (pyrke Cluster {config.cluster_name}, pid {os.getpid()} on "
                f"{os.uname().nodename})",
                connect=reach,
            )
        finally:
            close_all(hosts)

    def _remove_config(
        self,
        config: ClusterConfig,
        addresses: Sequence[str],
        known: KnownHosts,
        state: ClusterState | None,
    ) -> None:
        plan = plan_cluster(config, None, state)
        targets = _targets(config, known)
        unreachable: set[str] = set()

        def connect(host: HostPlan, seconds: float) -> HostConnection:
            try:
                return self._connect(targets[host.address], deadline=Deadline.after(seconds))
            except PyrkeError:
                unreachable.add(host.address)
                raise

        report = remove(
            [n for n in plan.nodes if n.address in addresses],
            connect,
            cluster=plan.cluster_name,
            tools_image=plan.tools_image,
            docker_sockets={n.address: n.docker_socket for n in config.nodes},
            parallel=PARALLEL,
            host_timeout=REMOVE_TIMEOUT,
        )
        if report.complete:
            return
        failed = [h for h in report.hosts if h.error and h.host not in unreachable]
        if failed:
            raise PyrkeError(report.summary())
        _warn(report.summary())


def diff_cluster(olds: Mapping[str, Any], news: Mapping[str, Any]) -> tuple[str, ...]:
    """What would change on the hosts (or in how they are reached): old outputs against new
    checked inputs; empty when nothing would. Certificate digests come from the old state."""
    changed: list[str] = []
    if any(contains_unknown(news.get(k)) for k in (*DERIVED, "nodes")):
        return tuple(k for k in (*DERIVED, "nodes") if contains_unknown(news.get(k)))
    plan, files = news.get("plan"), news.get("files")
    state = state_of(olds)
    if state is not None:
        try:
            config, _ = parse_cluster_inputs(news, state=state)
        except PyrkeError:
            config = None
        if config is not None:
            plan, files = plan_summary(plan_cluster(config, None, state))
    if plain(plan) != plain(olds.get("plan")):
        changed.append("plan")
    if plain(files) != plain(olds.get("files")):
        changed.append("files")
    for key in ("etcd_hosts", "control_plane_hosts", "worker_hosts"):
        if plain(news.get(key)) != plain(olds.get(key)):
            changed.append(key)
    if _logins(news) != _logins(olds):
        changed.append("nodes")
    return tuple(changed)


def cluster_id(config: ClusterConfig, applied: Applied) -> str:
    """The Cluster's Pulumi id: its name and first control-plane host, ``name@address``."""
    first = applied.plan.hosts_with("controlplane")
    return f"{config.cluster_name}@{first[0]}" if first else config.cluster_name


def _logins(props: Mapping[str, Any]) -> Any:
    nodes = props.get("nodes")
    if not isinstance(nodes, list):
        return None
    return [plain({k: v for k, v in n.items() if k in NODE_KEYS}) for n in nodes]


def _outputs(
    config: ClusterConfig, inputs: Mapping[str, Any], applied: Applied, known: KnownHosts
) -> dict[str, Any]:
    """Outputs are the inputs plus what the apply made (diff compares news with these). The
    plan summary is check's (no facts) with the new state, so a no-op diff is empty."""
    containers, files = plan_summary(plan_cluster(config, None, applied.state))
    bundle = applied.state.certificates
    ca = bundle.get(CA) if bundle else None
    admin = bundle.get(ADMIN) if bundle else None
    p = applied.plan
    outs = {k: v for k, v in inputs.items() if k in CLUSTER_INPUTS}
    outs.update(
        api_server_url=p.api_server_url,
        kubeconfig=applied.kubeconfig.reveal(),
        ca_certificate=ca.cert_pem if ca else None,
        client_certificate=admin.cert_pem if admin else None,
        client_key=admin.key_pem.reveal() if admin else None,
        state=encode_state_output(applied.state),
        kubernetes_version=p.kubernetes_version,
        cluster_cidr=p.cluster_cidr,
        service_cluster_ip_range=p.service_cluster_ip_range,
        cluster_dns_server=p.cluster_dns_server,
        cluster_domain=p.cluster_domain,
        host_keys=dict(sorted(known.keys.items())),
        plan=containers,
        files=files,
        **host_sets(p),
    )
    return outs


def _observe(conn: HostConnection, socket: str, deadline: Deadline) -> NodeFacts:
    return observe_facts(conn, docker_socket=socket, deadline=deadline)


def _targets(config: ClusterConfig, known: KnownHosts) -> dict[str, SSHTarget]:
    return {
        n.address: node_target(n, config.bastion_host, known, path=f"nodes[{i}]")
        for i, n in enumerate(config.nodes)
    }


def _known_hosts(props: Mapping[str, Any]) -> KnownHosts:
    """The host keys recorded by earlier runs (in memory only: never a file)."""
    keys = props.get("host_keys")
    recorded = {str(k): str(v) for k, v in keys.items()} if isinstance(keys, Mapping) else {}
    return KnownHosts(path=Path(os.devnull), keys=recorded)


def _inputs_of(props: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k in (*CLUSTER_INPUTS, *DERIVED) and v is not None}


def _warn(message: str) -> None:
    """A warning for the engine (the plugin's stderr when it has no engine link) and the
    library's logging."""
    log.warning("%s", message)
    pulumi.log.warn(message)


@dataclass(frozen=True, kw_only=True, slots=True)
class ClusterArgs:
    """The inputs of a Cluster: its nodes, an optional RKE cluster.yml, and RKE's keys.

    ``nodes`` are Node resources, ``NodeArgs`` or node mappings with the Node's keys (a Node's
    computed outputs are ignored; its recorded ``host_key`` is enforced). ``cluster_yml`` is an
    RKE cluster.yml text; when ``nodes`` is given it replaces cluster_yml's nodes. Each typed
    argument replaces cluster_yml's key of the same name as a whole (a typed ``services``
    replaces all of cluster_yml's ``services``), spelled as cluster.yml spells it
    (``services={"kube-api": {...}}``). ``timeout``: seconds per host per step (900); Pulumi's
    own custom timeouts never reach a dynamic provider.
    """

    nodes: pulumi.Input[Sequence[Any]] | None = field(default=None, repr=False)
    cluster_yml: pulumi.Input[str] | None = field(default=None, repr=False)
    kubernetes_version: pulumi.Input[str] | None = None
    network: pulumi.Input[Mapping[str, Any]] | None = None
    services: pulumi.Input[Mapping[str, Any]] | None = None
    authentication: pulumi.Input[Mapping[str, Any]] | None = None
    authorization: pulumi.Input[Mapping[str, Any]] | None = None
    ingress: pulumi.Input[Mapping[str, Any]] | None = None
    dns: pulumi.Input[Mapping[str, Any]] | None = None
    monitoring: pulumi.Input[Mapping[str, Any]] | None = None
    upgrade_strategy: pulumi.Input[Mapping[str, Any]] | None = None
    system_images: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None = None
    private_registries: pulumi.Input[Sequence[Any]] | None = field(default=None, repr=False)
    cloud_provider: pulumi.Input[Mapping[str, Any]] | None = None
    bastion_host: pulumi.Input[Mapping[str, Any]] | None = field(default=None, repr=False)
    prefix_path: pulumi.Input[str] | None = None
    cluster_name: pulumi.Input[str] | None = None
    enable_cri_dockerd: pulumi.Input[bool] | None = None
    timeout: pulumi.Input[int] | None = None


def node_input(node: Any) -> Any:
    """One entry of ``nodes`` as the Cluster sends it: a Node's inputs (an Output of a
    mapping with the Node's keys only), NodeArgs as a mapping, a mapping as given."""
    if isinstance(node, Node):
        values = {k: getattr(node, k) for k in NODE_KEYS}
        return pulumi.Output.all(**values).apply(
            lambda d: {k: v for k, v in d.items() if v is not None}
        )
    if isinstance(node, NodeArgs):
        given = {k: v for k, v in args_to_props(node, ()).items() if k in NODE_KEYS}
        bastion = given.get("bastion")
        if isinstance(bastion, BastionArgs):
            given["bastion"] = {
                k: v for k, v in args_to_props(bastion, ()).items() if v is not None
            }
        return {k: v for k, v in given.items() if v is not None}
    return node


def cluster_props(args: ClusterArgs | Mapping[str, Any]) -> dict[str, Any]:
    """The props of a Cluster resource: every input and output name, secrets marked secret."""
    props = args_to_props(args, CLUSTER_INPUTS)
    nodes = props.get("nodes")
    if isinstance(nodes, list | tuple):
        props["nodes"] = [node_input(n) for n in nodes]
    for name in CLUSTER_OUTPUTS:
        props.setdefault(name, None)  # the attribute exists only if the key is in props
    for name in SECRET_INPUTS:
        props[name] = secret_input(props[name])
    return props


class Cluster(pulumi.dynamic.Resource, module="pyrke", name="Cluster"):
    """Kubernetes on a list of Nodes, the RKE way: `rke up` on create and update (rolling),
    `rke remove` on delete. Type ``pulumi-python:dynamic/pyrke:Cluster``; never replaced.

    ``plan`` shows, per host and container, the image and the arguments (preview shows exactly
    which flag changes where); ``kubeconfig``, ``client_key`` and ``state`` are secrets.
    """

    nodes: pulumi.Output[list[dict[str, Any]]]
    cluster_yml: pulumi.Output[str | None]
    api_server_url: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    ca_certificate: pulumi.Output[str]
    client_certificate: pulumi.Output[str]
    client_key: pulumi.Output[str]
    state: pulumi.Output[str]
    kubernetes_version: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    cluster_cidr: pulumi.Output[str]
    service_cluster_ip_range: pulumi.Output[str]
    cluster_dns_server: pulumi.Output[str]
    cluster_domain: pulumi.Output[str]
    etcd_hosts: pulumi.Output[list[str]]
    control_plane_hosts: pulumi.Output[list[str]]
    worker_hosts: pulumi.Output[list[str]]
    host_keys: pulumi.Output[dict[str, str]]
    plan: pulumi.Output[dict[str, Any]]
    files: pulumi.Output[dict[str, Any]]

    def __init__(
        self,
        resource_name: str,
        args: ClusterArgs | Mapping[str, Any] | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **inputs: Any,
    ) -> None:
        """``Cluster(name, ClusterArgs(...), opts=...)`` or ``Cluster(name, nodes=[...], ...)``."""
        given = resource_args(ClusterArgs, "Cluster", args, inputs)
        secrets = pulumi.ResourceOptions(additional_secret_outputs=list(SECRET_OUTPUTS))
        super().__init__(
            ClusterProvider(),
            resource_name,
            cluster_props(given),
            pulumi.ResourceOptions.merge(opts, secrets),
        )
