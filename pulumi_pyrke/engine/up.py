"""`up`: bring every host of a cluster to its plan, in RKE's order, re-entrantly.

Preflight (all hosts, nothing changed if it fails), images, a lock on every host, files and
the cluster state on the control-plane hosts, then the planes: etcd, control plane, worker,
each health-checked before the next. A second run with the same plan changes nothing; a run
that stopped halfway is finished by the next, because every step compares before it acts.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pulumi_pyrke.deadline import Deadline, Retry, wait_until
from pulumi_pyrke.engine.converge import (
    MANAGED_LABEL,
    ApplyError,
    ContainerChange,
    HostRun,
    converge_containers,
    converge_files,
    converge_images,
    plane_specs,
    wait_healthy,
)
from pulumi_pyrke.engine.pool import HostPool, HostTask, Listener
from pulumi_pyrke.engine.ports import DockerHost, HostConnection, RegistryAuth
from pulumi_pyrke.engine.preflight import HostCheck, check_hosts, read_host
from pulumi_pyrke.engine.tools import Tools
from pulumi_pyrke.errors import (
    ConfigError,
    DeadlineExceeded,
    DockerError,
    DockerUnreachable,
    PyrkeError,
    SSHError,
)
from pulumi_pyrke.model.plan import ClusterPlan, ContainerSpec, HostPlan
from pulumi_pyrke.pki import Certificate
from pulumi_pyrke.plan import names

log = logging.getLogger("pulumi_pyrke.engine")

PLANES = ("etcd", "controlplane", "worker")
LOCK = "pyrke-lock"
STATE_FILE = "/etc/kubernetes/pyrke/cluster-state.json"
"""Where each control-plane and etcd host keeps the cluster's state (below its prefix path)."""

T = TypeVar("T")


class LockHeld(ApplyError):
    """Another run holds the cluster's lock."""


@dataclass(frozen=True, kw_only=True, slots=True)
class UpOptions:
    """How `up` works: pool size, deadlines, the tools image, registry credentials."""

    tools_image: str
    parallel: int = 20
    host_timeout: float = 900.0  # one host's part of one step
    health_timeout: float = 180.0
    lock_ttl: float = 3600.0  # a lock older than this was left by a killed run
    registries: tuple[RegistryAuth, ...] = ()
    holder: str = "pyrke"  # who takes the lock (shown to a second run)


@dataclass(frozen=True, kw_only=True, slots=True)
class UpReport:
    """What `up` changed: files written, images pulled, containers made or started."""

    files: tuple[tuple[str, str], ...] = ()
    images: tuple[tuple[str, str], ...] = ()
    containers: tuple[ContainerChange, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.files or self.images or self.containers)

    def summary(self) -> str:
        if not self.changed:
            return "no changes: every host already matches the plan"
        return (
            f"{len(self.containers)} container change(s), {len(self.files)} file(s) written, "
            f"{len(self.images)} image(s) pulled"
        )


@dataclass(kw_only=True, slots=True)
class _Run:
    plan: ClusterPlan
    hosts: Mapping[str, HostConnection]
    options: UpOptions
    on_event: Listener | None
    sockets: Mapping[str, str]
    runs: dict[str, HostRun] = field(default_factory=dict)
    lost: set[str] = field(default_factory=set)  # hosts that stopped answering in this run

    def pool(self, plane: str, timeout: float | None = None) -> HostPool:
        return HostPool(
            size=self.options.parallel,
            timeout=timeout or self.options.host_timeout,
            on_event=self.on_event,
            plane=plane,
        )


def up(
    plan: ClusterPlan,
    hosts: Mapping[str, HostConnection],
    options: UpOptions,
    *,
    state: bytes | None = None,
    docker_sockets: Mapping[str, str] | None = None,
    on_event: Listener | None = None,
    admin: Certificate | None = None,
) -> UpReport:
    """Converge every host of ``plan`` (by address in ``hosts``, connections already open).

    ``state`` (the serialised cluster state, secret) is written to every control-plane host
    before any container changes, so a run that dies later is adopted by the next.
    """
    run = _Run(
        plan=plan,
        hosts=hosts,
        options=options,
        on_event=on_event,
        sockets=docker_sockets or {},
    )
    nodes = list(plan.nodes)
    _preflight(run, nodes)
    images = _each(run, "images", nodes, lambda host, task: _images(run, host, task))
    _lock(run, nodes)
    try:
        files = _each(run, "files", nodes, lambda host, task: _files(run, host, task, state))
        changes: list[ContainerChange] = []
        for plane in PLANES:
            changes.extend(_plane(run, plane))
        if admin is not None:
            _wait_ready(run, admin)
    finally:
        _unlock(run, nodes)
    report = UpReport(
        files=tuple((h, p) for h, paths in files.items() for p in paths),
        images=tuple((h, i) for h, pulled in images.items() for i in pulled),
        containers=tuple(changes),
    )
    log.info("%s", report.summary())
    return report


