"""cluster.yml sections other than nodes and services: network, authentication, authorization,
ingress, dns, monitoring, upgrade strategy, bastion, cloud provider, registries. Pure values.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_serializer, field_validator

from pulumi_pyrke.model.base import RkeModel, Text, check_ip_or_dns_name
from pulumi_pyrke.model.secret import MASK, Secret, SecretData, reveal_data

NETWORK_PLUGINS = ("aci", "calico", "canal", "flannel", "none", "weave")
_PERCENT_OR_INT = re.compile(r"^(\d+)%?$")


class NetworkConfig(RkeModel):
    """network: the CNI plugin and its options."""

    plugin: Text = "canal"
    options: dict[str, Text] = Field(default_factory=dict)
    mtu: int = Field(default=0, ge=0, le=9000)
    node_selector: dict[str, Text] = Field(default_factory=dict)
    update_strategy: dict[str, Any] | None = None
    tolerations: list[dict[str, Any]] = Field(default_factory=list)
    calico_network_provider: dict[str, Any] | None = None
    canal_network_provider: dict[str, Any] | None = None
    flannel_network_provider: dict[str, Any] | None = None
    weave_network_provider: SecretData | None = None  # its password
    aci_network_provider: SecretData | None = None  # its token and APIC user key
    enable_br_netfilter: bool = True

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            yield name, (_masked_options(value) if name == "options" else value)

    @field_serializer("options")
    def _options_out(self, value: dict[str, str]) -> dict[str, str]:
        return _masked_options(value)

    @field_validator("plugin")
    @classmethod
    def _plugin(cls, value: str) -> str:
        if value not in NETWORK_PLUGINS:
            raise ValueError(
                f"{value!r} is not a network plugin; use one of {', '.join(NETWORK_PLUGINS)}"
            )
        return value


SECRET_OPTIONS = frozenset({"WeavePassword", "aci_token", "aci_apic_user_key"})
"""network.options whose values are secrets (masked in repr and dumps)."""


def _masked_options(options: dict[str, str]) -> dict[str, str]:
    return {k: (MASK if k in SECRET_OPTIONS else v) for k, v in options.items()}


class Webhook(RkeModel):
    """authentication.webhook."""

    config_file: Secret | None = None  # a kubeconfig, often with a token
    cache_timeout: Text = "5s"


class AuthenticationConfig(RkeModel):
    """authentication: x509 always, webhook optionally; extra SANs for the apiserver cert."""

    strategy: Text = "x509"
    sans: list[Text] = Field(default_factory=list)
    webhook: Webhook | None = None

    @field_validator("sans")
    @classmethod
    def _sans(cls, value: list[str]) -> list[str]:
        return [check_ip_or_dns_name(name) for name in value]

    @field_validator("strategy")
    @classmethod
    def _strategy(cls, value: str) -> str:
        parts = {p.strip() for p in value.split("|") if p.strip()}
        if "x509" not in parts or not parts <= {"x509", "webhook"}:
            raise ValueError(f"{value!r} is not valid; use x509 or x509|webhook")
        return value


class AuthorizationConfig(RkeModel):
    """authorization: rbac (Node,RBAC) or none."""

    mode: Literal["rbac", "none"] = "rbac"
    options: dict[str, Text] = Field(default_factory=dict)


class IngressConfig(RkeModel):
    """ingress: the nginx ingress controller addon."""

    provider: Literal["nginx", "none"] = "nginx"
    options: dict[str, Text] = Field(default_factory=dict)
    node_selector: dict[str, Text] = Field(default_factory=dict)
    extra_args: dict[str, Text] = Field(default_factory=dict)
    dns_policy: Literal["", "ClusterFirst", "ClusterFirstWithHostNet", "None", "Default"] = ""
    extra_envs: list[dict[str, Any]] = Field(default_factory=list)
    extra_volumes: list[dict[str, Any]] = Field(default_factory=list)
    extra_volume_mounts: list[dict[str, Any]] = Field(default_factory=list)
    update_strategy: dict[str, Any] | None = None
    http_port: int = Field(default=80, ge=0, le=65535)
    https_port: int = Field(default=443, ge=0, le=65535)
    network_mode: Literal["hostNetwork", "hostPort", "none"] = "hostPort"
    tolerations: list[dict[str, Any]] = Field(default_factory=list)
    default_backend: bool = False
    default_http_backend_priority_class_name: Text = ""
    nginx_ingress_controller_priority_class_name: Text = ""
    default_ingress_class: bool = True


class LinearAutoscalerParams(RkeModel):
    """dns.linear_autoscaler_params."""

    cores_per_replica: float = 128
    nodes_per_replica: float = 4
    min: int = 1
    max: int = 0
    prevent_single_point_failure: bool = True


class NodelocalConfig(RkeModel):
    """dns.nodelocal: NodeLocal DNSCache."""

    ip_address: Text = ""
    update_strategy: dict[str, Any] | None = None
    node_selector: dict[str, Text] = Field(default_factory=dict)
    node_local_dns_priority_class_name: Text = ""


class DNSConfig(RkeModel):
    """dns: coredns (default), kube-dns or none."""

    provider: Literal["coredns", "kube-dns", "none"] = "coredns"
    options: dict[str, Text] = Field(default_factory=dict)
    upstreamnameservers: list[Text] = Field(default_factory=list)
    reversecidrs: list[Text] = Field(default_factory=list)
    stubdomains: dict[str, list[Text]] = Field(default_factory=dict)
    node_selector: dict[str, Text] = Field(default_factory=dict)
    tolerations: list[dict[str, Any]] = Field(default_factory=list)
    update_strategy: dict[str, Any] | None = None
    linear_autoscaler_params: LinearAutoscalerParams | None = None
    nodelocal: NodelocalConfig | None = None


class MonitoringConfig(RkeModel):
    """monitoring: metrics-server (default) or none."""

    provider: Literal["metrics-server", "none"] = "metrics-server"
    options: dict[str, Text] = Field(default_factory=dict)
    node_selector: dict[str, Text] = Field(default_factory=dict)
    update_strategy: dict[str, Any] | None = None
    replicas: int = Field(default=1, ge=0)
    tolerations: list[dict[str, Any]] = Field(default_factory=list)
    metrics_server_priority_class_name: Text = ""


class NodeDrainInput(RkeModel):
    """upgrade_strategy.node_drain_input."""

    force: bool = False
    ignore_daemonsets: bool = True
    delete_local_data: bool = False
    grace_period: int = -1
    timeout: int = Field(default=120, ge=1, le=10800)


def _max_unavailable(value: Any) -> str:
    text = str(value).strip() if not isinstance(value, bool) else ""
    match = _PERCENT_OR_INT.match(text)
    if not match:
        raise ValueError(f"{value!r} is neither an integer nor a percentage; e.g. 1 or 10%")
    if text.endswith("%") and int(match.group(1)) > 100:
        raise ValueError(f"{value!r} is above 100%")
    return text


class UpgradeStrategy(RkeModel):
    """upgrade_strategy: how many hosts may be down at once during a rolling update."""

    max_unavailable_worker: Text = "10%"
    max_unavailable_controlplane: Text = "1"
    drain: bool = False
    node_drain_input: NodeDrainInput = Field(default_factory=NodeDrainInput)

    @field_validator("max_unavailable_worker", "max_unavailable_controlplane", mode="before")
    @classmethod
    def _count(cls, value: Any) -> str:
        return _max_unavailable(value)


class CloudProviderConfig(RkeModel):
    """cloud_provider: a name plus the provider's own settings (rendered to cloud-config)."""

    name: Text = ""
    # the camelCase keys below are RKE's own yaml spellings
    useInstanceMetadataHostname: bool = False
    awsCloudProvider: SecretData | None = None
    azureCloudProvider: SecretData | None = None
    openstackCloudProvider: SecretData | None = None
    vsphereCloudProvider: SecretData | None = None
    harvesterCloudProvider: SecretData | None = None
    customCloudProvider: Secret | None = None

    @field_validator("awsCloudProvider", "openstackCloudProvider", "vsphereCloudProvider")
    @classmethod
    def _gcfg(cls, value: SecretData | None) -> SecretData | None:
        """These render to gcfg (ini) sections: section -> key -> value, or section -> name ->
        key -> value ([VirtualCenter "10.0.0.1"]); anything deeper has no gcfg form."""
        for section, body in reveal_data(value).items():
            if not isinstance(body, dict):
                raise ValueError(f"{section}: must be a mapping of settings")
            named = bool(body) and all(isinstance(v, dict) for v in body.values())
            for key, item in body.items():
                inner = item if named else {key: item}
                for name, setting in inner.items():
                    if isinstance(setting, dict | list):
                        where = f"{section}.{key}.{name}" if named else f"{section}.{key}"
                        raise ValueError(f"{where}: must be a single value (text, number or bool)")
        return value


class ECRCredentialPlugin(RkeModel):
    """private_registries[].ecr_credential_plugin."""

    aws_access_key_id: Secret | None = None
    aws_secret_access_key: Secret | None = None
    aws_session_token: Secret | None = None


class PrivateRegistry(RkeModel):
    """private_registries[]: where images come from, with credentials."""

    url: Text = "docker.io"
    user: Text = ""
    password: Secret | None = None
    is_default: bool = False
    ecr_credential_plugin: ECRCredentialPlugin | None = None


class RestoreConfig(RkeModel):
    """restore: Rancher-driven snapshot restore."""

    restore: bool = False
    snapshot_name: Text = ""


class RotateCertificates(RkeModel):
    """rotate_certificates: normally set by `pyrke cert rotate`, not by hand."""

    caCertificates: bool = False  # RKE's own (json) spelling
    services: list[
        Literal[
            "etcd",
            "kubelet",
            "kube-apiserver",
            "kube-proxy",
            "kube-scheduler",
            "kube-controller-manager",
        ]
    ] = Field(default_factory=list)
