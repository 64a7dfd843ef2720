"""Plan values: what must run and be written on each host. The planner makes them, the
engine converges hosts to them, `pyrke plan` and Pulumi's preview render them. No I/O.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

from pulumi_pyrke.model.secret import Secret


@dataclass(frozen=True, kw_only=True, slots=True)
class EnvVar:
    """One container environment variable; a Secret value is shown as *** everywhere."""

    name: str
    value: str | Secret

    def render(self) -> str:
        """NAME=value with secrets masked."""
        return f"{self.name}={self.value}"


@dataclass(frozen=True, kw_only=True, slots=True)
class HealthCheck:
    """How the engine knows a container works: an HTTP(S) URL probed from the host."""

    url: str
    client_certificate: str = ""  # name of the bundle certificate presented, if any


@dataclass(frozen=True, kw_only=True, slots=True)
class ContainerSpec:
    """A long-running container as RKE would run it: image, command, flags, mounts, modes."""

    name: str
    plane: str  # etcd, controlplane or worker: for messages and ordering
    image: str
    entrypoint: tuple[str, ...] = ()
    args: tuple[str, ...] = ()  # sorted --flag=value arguments after the entrypoint
    env: tuple[EnvVar, ...] = ()
    binds: tuple[str, ...] = ()
    network_mode: str = "host"
    pid_mode: str = ""
    privileged: bool = False
    restart_policy: str = "always"
    user: str = ""
    volumes_from: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    health_check: HealthCheck | None = None
    start: bool = True  # service-sidekick is created, never started


@dataclass(frozen=True, kw_only=True, slots=True)
class FileSpec:
    """A file written on a host. `content` is None when it cannot be known while planning."""

    path: str
    mode: int = 0o600
    content: str | Secret | None = None
    source: str = ""  # what it is, e.g. "certificate kube-ca", "admission configuration"

    @property
    def digest(self) -> str | None:
        """sha256 of the content, or None when the content is not known yet."""
        if self.content is None:
            return None
        text = self.content.reveal() if isinstance(self.content, Secret) else self.content
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, kw_only=True, slots=True)
class Taint:
    """A Kubernetes taint to hold on the node object."""

    key: str
    value: str
    effect: str

    def render(self) -> str:
        """key=value:Effect, as kubelet's --register-with-taints reads it."""
        return f"{self.key}={self.value}:{self.effect}"


@dataclass(frozen=True, kw_only=True, slots=True)
class HostPlan:
    """Everything one host must run and hold."""

    address: str
    internal_address: str
    hostname: str
    roles: tuple[str, ...]
    prefix_path: str
    containers: tuple[ContainerSpec, ...] = ()
    files: tuple[FileSpec, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    taints: tuple[Taint, ...] = ()

    def container(self, name: str) -> ContainerSpec | None:
        """The container called `name`, if this host runs it."""
        return next((c for c in self.containers if c.name == name), None)


CertificateActionName = Literal["create", "regenerate", "keep", "remove"]


@dataclass(frozen=True, kw_only=True, slots=True)
class CertificateChange:
    """What happens to one certificate: create, regenerate, keep or remove, and why."""

    name: str
    action: CertificateActionName
    reason: str


@dataclass(frozen=True, kw_only=True, slots=True)
class ClusterPlan:
    """The whole desired cluster, per host, plus cluster-wide facts the outputs need."""

    kubernetes_version: str
    cluster_name: str
    api_server_url: str
    cluster_cidr: str
    service_cluster_ip_range: str
    cluster_dns_server: str
    cluster_domain: str
    nodes: tuple[HostPlan, ...]
    certificates: tuple[CertificateChange, ...] = ()
    tools_image: str = ""  # rke-tools (cert_downloader): the image that does host work

    def node(self, address: str) -> HostPlan | None:
        """The plan of the host at `address`, if it is in the cluster."""
        return next((n for n in self.nodes if n.address == address), None)

    def hosts_with(self, role: str) -> tuple[str, ...]:
        """Addresses of the hosts that carry `role`, in config order."""
        return tuple(n.address for n in self.nodes if role in n.roles)
