"""The whole cluster.yml: nodes plus every top-level key RKE reads, with RKE's defaults.

Pure pydantic values; parsing, defaulting order and cross-field checks live in model/load.py.
A node is model/node.py's NodeSpec, the same type the Node resource validates with.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from pulumi_pyrke.model.base import RkeModel, Text
from pulumi_pyrke.model.node import Bastion, NodeSpec
from pulumi_pyrke.model.sections import (
    AuthenticationConfig,
    AuthorizationConfig,
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
from pulumi_pyrke.versions import image_keys


def _image_key(key: str) -> str:
    known = image_keys()
    if key not in known:
        close = difflib.get_close_matches(key, known, 1, 0.6)
        hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}"
        raise ValueError(f"unknown image key; {hint}")
    return key


ImageKey = Annotated[str, AfterValidator(_image_key)]
"""A ``system_images`` key: one the version data (versions/kdm.json) knows."""


def image_overrides(images: Mapping[str, str]) -> dict[str, str]:
    """The images a user set in ``system_images`` (non-empty), by key."""
    return {k: v for k, v in images.items() if v}


class ClusterConfig(RkeModel):
    """A cluster.yml, parsed. Before `apply_defaults` some fields hold RKE's "unset" values."""

    nodes: list[NodeSpec] = Field(default_factory=list)
    services: Services = Field(default_factory=Services)
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    authentication: AuthenticationConfig = Field(default_factory=AuthenticationConfig)
    authorization: AuthorizationConfig = Field(default_factory=AuthorizationConfig)
    addons: Text = ""
    addons_include: list[Text] = Field(default_factory=list)
    addon_job_timeout: int = Field(default=45, ge=1)
    system_images: dict[ImageKey, Text] = Field(default_factory=dict)
    ssh_key_path: Text = "~/.ssh/id_rsa"
    ssh_cert_path: Text = ""
    ssh_agent_auth: bool = False
    ignore_docker_version: bool | None = None
    enable_cri_dockerd: bool | None = None
    kubernetes_version: Text = ""
    private_registries: list[PrivateRegistry] = Field(default_factory=list)
    ingress: IngressConfig = Field(default_factory=IngressConfig)
    cluster_name: Text = "local"
    cloud_provider: CloudProviderConfig | None = None
    prefix_path: Text = ""
    win_prefix_path: Text = ""
    bastion_host: Bastion | None = None
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    dns: DNSConfig | None = None
    restore: RestoreConfig = Field(default_factory=RestoreConfig)
    rotate_certificates: RotateCertificates | None = None
    rotate_encryption_key: bool = False
    upgrade_strategy: UpgradeStrategy = Field(default_factory=UpgradeStrategy)
    cri_dockerd_stream_server_address: Text = ""
    cri_dockerd_stream_server_port: Text = ""

    def role_nodes(self, role: Literal["etcd", "controlplane", "worker"]) -> list[NodeSpec]:
        """Nodes carrying `role`, in config order (RKE keeps CP[0] = first controlplane in config)."""
        return [n for n in self.nodes if role in n.roles]
