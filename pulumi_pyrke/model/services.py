"""The `services:` section of cluster.yml: etcd, kube-api, kube-controller, scheduler, kubelet,
kubeproxy, with RKE's key spellings and defaults. Pure values, no I/O.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from pydantic import Field, field_validator

from pulumi_pyrke.model.base import RkeModel, Text, TextList, check_dns_name
from pulumi_pyrke.model.secret import Secret, SecretData

_FLAG_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")


def check_cidr_list(value: str) -> str:
    """Validate a comma-separated CIDR list (dual-stack allows two); return it normalised."""
    parts = [p.strip() for p in value.split(",") if p.strip()]
    if not parts:
        raise ValueError("is empty; give a CIDR such as 10.43.0.0/16")
    for part in parts:
        try:
            ipaddress.ip_network(part, strict=True)
        except ValueError:
            try:
                loose = ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(f"{part!r} is not a CIDR; give one such as 10.43.0.0/16") from None
            raise ValueError(f"{part!r} has host bits set; did you mean {loose}?") from None
    return ",".join(parts)


def check_service_range(value: str) -> str:
    """A service CIDR list with room for the kubernetes service IP (.1) and the DNS IP (.10)."""
    value = check_cidr_list(value)
    for part in value.split(","):
        if ipaddress.ip_network(part).num_addresses < 16:
            raise ValueError(
                f"{part!r} is too small: a service range needs at least 16 addresses "
                "(a /28 or larger) for the kubernetes service IP and the cluster DNS"
            )
    return value


class BaseService(RkeModel):
    """Fields every service shares (RKE's BaseService)."""

    image: Text = ""
    extra_args: dict[str, Text] = Field(default_factory=dict)
    extra_args_array: dict[str, TextList] = Field(default_factory=dict)
    extra_binds: list[Text] = Field(default_factory=list)
    extra_env: list[Text] = Field(default_factory=list)
    win_extra_args: dict[str, Text] = Field(default_factory=dict)
    win_extra_args_array: dict[str, TextList] = Field(default_factory=dict)
    win_extra_binds: list[Text] = Field(default_factory=list)
    win_extra_env: list[Text] = Field(default_factory=list)

    @field_validator("extra_args", "extra_args_array", "win_extra_args", "win_extra_args_array")
    @classmethod
    def _flag_names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if not _FLAG_NAME.match(name):
                raise ValueError(
                    f"{name!r} is not a flag name; write it without leading dashes, "
                    "e.g. 'max-pods: 250'"
                )
        return value

    @field_validator("extra_env", "win_extra_env")
    @classmethod
    def _env_pairs(cls, value: list[str]) -> list[str]:
        for item in value:
            if "=" not in item or item.startswith("="):
                raise ValueError(f"{item!r} is not NAME=value")
        return value

    @field_validator("extra_binds", "win_extra_binds")
    @classmethod
    def _binds(cls, value: list[str]) -> list[str]:
        for item in value:
            if ":" not in item:
                raise ValueError(f"{item!r} is not a bind; write /host/path:/container/path[:opts]")
        return value


class S3BackupConfig(RkeModel):
    """services.etcd.backup_config.s3backupconfig (the yaml key is literally `s3backupconfig`)."""

    access_key: Secret | None = None
    secret_key: Secret | None = None
    bucket_name: Text = ""
    region: Text = ""
    endpoint: Text = "s3.amazonaws.com"
    custom_ca: Text = ""
    folder: Text = ""


class BackupConfig(RkeModel):
    """services.etcd.backup_config: recurring snapshots, local and optionally S3."""

    enabled: bool = True
    interval_hours: int = Field(default=12, ge=1)
    retention: int = Field(default=6, ge=1)
    safe_timestamp: bool = False
    timeout: int = Field(default=300, ge=1)
    s3backupconfig: S3BackupConfig | None = None


class EtcdService(BaseService):
    """services.etcd."""

    external_urls: list[Text] = Field(default_factory=list)
    ca_cert: Text = ""
    cert: Text = ""
    key: Secret | None = None
    path: Text = ""
    uid: int = 0
    gid: int = 0
    snapshot: bool | None = None
    retention: Text = "72h"
    creation: Text = "12h"
    backup_config: BackupConfig | None = None


class AuditLogConfiguration(RkeModel):
    """services.kube-api.audit_log.configuration."""

    max_age: int = 30
    max_backup: int = 10
    max_size: int = 100
    path: Text = "/var/log/kube-audit/audit-log.json"
    format: Text = "json"
    policy: dict[str, Any] | None = None


class AuditLog(RkeModel):
    """services.kube-api.audit_log (on by default for every supported version)."""

    enabled: bool = True
    configuration: AuditLogConfiguration = Field(default_factory=AuditLogConfiguration)


class SecretsEncryptionConfig(RkeModel):
    """services.kube-api.secrets_encryption_config."""

    enabled: bool = False
    custom_config: SecretData | None = None  # an EncryptionConfiguration, keys included


class EventRateLimit(RkeModel):
    """services.kube-api.event_rate_limit."""

    enabled: bool = False
    configuration: dict[str, Any] | None = None


class KubeAPIService(BaseService):
    """services.kube-api."""

    service_cluster_ip_range: Text = "10.43.0.0/16"
    service_node_port_range: Text = "30000-32767"
    pod_security_policy: bool = False
    pod_security_configuration: Text = ""
    always_pull_images: bool = False
    secrets_encryption_config: SecretsEncryptionConfig | None = None
    audit_log: AuditLog | None = None
    admission_configuration: dict[str, Any] | None = None
    event_rate_limit: EventRateLimit | None = None

    @field_validator("service_cluster_ip_range")
    @classmethod
    def _cidr(cls, value: str) -> str:
        return check_service_range(value)

    @field_validator("admission_configuration")
    @classmethod
    def _admission(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        plugins = (value or {}).get("plugins")
        if plugins is None:
            return value
        if not isinstance(plugins, list) or not all(
            isinstance(p, dict) and isinstance(p.get("name"), str) and p["name"] for p in plugins
        ):
            raise ValueError(
                "plugins must be a list of {name, configuration} mappings, as in the "
                "apiserver's AdmissionConfiguration"
            )
        return value

    @field_validator("service_node_port_range")
    @classmethod
    def _port_range(cls, value: str) -> str:
        low, sep, high = value.partition("-")
        if not (sep and low.strip().isdigit() and high.strip().isdigit()):
            raise ValueError(f"{value!r} is not a port range; write LOW-HIGH, e.g. 30000-32767")
        lo, hi = int(low), int(high)
        if not (0 < lo < hi <= 65535):
            raise ValueError(f"{value!r} must satisfy 0 < LOW < HIGH <= 65535")
        return f"{lo}-{hi}"

    @field_validator("pod_security_configuration")
    @classmethod
    def _psa(cls, value: str) -> str:
        if value not in ("", "privileged", "restricted"):
            raise ValueError(f"{value!r} is not valid; use privileged or restricted")
        return value


class KubeControllerService(BaseService):
    """services.kube-controller."""

    cluster_cidr: Text = "10.42.0.0/16"
    service_cluster_ip_range: Text = "10.43.0.0/16"

    @field_validator("cluster_cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        return check_cidr_list(value)

    @field_validator("service_cluster_ip_range")
    @classmethod
    def _service_range(cls, value: str) -> str:
        return check_service_range(value)


class KubeletService(BaseService):
    """services.kubelet."""

    cluster_domain: Text = "cluster.local"
    infra_container_image: Text = ""
    cluster_dns_server: Text = "10.43.0.10"
    fail_swap_on: bool = False
    generate_serving_certificate: bool = False

    @field_validator("cluster_domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        return check_dns_name(value)

    @field_validator("cluster_dns_server")
    @classmethod
    def _ip(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address; e.g. 10.43.0.10") from None
        return value


class SchedulerService(BaseService):
    """services.scheduler."""


class KubeproxyService(BaseService):
    """services.kubeproxy."""


class Services(RkeModel):
    """services: one entry per Kubernetes component, keyed as RKE spells them."""

    etcd: EtcdService = Field(default_factory=EtcdService)
    kube_api: KubeAPIService = Field(default_factory=KubeAPIService, alias="kube-api")
    kube_controller: KubeControllerService = Field(
        default_factory=KubeControllerService, alias="kube-controller"
    )
    scheduler: SchedulerService = Field(default_factory=SchedulerService)
    kubelet: KubeletService = Field(default_factory=KubeletService)
    kubeproxy: KubeproxyService = Field(default_factory=KubeproxyService)
