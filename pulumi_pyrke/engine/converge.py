"""Converge one host to its plan: the files it holds, the images it needs, the containers of
one plane, and their health. Everything goes through the ports; nothing here opens a
connection. A container is remade only when its spec digest (plan/drift.py) differs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from pulumi_pyrke.deadline import Deadline, Retry, wait_until
from pulumi_pyrke.engine.ports import DockerHost, RegistryAuth
from pulumi_pyrke.engine.tools import HOST_ROOT, Probe, ProbeResult, Tools
from pulumi_pyrke.errors import DeadlineExceeded, DockerError, PlanError, PyrkeError
from pulumi_pyrke.model.facts import ContainerFacts
from pulumi_pyrke.model.plan import ContainerSpec, FileSpec, HostPlan
from pulumi_pyrke.model.secret import Secret
from pulumi_pyrke.model.sections import PrivateRegistry
from pulumi_pyrke.plan import names
from pulumi_pyrke.plan.drift import SPEC_LABEL, container_drift, container_files, spec_digest

Say = Callable[[str], None]
MANAGED_LABEL = "io.pyrke.cluster"
"""Every container pyrke makes carries the cluster name under this label."""


class ApplyError(PyrkeError):
    """A step of bringing a host to its plan failed; the message names plane, host and
    container, says what to do, and carries the container's last log lines."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ContainerChange:
    """One container made, remade or started on a host, and why."""

    host: str
    name: str
    action: str  # created, recreated, started, removed
    reasons: tuple[str, ...] = ()

    def __str__(self) -> str:
        why = f" ({', '.join(self.reasons)})" if self.reasons else ""
        return f"{self.host}: {self.action} {self.name}{why}"


@dataclass(frozen=True, kw_only=True, slots=True)
class HostRun:
    """One host for the length of a run: its plan, its shell's tools and its Docker."""

    plan: HostPlan
    docker: DockerHost
    tools: Tools
    cluster: str

    @property
    def host(self) -> str:
        return self.plan.address

    def files(self) -> dict[str, FileSpec]:
        return container_files(self.plan)

    def digest(self, spec: ContainerSpec) -> str:
        found = spec_digest(spec, self.files())
        if found is None:
            raise PlanError(
                f"[plan] host {self.host}: container {spec.name} reads a file whose content is "
                "not known; apply plans with their certificates (plan_cluster_with_pki)."
            )
        return found


def converge_files(
    run: HostRun, say: Say, extra: Mapping[str, tuple[bytes, int]] | None = None
) -> tuple[str, ...]:
    """Write the host files whose digest differs from the plan's, and ``extra`` host files
    (host path -> content, mode) likewise, in one digest read and at most one write."""
    wanted: dict[str, tuple[bytes, int]] = dict(extra or {})
    for spec in run.plan.files:
        if spec.content is None:
            raise PlanError(
                f"[files] host {run.host}: the content of {spec.path} is not known; apply plans "
                "with their certificates (plan_cluster_with_pki)."
            )
        wanted[spec.path] = (_bytes(spec.content), spec.mode)  # already below the prefix
    have = run.tools.digests(sorted(wanted))
    stale = {
        path: item
        for path, item in wanted.items()
        if have.get(path) != "sha256:" + hashlib.sha256(item[0]).hexdigest()
    }
    if stale:
        run.tools.write(stale)
        say(f"[files] host {run.host}: wrote {len(stale)} of {len(wanted)} files")
    return tuple(sorted(stale))


def converge_images(
    run: HostRun, specs: Sequence[ContainerSpec], auths: Sequence[RegistryAuth], say: Say
) -> tuple[str, ...]:
    """Pull what the host lacks of the images ``specs`` run; return the images pulled."""
    pulled = []
    for image in sorted({s.image for s in specs} | {run.tools.image}):
        if run.docker.has_image(image):
            continue
        say(f"[images] host {run.host}: pulling {image}")
        auth = next((a for a in auths if _server(a.server) == registry_of(image)), None)
        try:
            run.docker.pull_image(image, auth=auth)
        except DockerError as exc:
            raise ApplyError(
                f"[images] host {run.host}: image {image} is not on the host and could not be "
                f"pulled: {exc}. Give the registry's credentials in private_registries, or copy "
                "the images to hosts without a registry: pyrke images load -c cluster.yml."
            ) from exc
        pulled.append(image)
    return tuple(pulled)


def registry_of(image: str) -> str:
    """The registry an image comes from, as Docker decides it: the first part of the name when
    it looks like a host (a dot, a port, or localhost), else Docker Hub."""
    first, slash, _ = image.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def _server(url: str) -> str:
    server = url.split("://", 1)[-1].rstrip("/")
    return "docker.io" if server in ("index.docker.io", "registry-1.docker.io") else server


def registry_auths(registries: Sequence[PrivateRegistry]) -> tuple[RegistryAuth, ...]:
    """cluster.yml's private_registries that carry credentials, as Docker takes them."""
    return tuple(
        RegistryAuth(server=_server(r.url), username=r.user, password=r.password)
        for r in registries
        if r.user and r.password is not None
    )


def converge_containers(
    run: HostRun, specs: Sequence[ContainerSpec], say: Say
) -> tuple[ContainerChange, ...]:
    """Make the containers ``specs`` describe match them; untouched ones keep their id."""
    observed = {c.name: c for c in run.docker.list_containers()}
    changes = []
    for spec in _dependencies_first(specs):
        change = _converge_one(run, spec, observed.get(spec.name))
        if change is not None:
            say(f"[{spec.plane}] {change}")
            changes.append(change)
    return tuple(changes)