def _preflight(run: _Run, nodes: Sequence[HostPlan]) -> None:
    """Every host's problems at once; raises before anything changed."""

    def look(host: HostPlan, task: HostTask) -> tuple[HostCheck, frozenset[str]]:
        conn = run.hosts[host.address]
        # every Docker and tool call is bounded by one host step: a host that stops
        # answering fails its step instead of holding the run
        bound = max(10.0, min(120.0, run.options.host_timeout))
        docker = conn.docker(run.sockets.get(host.address, "/var/run/docker.sock"), timeout=bound)
        run.runs[host.address] = HostRun(
            plan=host,
            docker=docker,
            tools=Tools(
                shell=conn,
                host=host.address,
                image=run.options.tools_image,
                docker_socket=run.sockets.get(host.address, "/var/run/docker.sock"),
                cert_mounts=(names.on_host(host.prefix_path, "/etc/kubernetes/ssl"),),
                timeout=max(10.0, min(300.0, run.options.host_timeout)),
            ),
            cluster=run.plan.cluster_name,
        )
        ours = frozenset(
            c.name for c in docker.list_containers(labels={MANAGED_LABEL: run.plan.cluster_name})
        )
        return read_host(conn, host.address, timeout=max(1.0, task.deadline.remaining())), ours

    looked = _each(run, "preflight", nodes, look)
    checks = [c for c, _ in looked.values()]
    problems = check_hosts(
        checks,
        {n.address: n for n in nodes},
        {h: ours for h, (_, ours) in looked.items()},
    )
    if problems:
        raise ConfigError(problems)


def _images(run: _Run, host: HostPlan, task: HostTask) -> tuple[str, ...]:
    hr = run.runs[host.address]
    return converge_images(hr, host.containers, run.options.registries, task.say)


def _files(run: _Run, host: HostPlan, task: HostTask, state: bytes | None) -> tuple[str, ...]:
    extra = {}
    if state is not None and {"controlplane", "etcd"} & set(host.roles):
        extra[names.on_host(host.prefix_path, STATE_FILE)] = (state, 0o600)
    return converge_files(run.runs[host.address], task.say, extra)


def _plane(run: _Run, plane: str) -> list[ContainerChange]:
    """One plane: all hosts at once for a new cluster; one host at a time (rolling) where
    running containers are replaced."""
    hosts = [h for h in run.plan.nodes if any(c.plane == plane for c in h.containers)]
    if not hosts:
        return []
    rolling = plane in ("etcd", "controlplane") and _running_anywhere(run, hosts, plane)
    batches = [[h] for h in hosts] if rolling else [hosts]
    changes: list[ContainerChange] = []
    for batch in batches:
        done = _each(
            run,
            plane,
            batch,
            lambda host, task: _converge_plane(run, host, plane, task),
            timeout=run.options.host_timeout + run.options.health_timeout,
        )
        for found in done.values():
            changes.extend(found)
    return changes


def _converge_plane(run: _Run, host: HostPlan, plane: str, task: HostTask) -> list[ContainerChange]:
    hr = run.runs[host.address]
    specs = plane_specs(host, plane)
    changes = list(converge_containers(hr, specs, task.say))
    if changes:  # an untouched host's health is asked once, at the end (every node Ready)
        health = Deadline.after(
            min(run.options.health_timeout, max(1.0, task.deadline.remaining()))
        )
        wait_healthy(hr, [s for s in specs if s.plane == plane], health, task.say)
    return changes


