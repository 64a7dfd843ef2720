"""Generated files RKE writes on hosts besides certificates: admission and audit configuration,
encryption provider config, cloud-config, the authentication webhook, registry credentials. Pure.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import yaml

from pulumi_pyrke.model.cluster import ClusterConfig
from pulumi_pyrke.model.plan import FileSpec
from pulumi_pyrke.model.secret import Secret, reveal_data
from pulumi_pyrke.plan import names

_WEBHOOK_URL = "http://127.0.0.1:6440/v1/authenticate"
_RESTRICTED_EXEMPT_NAMESPACES = (
    "calico-apiserver",
    "calico-system",
    "cattle-alerting",
    "cattle-fleet-local-system",
    "cattle-fleet-system",
    "cattle-monitoring-system",
    "cattle-system",
    "ingress-nginx",
    "kube-system",
    "tigera-operator",
)


def to_yaml(data: Any) -> str:
    """Deterministic YAML (sorted keys), so an unchanged input gives an unchanged digest."""
    return yaml.safe_dump(data, sort_keys=True, default_flow_style=False)


def md5(text: str) -> str:
    """RKE's checksum of a file content (hex md5), used to recreate containers on change."""
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def admission_config(config: ClusterConfig) -> str | None:
    """/etc/kubernetes/admission.yaml, or None when the user brings their own file."""
    api = config.services.kube_api
    if "admission-control-config-file" in api.extra_args:
        return None
    level = api.pod_security_configuration or "privileged"
    defaults = {"enforce": level, "enforce-version": "latest"}
    exempt: list[str] = []
    if level == "restricted":
        defaults |= {
            "audit": level,
            "audit-version": "latest",
            "warn": level,
            "warn-version": "latest",
        }
        exempt = list(_RESTRICTED_EXEMPT_NAMESPACES)
    rate = api.event_rate_limit
    rate_conf = (rate.configuration if rate is not None else None) or {
        "apiVersion": "eventratelimit.admission.k8s.io/v1alpha1",
        "kind": "Configuration",
        "limits": [{"type": "Server", "qps": 5000, "burst": 20000}],
    }
    plugins: dict[str, dict[str, Any]] = {
        "PodSecurity": {
            "name": "PodSecurity",
            "configuration": {
                "apiVersion": "pod-security.admission.config.k8s.io/v1",
                "kind": "PodSecurityConfiguration",
                "defaults": defaults,
                "exemptions": {"namespaces": exempt, "runtimeClasses": [], "usernames": []},
            },
        },
        "EventRateLimit": {"name": "EventRateLimit", "configuration": rate_conf},
    }
    # the user's admission_configuration entries win over the generated ones, plugin by plugin
    user = api.admission_configuration or {}
    for plugin in user.get("plugins", []) or []:
        if isinstance(plugin, dict) and plugin.get("name"):
            plugins[str(plugin["name"])] = plugin
    return to_yaml(
        {
            "apiVersion": "apiserver.config.k8s.io/v1",
            "kind": "AdmissionConfiguration",
            "plugins": [plugins[k] for k in sorted(plugins)],
        }
    )


def audit_policy(config: ClusterConfig) -> str | None:
    """/etc/kubernetes/audit-policy.yaml, or None when audit is off or the user brings a file."""
    api = config.services.kube_api
    if api.audit_log is None or not api.audit_log.enabled or "audit-policy-file" in api.extra_args:
        return None
    return to_yaml(api.audit_log.configuration.policy)


def encryption_config(config: ClusterConfig, key: Secret | None, key_name: str) -> Secret | None:
    """/etc/kubernetes/ssl/encryption.yaml, a Secret; None if off or the key is not known yet."""
    enc = config.services.kube_api.secrets_encryption_config
    if enc is None or not enc.enabled:
        return None
    if enc.custom_config:
        return Secret(to_yaml(enc.custom_config.reveal()))
    if key is None:
        return None
    return Secret(
        to_yaml(
            {
                "apiVersion": "apiserver.config.k8s.io/v1",
                "kind": "EncryptionConfiguration",
                "resources": [
                    {
                        "resources": ["secrets"],
                        "providers": [
                            {"aescbc": {"keys": [{"name": key_name, "secret": key.reveal()}]}},
                            {"identity": {}},
                        ],
                    }
                ],
            }
        )
    )


def _ini_name(key: str) -> str:
    """RKE's ini section names: load_balancer -> LoadBalancer, global -> Global."""
    return "".join(part[:1].upper() + part[1:] for part in key.split("_"))