def _converge_one(
    run: HostRun, spec: ContainerSpec, seen: ContainerFacts | None
) -> ContainerChange | None:
    digest = run.digest(spec)
    reasons = container_drift(spec, digest, seen)
    if not reasons:
        return None
    try:
        if reasons == ("not running",):
            run.docker.start_container(spec.name)
            return ContainerChange(host=run.host, name=spec.name, action="started", reasons=reasons)
        if seen is not None:
            run.docker.remove_container(spec.name, force=True)
        if spec.name == names.ETCD:
            _etcd_data_dir(run)
        labels = (*spec.labels, (SPEC_LABEL, digest), (MANAGED_LABEL, run.cluster))
        run.docker.create_container(replace(spec, labels=tuple(sorted(labels))))
        if spec.start:
            run.docker.start_container(spec.name)
    except DockerError as exc:
        raise ApplyError(
            f"[{spec.plane}] container {spec.name} on host {run.host} could not be "
            f"{'re' if seen else ''}created and started: {exc}{_log_tail(run, spec.name)}"
        ) from exc
    action = "recreated" if seen is not None else "created"
    return ContainerChange(host=run.host, name=spec.name, action=action, reasons=reasons)


def _etcd_data_dir(run: HostRun) -> None:
    """etcd 3.5 refuses a data directory other than mode 0700 (RKE's etcd-fix-perm step)."""
    directory = names.on_host(run.plan.prefix_path, names.ETCD_HOST_DIR)
    inner = HOST_ROOT + directory
    result = run.tools.run(
        f"mkdir -p {inner} && chmod 700 {inner} && echo pyrke-ok",
        mounts=[directory],
        read_only=False,
    )
    if result.exit_code != 0 or "pyrke-ok" not in result.stdout:
        raise ApplyError(
            f"[etcd] host {run.host}: could not make {directory} private (mode 0700): "
            f"{' '.join(result.stderr.split())[-300:]}. Check the host's disk and Docker."
        )


def wait_healthy(
    run: HostRun, specs: Sequence[ContainerSpec], deadline: Deadline, say: Say
) -> None:
    """Wait until every health endpoint of ``specs`` answers 200 on this host."""
    probes = {s.name: _probe(run, s) for s in specs if s.health_check is not None}
    if not probes:
        return
    last: dict[str, ProbeResult] = {}

    def healthy() -> None:
        last.update(run.tools.probe(list(probes.values()), timeout=max(10.0, deadline.remaining())))
        sick = [n for n in probes if n not in last or not last[n].healthy]
        if sick:
            raise Retry(
                ", ".join(f"{n}: {last[n].why() if n in last else 'no answer'}" for n in sick)
            )

    try:
        wait_until(healthy, deadline, what="", interval=0.3, max_interval=1.0)
    except DeadlineExceeded as exc:
        name = next(n for n in probes if n not in last or not last[n].healthy)
        spec = next(s for s in specs if s.name == name)
        why = last[name].why() if name in last else "no answer"
        raise ApplyError(
            f"[{spec.plane}] container {name} on host {run.host} did not become healthy in "
            f"{deadline.seconds:g}s: {probes[name].url}: {why}. {_hint(name)}"
            f"{_log_tail(run, name)}"
        ) from exc
    say(f"[health] host {run.host}: {', '.join(probes)} healthy")


def _probe(run: HostRun, spec: ContainerSpec) -> Probe:
    check = spec.health_check
    assert check is not None
    cert = key = ""
    if check.client_certificate:
        prefix = run.plan.prefix_path
        cert = HOST_ROOT + names.on_host(prefix, names.ssl(check.client_certificate))
        key = HOST_ROOT + names.on_host(prefix, names.ssl_key(check.client_certificate))
    return Probe(name=spec.name, url=check.url, cert_path=cert, key_path=key)


def _hint(name: str) -> str:
    if name == names.ETCD:
        return (
            "Check that ports 2379 and 2380 are open between the etcd hosts and that every etcd "
            "host is in the cluster."
        )
    if name == names.KUBE_APISERVER:
        return "Check that etcd is healthy and that port 6443 is free on the host."
    return "Check the container's log below."


def _log_tail(run: HostRun, name: str) -> str:
    try:
        text = run.docker.container_logs(name, tail=15).strip()
    except PyrkeError:
        return ""
    return f"\nLast lines of {name}'s log on {run.host}:\n{text}" if text else ""


def _dependencies_first(specs: Sequence[ContainerSpec]) -> list[ContainerSpec]:
    """Containers others take volumes from come first (service-sidekick before kubelet)."""
    needed = {n for s in specs for n in s.volumes_from}
    return sorted(specs, key=lambda s: (s.name not in needed, specs.index(s)))


def _bytes(content: str | Secret | None) -> bytes:
    if isinstance(content, Secret):
        return content.reveal().encode()
    return (content or "").encode()


def plane_specs(plan: HostPlan, plane: str) -> list[ContainerSpec]:
    """The containers of ``plane`` on a host, with the containers they take volumes from."""
    own = [c for c in plan.containers if c.plane == plane]
    needed = {n for c in own for n in c.volumes_from}
    extra = [c for c in plan.containers if c.name in needed and c not in own]
    return [*extra, *own]