def _wait_ready(run: _Run, admin: Certificate) -> None:
    """The API server's /readyz, then every node registered and Ready, asked from the first
    control-plane host as the cluster admin (whose key reaches the tool container on its
    stdin and never lands on the host)."""
    control = [h for h in run.plan.nodes if "controlplane" in h.roles]
    if not control:
        return
    first = run.runs[control[0].address]
    kubelets = [h for h in run.plan.nodes if h.container(names.KUBELET) is not None]
    wanted = sorted(h.hostname for h in kubelets)
    # a node is known by its name or, where the cloud names it (useInstanceMetadataHostname),
    # by the internal address its kubelet reports
    aliases = {h.internal_address: h.hostname for h in kubelets}
    pem = (admin.cert_pem.strip() + "\n" + admin.key_pem.reveal().strip() + "\n").encode()
    server = f"https://127.0.0.1:{names.APISERVER_PORT}"
    script = (
        "cat > /tmp/admin.pem; "
        "auth='--cert /tmp/admin.pem --key /tmp/admin.pem'; "
        f"echo @readyz $(curl -sk --max-time 5 $auth -o /dev/null -w '%{{http_code}}' {server}/readyz); "
        f"echo @nodes; curl -sk --max-time 5 $auth {server}/api/v1/nodes; echo; echo pyrke-ok"
    )
    deadline = Deadline.after(run.options.health_timeout)
    seen: list[str] = []

    def ready() -> None:
        result = first.tools.run(script, stdin=pem, timeout=max(10.0, deadline.remaining()))
        head, _, body = result.stdout.partition("@nodes")
        if "@readyz 200" not in head:
            raise Retry(
                f"the API server's /readyz answers {head.replace('@readyz', '').strip() or 'nothing'}"
            )
        try:
            listing = json.loads(body.replace("pyrke-ok", "").strip() or "{}")
        except ValueError:
            raise Retry("the API server did not list the nodes") from None
        seen[:] = sorted(ready_nodes(listing))
        seen[:] = sorted({aliases.get(n, n) for n in seen})
        missing = [n for n in wanted if n not in seen]
        if missing:
            raise Retry(f"nodes not Ready yet: {', '.join(missing)}")

    try:
        wait_until(ready, deadline, what="", interval=0.5, max_interval=2.0)
    except DeadlineExceeded as exc:
        missing = [n for n in wanted if n not in seen] or ["(the API server is not ready)"]
        raise ApplyError(
            f"[worker] nodes {', '.join(missing)} did not register as Ready within "
            f"{deadline.seconds:g}s (asked the API server on {first.host}): {exc}. Check "
            "kubelet's log on those hosts (docker logs kubelet) and that they reach port 6443 "
            "of the control plane (through nginx-proxy on workers)."
        ) from exc
    log.info("[worker] every node registered and Ready: %s", ", ".join(seen))


def ready_nodes(listing: Mapping[str, Any]) -> set[str]:
    """The names, and the internal addresses, of the nodes in a NodeList that count as up."""
    found: set[str] = set()
    for item in listing.get("items", []):
        status = item.get("status", {})
        if any(_ready(c) for c in status.get("conditions", [])):
            found.add(item.get("metadata", {}).get("name", ""))
            found.update(
                a.get("address", "")
                for a in status.get("addresses", [])
                if a.get("type") == "InternalIP"
            )
    return found


def _ready(condition: Mapping[str, object]) -> bool:
    """A node's Ready condition as `up` accepts it before addons exist: Ready, or not Ready only
    because no network plugin is deployed yet (a real kubelet reports NetworkPluginNotReady
    until a CNI is installed; the network plugin is an addon)."""
    if condition.get("type") != "Ready":
        return False
    if condition.get("status") == "True":
        return True
    said = f"{condition.get('reason', '')} {condition.get('message', '')}"
    return "NetworkPluginNotReady" in said or "cni config uninitialized" in said


def _running_anywhere(run: _Run, hosts: Sequence[HostPlan], plane: str) -> bool:
    for host in hosts:
        seen = {c.name: c for c in run.runs[host.address].docker.list_containers()}
        if any(c.plane == plane and seen.get(c.name) is not None and seen[c.name].state == "running"
               for c in host.containers):  # fmt: skip
            return True
    return False


def _lock_order(nodes: Sequence[HostPlan]) -> list[HostPlan]:
    """The first control-plane host holds the cluster's lock; the others follow it."""
    control = [h for h in nodes if "controlplane" in h.roles] or list(nodes)
    return [control[0], *(h for h in nodes if h is not control[0])]