def _ini_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _ini(sections: dict[str, Any]) -> str:
    """gcfg text, as RKE renders the aws, openstack and vsphere cloud configs."""
    lines: list[str] = []

    def section(header: str, body: dict[str, Any]) -> None:
        lines.append(f"[{header}]")
        lines.extend(f"{key} = {_ini_value(body[key])}" for key in sorted(body))
        lines.append("")

    for key in sorted(sections):
        body = sections[key]
        if not isinstance(body, dict):
            continue
        if body and all(isinstance(v, dict) for v in body.values()):
            # a map of named sections: [VirtualCenter "10.0.0.1"], [ServiceOverride "1"]
            for name in sorted(body):
                section(f'{_ini_name(key)} "{name}"', body[name])
        else:
            section(_ini_name(key), body)
    return "\n".join(lines)


def cloud_config(config: ClusterConfig) -> Secret | None:
    """/etc/kubernetes/cloud-config for the configured provider, or None when there is none.

    A Secret: provider settings carry passwords and client secrets.
    """
    cp = config.cloud_provider
    if cp is None:
        return None
    if cp.customCloudProvider:
        return cp.customCloudProvider
    if cp.azureCloudProvider:
        return Secret(json.dumps(cp.azureCloudProvider.reveal(), sort_keys=True, indent=2))
    harvester = reveal_data(cp.harvesterCloudProvider)
    if harvester.get("cloud_config"):
        return Secret(str(harvester["cloud_config"]))
    for settings in (cp.awsCloudProvider, cp.openstackCloudProvider, cp.vsphereCloudProvider):
        if settings:
            return Secret(_ini(settings.reveal()))
    return None


def webhook_config(config: ClusterConfig) -> str | Secret | None:
    """/etc/kubernetes/kube-api-authn-webhook.yaml when the webhook strategy is on."""
    if "webhook" not in config.authentication.strategy:
        return None
    hook = config.authentication.webhook
    if hook is not None and hook.config_file:
        return hook.config_file
    return to_yaml(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "Default",
                    "cluster": {"insecure-skip-tls-verify": True, "server": _WEBHOOK_URL},
                }
            ],
            "users": [{"name": "Default", "user": {"insecure-skip-tls-verify": True}}],
            "contexts": [{"name": "webhook", "context": {"cluster": "Default", "user": "Default"}}],
            "current-context": "webhook",
        }
    )


def registry_credentials(config: ClusterConfig) -> Secret | None:
    """kubelet's docker config.json with every private registry's credentials, if any."""
    auths = {
        reg.url: {"auth": base64.b64encode(f"{reg.user}:{reg.password.reveal()}".encode()).decode()}
        for reg in config.private_registries
        if reg.user and reg.password
    }
    if not auths:
        return None
    return Secret(json.dumps({"auths": auths}, sort_keys=True, indent=2))


def cluster_files(
    config: ClusterConfig, encryption_key: Secret | None, key_name: str
) -> dict[str, FileSpec]:
    """Every generated non-certificate file by kind (paths without prefix)."""
    out: dict[str, FileSpec] = {}
    admission = admission_config(config)
    if admission is not None:
        out["admission"] = FileSpec(
            path=names.ADMISSION_FILE, content=admission, source="admission configuration"
        )
    policy = audit_policy(config)
    if policy is not None:
        out["audit"] = FileSpec(path=names.AUDIT_POLICY_FILE, content=policy, source="audit policy")
    enc = config.services.kube_api.secrets_encryption_config
    if enc is not None and enc.enabled:
        out["encryption"] = FileSpec(
            path=names.ENCRYPTION_FILE,
            content=encryption_config(config, encryption_key, key_name),
            source="secrets encryption configuration",
        )
    cloud = cloud_config(config)
    if cloud is not None:
        out["cloud"] = FileSpec(
            path=names.CLOUD_CONFIG_FILE, content=cloud, source="cloud provider configuration"
        )
    hook = webhook_config(config)
    if hook is not None:
        out["webhook"] = FileSpec(
            path=names.WEBHOOK_FILE, content=hook, source="authentication webhook kubeconfig"
        )
    creds = registry_credentials(config)
    if creds is not None:
        out["registry"] = FileSpec(
            path=names.KUBELET_DOCKER_CONFIG, content=creds, source="registry credentials"
        )
    return out


# which roles receive each generated file
FILE_ROLES: dict[str, frozenset[str]] = {
    "admission": frozenset({"controlplane"}),
    "audit": frozenset({"controlplane"}),
    "encryption": frozenset({"controlplane"}),
    "cloud": frozenset({"controlplane", "etcd", "worker"}),
    "webhook": frozenset({"controlplane", "etcd", "worker"}),
    "registry": frozenset({"controlplane", "etcd", "worker"}),
}
