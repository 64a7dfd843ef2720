"""RKE's defaults for a parsed cluster.yml, applied in RKE's order (rke-spec §1.19, step 4).

Pure: takes a ClusterConfig, returns a new one. Version-dependent defaults use the version table.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from pulumi_pyrke import versions
from pulumi_pyrke.model.cluster import ClusterConfig
from pulumi_pyrke.model.node import Bastion, NodeSpec
from pulumi_pyrke.model.secret import reveal_data
from pulumi_pyrke.model.sections import DNSConfig, NetworkConfig
from pulumi_pyrke.model.services import AuditLog, Services

DEFAULT_AUDIT_POLICY: dict[str, Any] = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "rules": [{"level": "Metadata"}],
}

NETWORK_OPTION_DEFAULTS: dict[str, dict[str, str]] = {
    "flannel": {
        "flannel_backend_type": "vxlan",
        "flannel_backend_port": "8472",
        "flannel_backend_vni": "1",
    },
    "canal": {
        "canal_flannel_backend_type": "vxlan",
        "canal_flannel_backend_port": "8472",
        "canal_flannel_backend_vni": "1",
        "canal_flex_volume_plugin_dir": (
            "/usr/libexec/kubernetes/kubelet-plugins/volume/exec/nodeagent~uds"
        ),
    },
    "calico": {
        "calico_cloud_provider": "none",
        "calico_flex_volume_plugin_dir": (
            "/usr/libexec/kubernetes/kubelet-plugins/volume/exec/nodeagent~uds"
        ),
    },
}

# Rancher-typed provider blocks are copied into plain options, as RKE does.
_PROVIDER_ALIASES = (
    ("canal_network_provider", "iface", "canal_iface"),
    ("flannel_network_provider", "iface", "flannel_iface"),
    ("calico_network_provider", "cloud_provider", "calico_cloud_provider"),
    ("weave_network_provider", "password", "WeavePassword"),
)


def apply_defaults(config: ClusterConfig) -> ClusterConfig:
    """Fill every unset key with RKE's default, in RKE's order, and return the new config."""
    update: dict[str, Any] = {}
    version = config.kubernetes_version or versions.default_version()
    update["kubernetes_version"] = version
    update["nodes"] = [_node_defaults(n, config) for n in config.nodes]
    if config.bastion_host is not None:
        update["bastion_host"] = _bastion_defaults(config.bastion_host, config)
    if config.enable_cri_dockerd is None:
        update["enable_cri_dockerd"] = True  # every supported version is >= 1.24
    if config.dns is None:
        update["dns"] = DNSConfig()
    update["services"] = _service_defaults(config.services)
    update["network"] = _network_defaults(config.network)
    return config.model_copy(update=update)


def _node_defaults(node: NodeSpec, config: ClusterConfig) -> NodeSpec:
    return node.model_copy(
        update={
            "internal_address": node.internal_address or node.address,
            "hostname_override": (node.hostname_override or node.address).lower(),
            "ssh_key_path": node.ssh_key_path
            or (None if node.ssh_private_key else config.ssh_key_path or None),
            "ssh_cert_path": node.ssh_cert_path
            or (None if node.ssh_cert else config.ssh_cert_path or None),
            # RKE copies the cluster value onto every node; a per-node value is ignored.
            "ssh_agent_auth": config.ssh_agent_auth,
        }
    )


def _bastion_defaults(bastion: Bastion, config: ClusterConfig) -> Bastion:
    return bastion.model_copy(
        update={
            "ssh_key_path": bastion.ssh_key_path
            or (None if bastion.ssh_private_key else config.ssh_key_path or None),
            "ssh_agent_auth": config.ssh_agent_auth,
        }
    )


def _service_defaults(services: Services) -> Services:
    etcd = services.etcd
    if etcd.snapshot is None:
        etcd = etcd.model_copy(update={"snapshot": True})
    api = services.kube_api
    api_update: dict[str, Any] = {}
    if not api.pod_security_configuration and "admission-control-config-file" not in api.extra_args:
        api_update["pod_security_configuration"] = "privileged"
    audit = api.audit_log or AuditLog()
    if audit.configuration.policy is None:
        audit = audit.model_copy(
            update={
                "configuration": audit.configuration.model_copy(
                    update={"policy": DEFAULT_AUDIT_POLICY}
                )
            }
        )
    api_update["audit_log"] = audit
    controller, kubelet = services.kube_controller, services.kubelet
    api_range_set = "service_cluster_ip_range" in api.model_fields_set
    ctrl_range_set = "service_cluster_ip_range" in controller.model_fields_set
    # The service range is written in two places in RKE; set in one, it holds for both.
    if api_range_set and not ctrl_range_set:
        controller = controller.model_copy(
            update={"service_cluster_ip_range": api.service_cluster_ip_range}
        )
    elif ctrl_range_set and not api_range_set:
        api_update["service_cluster_ip_range"] = controller.service_cluster_ip_range
    service_range = api_update.get("service_cluster_ip_range", api.service_cluster_ip_range)
    if "cluster_dns_server" not in kubelet.model_fields_set:
        # RKE's 10.43.0.10 is the 10th address of its default range; follow a moved range
        first = ipaddress.ip_network(service_range.split(",")[0])
        kubelet = kubelet.model_copy(update={"cluster_dns_server": str(first.network_address + 10)})
    return services.model_copy(
        update={
            "etcd": etcd,
            "kube_api": api.model_copy(update=api_update),
            "kube_controller": controller,
            "kubelet": kubelet,
        }
    )


def _network_defaults(network: NetworkConfig) -> NetworkConfig:
    options = dict(NETWORK_OPTION_DEFAULTS.get(network.plugin, {}))
    for block, key, option in _PROVIDER_ALIASES:
        value = reveal_data(getattr(network, block)).get(key)
        if value:
            options[option] = str(value)
    options.update(network.options)
    return network.model_copy(update={"options": options})