def _lock(run: _Run, nodes: Sequence[HostPlan]) -> None:
    """Take the cluster's lock: first on the first control-plane host, where a second run is
    refused with who holds it and since when (a lock older than ``lock_ttl`` was left by a
    killed run and is taken), then on every other host, where a lock found is a leftover of a
    run that could not release it (the first host's lock is ours) and is replaced."""
    order = _lock_order(nodes)
    taken: list[HostPlan] = []
    try:
        for index, host in enumerate(order):
            _take(run.runs[host.address].docker, run, host.address, primary=index == 0)
            taken.append(host)
    except PyrkeError:
        _unlock(run, taken)
        raise


def _take(docker: DockerHost, run: _Run, address: str, *, primary: bool) -> None:
    now = time.time()
    spec = ContainerSpec(
        name=LOCK,
        plane="engine",
        image=run.options.tools_image,
        entrypoint=("true",),
        start=False,
        restart_policy="no",
        network_mode="none",
        labels=(
            ("io.pyrke.lock.holder", run.options.holder),
            ("io.pyrke.lock.since", f"{now:.0f}"),
        ),
    )

    def attempt() -> None:
        try:
            docker.create_container(spec)
            return
        except DockerError as exc:
            held = docker.inspect_container(LOCK)
            if held is None:  # being removed by the run that held it: its name is still taken
                raise Retry(exc) from exc
            labels = dict(held.labels)
            since = float(labels.get("io.pyrke.lock.since", "0") or 0)
            if not primary or now - since > run.options.lock_ttl:
                # a leftover: replace it, by id, so a lock another run took meanwhile stays
                docker.remove_container(held.id, force=True)
                raise Retry("a lock left by an earlier run was removed") from exc
            raise LockHeld(
                f"[lock] host {address}: another run ({labels.get('io.pyrke.lock.holder', '?')}) "
                f"has held the cluster's lock since {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(since))}. "
                "Wait for it to finish; a lock left by a killed run expires after "
                f"{run.options.lock_ttl:g}s (or remove the container {LOCK} on the hosts)."
            ) from None

    try:
        wait_until(attempt, Deadline.after(15.0), what="", interval=0.2, max_interval=1.0)
    except DeadlineExceeded as exc:
        raise ApplyError(
            f"[lock] host {address}: could not take the cluster's lock in 15s ({exc.__cause__ or exc}); "
            "run again"
        ) from exc


def _unlock(run: _Run, nodes: Sequence[HostPlan]) -> None:
    """Release the others first and the first host's lock last; another host that stopped
    answering keeps its leftover, which the next run replaces."""
    order = _lock_order(nodes) if nodes else []
    for host in reversed(order):
        hr = run.runs.get(host.address)
        # the first host's lock is always released if at all possible: a leftover there
        # would refuse every run until it expires
        if hr is None or (host.address in run.lost and host is not order[0]):
            continue
        try:
            hr.docker.remove_container(LOCK, force=True)
        except PyrkeError as exc:  # the lock expires; never hide the run's own outcome
            log.warning("[lock] host %s: could not release the lock: %s", host.address, exc)


def _each(
    run: _Run,
    plane: str,
    hosts: Sequence[HostPlan],
    work: Callable[[HostPlan, HostTask], T],
    *,
    timeout: float | None = None,
) -> dict[str, T]:
    """Run ``work`` on every host; all failures together in one ApplyError."""
    outcomes = run.pool(plane, timeout).run(hosts, work, name=lambda h: h.address)
    failed = [o for o in outcomes if o.error is not None]
    # a host that stopped answering (not one that answered with an error) is not asked again
    run.lost.update(
        o.host
        for o in failed
        if isinstance(o.error, SSHError | DockerUnreachable | DeadlineExceeded)
    )
    if failed:
        if len(failed) == 1 and failed[0].error is not None:
            raise failed[0].error
        text = "\n".join(str(o.error) for o in failed)
        raise ApplyError(f"[{plane}] {len(failed)} hosts failed:\n{text}")
    return {o.host: o.value for o in outcomes}  # type: ignore[misc]


def encode_state(data: Mapping[str, object]) -> bytes:
    """The cluster state as it is kept on hosts: sorted JSON (byte-identical when unchanged)."""
    return (json.dumps(data, sort_keys=True, indent=1) + "\n").encode()
