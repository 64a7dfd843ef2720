"""The whole cluster.yml: nodes plus every top-level key RKE reads, with RKE's defaults.

Pure pydantic values; parsing, defaulting order and cross-field checks live in model/load.py.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from pulumi_pyrke.model.base import Port, RkeModel, Text
from pulumi_pyrke.model.secret import Secret
from pulumi_pyrke.model.sections import (
    AuthenticationConfig,
    AuthorizationConfig,
    BastionHost,
    CloudProviderConfig,
    DNSConfig,
    IngressConfig,
    MonitoringConfig,
    NetworkConfig,
    PrivateRegistry,
    RestoreConfig,
    RotateCertificates,
    UpgradeStrategy,
)
from pulumi_pyrke.model.services import Services

ROLES = ("controlplane", "etcd", "worker")
TAINT_EFFECTS = ("NoExecute", "NoSchedule", "PreferNoSchedule")

SYSTEM_IMAGE_KEYS = (
    "aci_cni_deploy_container",
    "aci_controller_container",
    "aci_gbp_server_container",
    "aci_host_container",
    "aci_mcast_container",
    "aci_opflex_container",
    "aci_opflex_server_container",
    "aci_ovs_container",
    "alpine",
    "calico_cni",
    "calico_controllers",
    "calico_ctl",
    "calico_flexvol",
    "calico_node",
    "canal_cni",
    "canal_controllers",
    "canal_flannel",
    "canal_flexvol",
    "canal_node",
    "cert_downloader",
    "coredns",
    "coredns_autoscaler",
    "dnsmasq",
    "etcd",
    "flannel",
    "flannel_cni",
    "ingress",
    "ingress_backend",
    "ingress_webhook",
    "kubedns",
    "kubedns_autoscaler",
    "kubedns_sidecar",
    "kubernetes",
    "kubernetes_services_sidecar",
    "metrics_server",
    "nginx_proxy",
    "nodelocal",
    "pod_infra_container",
    "weave_cni",
    "weave_node",
    "windows_pod_infra_container",
)


class Taint(RkeModel):
    """nodes[].taints[]: a Kubernetes taint."""

    key: str
    value: Text = ""
    effect: str = "NoSchedule"
    timeAdded: str | None = None  # set by Kubernetes; accepted and ignored, as RKE does

    @field_validator("effect")
    @classmethod
    def _effect(cls, value: str) -> str:
        if value not in TAINT_EFFECTS:
            raise ValueError(f"{value!r} is not a taint effect; use {', '.join(TAINT_EFFECTS)}")
        return value


def _roles(value: Any) -> Any:
    if isinstance(value, str):
        return [value]
    return value


class NodeConfig(RkeModel):
    """nodes[]: one host, how to reach it, and what it runs."""

    address: str
    port: Port = 22
    internal_address: str = ""
    role: list[str] = Field(default_factory=list)
    hostname_override: str = ""
    user: str = ""
    docker_socket: str = "/var/run/docker.sock"
    ssh_key: Secret | None = None
    ssh_key_path: str = ""
    ssh_cert: str = ""
    ssh_cert_path: str = ""
    ssh_agent_auth: bool = False
    labels: dict[str, Text] = Field(default_factory=dict)
    taints: list[Taint] = Field(default_factory=list)
    nodeName: str = ""  # Rancher's node reference; accepted and ignored, as RKE does

    @field_validator("role", mode="before")
    @classmethod
    def _role_list(cls, value: Any) -> Any:
        return _roles(value)

    @field_validator("role")
    @classmethod
    def _role_names(cls, value: list[str]) -> list[str]:
        for role in value:
            if role not in ROLES:
                raise ValueError(f"{role!r} is not a role; use {', '.join(ROLES)}")
        return value

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        if not value:
            raise ValueError("is empty; give the host's IP address or DNS name")
        return value


class SystemImages(RkeModel):
    """system_images: any image here replaces the version table's image for that key."""

    aci_cni_deploy_container: str = ""
    aci_controller_container: str = ""
    aci_gbp_server_container: str = ""
    aci_host_container: str = ""
    aci_mcast_container: str = ""
    aci_opflex_container: str = ""
    aci_opflex_server_container: str = ""
    aci_ovs_container: str = ""
    alpine: str = ""
    calico_cni: str = ""
    calico_controllers: str = ""
    calico_ctl: str = ""
    calico_flexvol: str = ""
    calico_node: str = ""
    canal_cni: str = ""
    canal_controllers: str = ""
    canal_flannel: str = ""
    canal_flexvol: str = ""
    canal_node: str = ""
    cert_downloader: str = ""
    coredns: str = ""
    coredns_autoscaler: str = ""
    dnsmasq: str = ""
    etcd: str = ""
    flannel: str = ""
    flannel_cni: str = ""
    ingress: str = ""
    ingress_backend: str = ""
    ingress_webhook: str = ""
    kubedns: str = ""
    kubedns_autoscaler: str = ""
    kubedns_sidecar: str = ""
    kubernetes: str = ""
    kubernetes_services_sidecar: str = ""
    metrics_server: str = ""
    nginx_proxy: str = ""
    nodelocal: str = ""
    pod_infra_container: str = ""
    weave_cni: str = ""
    weave_node: str = ""
    windows_pod_infra_container: str = ""

    def overrides(self) -> dict[str, str]:
        """The images the user set (non-empty), by key."""
        return {k: v for k in SYSTEM_IMAGE_KEYS if (v := getattr(self, k))}


class ClusterConfig(RkeModel):
    """A cluster.yml, parsed. Before `apply_defaults` some fields hold RKE's "unset" values."""

    nodes: list[NodeConfig] = Field(default_factory=list)
    services: Services = Field(default_factory=Services)
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    authentication: AuthenticationConfig = Field(default_factory=AuthenticationConfig)
    authorization: AuthorizationConfig = Field(default_factory=AuthorizationConfig)
    addons: str = ""
    addons_include: list[str] = Field(default_factory=list)
    addon_job_timeout: int = Field(default=45, ge=1)
    system_images: SystemImages = Field(default_factory=SystemImages)
    ssh_key_path: str = "~/.ssh/id_rsa"
    ssh_cert_path: str = ""
    ssh_agent_auth: bool = False
    ignore_docker_version: bool | None = None
    enable_cri_dockerd: bool | None = None
    kubernetes_version: str = ""
    private_registries: list[PrivateRegistry] = Field(default_factory=list)
    ingress: IngressConfig = Field(default_factory=IngressConfig)
    cluster_name: str = "local"
    cloud_provider: CloudProviderConfig | None = None
    prefix_path: str = ""
    win_prefix_path: str = ""
    bastion_host: BastionHost | None = None
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    dns: DNSConfig | None = None
    restore: RestoreConfig = Field(default_factory=RestoreConfig)
    rotate_certificates: RotateCertificates | None = None
    rotate_encryption_key: bool = False
    upgrade_strategy: UpgradeStrategy = Field(default_factory=UpgradeStrategy)
    cri_dockerd_stream_server_address: str = ""
    cri_dockerd_stream_server_port: str = ""

    def role_nodes(self, role: Literal["etcd", "controlplane", "worker"]) -> list[NodeConfig]:
        """Nodes carrying `role`, in config order (RKE keeps CP[0] = first controlplane in config)."""
        return [n for n in self.nodes if role in n.role]
