"""The inputs every component builder reads, gathered once per plan: config, version data,
resolved images, hosts with their facts and prefix paths, checksums of generated files. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pulumi_pyrke.model.cluster import ClusterConfig
from pulumi_pyrke.model.facts import NodeFacts
from pulumi_pyrke.model.plan import EnvVar
from pulumi_pyrke.pki import HostIdentity
from pulumi_pyrke.plan import names
from pulumi_pyrke.versions import VersionInfo

_OS_PREFIXES = (("rancheros", "/opt/rke"), ("coreos", "/opt/rke"), ("flatcar", "/opt/rke"))
_BOOT2DOCKER_PREFIX = "/mnt/sda1/rke"


@dataclass(frozen=True, kw_only=True, slots=True)
class HostView:
    """One host as the builders see it: identity, roles, facts and its prefix path."""

    address: str
    internal_address: str
    hostname: str
    roles: frozenset[str]
    facts: NodeFacts
    prefix_path: str

    @property
    def identity(self) -> HostIdentity:
        """The host as the PKI names it."""
        return HostIdentity(
            address=self.address,
            internal_address=self.internal_address,
            hostname_override=self.hostname,
        )

    def path(self, path: str) -> str:
        """`path` below this host's prefix path."""
        return names.on_host(self.prefix_path, path)

    @property
    def listen_address(self) -> str:
        """etcd listens on 0.0.0.0 unless the host has a distinct internal address."""
        return "0.0.0.0" if self.address == self.internal_address else self.internal_address


@dataclass(frozen=True, kw_only=True, slots=True)
class PlanContext:
    """Everything cluster-wide a component builder needs."""

    config: ClusterConfig
    version: VersionInfo
    images: Mapping[str, str]
    hosts: tuple[HostView, ...]
    etcd_initial_state: Mapping[str, str]  # address -> "new" or "existing"
    etcd_initial_cluster: Mapping[str, str]  # address -> the --initial-cluster value
    checksums: Mapping[str, str]  # "admission", "audit", "cloud" -> md5 of the file content
    by_role: Mapping[str, tuple[HostView, ...]]  # role -> hosts carrying it, in config order

    def with_role(self, role: str) -> tuple[HostView, ...]:
        """Hosts carrying `role`, in config order."""
        return self.by_role.get(role, ())

    def options(self, service: str) -> Mapping[str, str]:
        """The version's default options for `service` (RKE's service key)."""
        return self.version.service_options.get(service, {})

    @property
    def cloud_provider_name(self) -> str:
        """The --cloud-provider value, or "" when no cloud provider is configured."""
        cp = self.config.cloud_provider
        if cp is None or not cp.name:
            return ""
        return "external" if cp.name == "external-aws" else cp.name

    @property
    def uses_instance_hostname(self) -> bool:
        """AWS clusters may name nodes from instance metadata: no --hostname-override then."""
        cp = self.config.cloud_provider
        return (
            cp is not None and cp.name in ("aws", "external-aws") and cp.useInstanceMetadataHostname
        )

    @property
    def has_cloud_config(self) -> bool:
        """Whether /etc/kubernetes/cloud-config is written (a provider with settings)."""
        return "cloud" in self.checksums

    @property
    def dual_stack(self) -> bool:
        """More than one pod CIDR means dual-stack."""
        return len(self.config.services.kube_controller.cluster_cidr.split(",")) > 1

    def checksum_env(self, *kinds: str) -> tuple[EnvVar, ...]:
        """RKE's RKE_*_CHECKSUM variables: a changed file recreates the container that reads it."""
        env_names = {
            "admission": "RKE_ADMISSION_CONFIG_CHECKSUM",
            "audit": "RKE_AUDITLOG_CONFIG_CHECKSUM",
            "cloud": "RKE_CLOUD_CONFIG_CHECKSUM",
        }
        return tuple(
            EnvVar(name=env_names[k], value=self.checksums[k]) for k in kinds if k in self.checksums
        )


def resolve_prefix_path(configured: str, facts: NodeFacts) -> str:
    """RKE's prefix path: the configured one, else /opt/rke on RancherOS/CoreOS/Flatcar hosts."""
    if configured and configured != "/":
        return configured.rstrip("/") or "/"
    os_name = facts.os.lower()
    if "boot2docker" in os_name:
        return _BOOT2DOCKER_PREFIX
    for marker, prefix in _OS_PREFIXES:
        if marker in os_name:
            return prefix
    return "/"
