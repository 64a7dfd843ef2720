"""Names, labels, paths and ports of the cluster: the one place they are spelled. Pure constants."""

from __future__ import annotations

import posixpath

from pulumi_pyrke.pki.kubeconfig import SSL_DIR, cert_path, key_path, kubeconfig_path

# containers
ETCD = "etcd"
ETCD_SNAPSHOTS = "etcd-rolling-snapshots"
KUBE_APISERVER = "kube-apiserver"
KUBE_CONTROLLER_MANAGER = "kube-controller-manager"
KUBE_SCHEDULER = "kube-scheduler"
KUBELET = "kubelet"
KUBE_PROXY = "kube-proxy"
NGINX_PROXY = "nginx-proxy"
SIDEKICK = "service-sidekick"

CONTAINER_LABEL = "io.rancher.rke.container.name"
ROLE_LABEL = "node-role.kubernetes.io/{role}"

# paths inside containers (and on hosts, below the prefix path)
K8S_DIR = "/etc/kubernetes"
ETCD_DATA_DIR = "/var/lib/rancher/etcd/"
ETCD_HOST_DIR = "/var/lib/etcd"
SNAPSHOT_DIR = "/opt/rke/etcd-snapshots/"
AUDIT_DIR = "/var/log/kube-audit"
KUBELET_DIR = "/var/lib/kubelet"
ADMISSION_FILE = "/etc/kubernetes/admission.yaml"
AUDIT_POLICY_FILE = "/etc/kubernetes/audit-policy.yaml"
ENCRYPTION_FILE = f"{SSL_DIR}/encryption.yaml"
CLOUD_CONFIG_FILE = "/etc/kubernetes/cloud-config"
WEBHOOK_FILE = "/etc/kubernetes/kube-api-authn-webhook.yaml"
KUBELET_DOCKER_CONFIG = "/var/lib/kubelet/config.json"
RKE_TOOLS_ENTRYPOINT = "/opt/rke-tools/entrypoint.sh"
CRI_DOCKERD_SOCKET = "unix:///var/run/cri-dockerd.sock"

# ports
ETCD_CLIENT_PORT = 2379
ETCD_PEER_PORT = 2380
APISERVER_PORT = 6443

ETCD_CIPHERS = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"


# certificate files are spelled once, by the PKI that writes them
ssl = cert_path
ssl_key = key_path
kubeconfig = kubeconfig_path


def on_host(prefix: str, path: str) -> str:
    """`path` below the host's prefix path (RKE's prefix_path, "/" by default)."""
    if prefix in ("", "/"):
        return path
    return posixpath.join(prefix, path.lstrip("/"))


def in_container(prefix: str, host_path: str) -> str:
    """The path a container sees for a host file below the prefix (the inverse of on_host):
    containers bind <prefix>/etc/kubernetes at /etc/kubernetes."""
    if prefix in ("", "/"):
        return host_path
    root = prefix.rstrip("/")
    return host_path[len(root) :] if host_path.startswith(root + "/") else host_path


# etcd reads these only to bootstrap an empty data directory; drift checks ignore them
ETCD_BOOTSTRAP_FLAGS = frozenset({"--initial-cluster", "--initial-cluster-state"})
