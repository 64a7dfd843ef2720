"""Kubeconfig text in RKE's layout (rke-spec §4.5): component kubeconfigs that point at files on
the node, and the admin kubeconfig with embedded data. Pure string building; no YAML library.
"""

from __future__ import annotations

import base64
import json

from pulumi_pyrke.errors import PKIError
from pulumi_pyrke.model.secret import Secret
from pulumi_pyrke.pki.bundle import CertificateBundle
from pulumi_pyrke.pki.specs import ADMIN, CA

SSL_DIR = "/etc/kubernetes/ssl"
LOCAL_SERVER = "https://127.0.0.1:6443"
LOCAL_CLUSTER = "local"


def cert_path(name: str) -> str:
    """Where certificate `name` lives on a node (without prefix_path)."""
    return f"{SSL_DIR}/{name}.pem"


def key_path(name: str) -> str:
    """Where the key of certificate `name` lives on a node (without prefix_path)."""
    return f"{SSL_DIR}/{name}-key.pem"


def kubeconfig_path(name: str) -> str:
    """Where the component kubeconfig of `name` lives on a node (without prefix_path)."""
    return f"{SSL_DIR}/kubecfg-{name}.yaml"


def _q(value: str) -> str:
    # a JSON string is a valid YAML double-quoted scalar, so any name or path stays one token
    return json.dumps(value)


def _render(*, server: str, cluster: str, user: str, cluster_fields: str, user_fields: str) -> str:
    return (
        "apiVersion: v1\n"
        "kind: Config\n"
        "clusters:\n"
        "- cluster:\n"
        "    api-version: v1\n"
        f"{cluster_fields}"
        f"    server: {_q(server)}\n"
        f"  name: {_q(cluster)}\n"
        "contexts:\n"
        "- context:\n"
        f"    cluster: {_q(cluster)}\n"
        f"    user: {_q(user)}\n"
        f"  name: {_q(cluster)}\n"
        f"current-context: {_q(cluster)}\n"
        "users:\n"
        f"- name: {_q(user)}\n"
        "  user:\n"
        f"{user_fields}"
    )


def component_kubeconfig(name: str) -> Secret:
    """The kubeconfig a component on a node uses: https://127.0.0.1:6443, cluster "local", files."""
    return Secret(
        _render(
            server=LOCAL_SERVER,
            cluster=LOCAL_CLUSTER,
            user=f"{name}-{LOCAL_CLUSTER}",
            cluster_fields=f"    certificate-authority: {_q(cert_path(CA))}\n",
            user_fields=(
                f"    client-certificate: {_q(cert_path(name))}\n"
                f"    client-key: {_q(key_path(name))}\n"
            ),
        )
    )


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def embedded_kubeconfig(
    *, server_url: str, cluster_name: str, user: str, ca_pem: str, cert_pem: str, key_pem: Secret
) -> Secret:
    """A kubeconfig carrying CA, certificate and key as base64 data (the admin kubeconfig)."""
    return Secret(
        _render(
            server=server_url,
            cluster=cluster_name,
            user=user,
            cluster_fields=f"    certificate-authority-data: {_q(_b64(ca_pem))}\n",
            user_fields=(
                f"    client-certificate-data: {_q(_b64(cert_pem))}\n"
                f"    client-key-data: {_q(_b64(key_pem.reveal()))}\n"
            ),
        )
    )


def admin_kubeconfig(bundle: CertificateBundle, *, cluster_name: str, server_url: str) -> Secret:
    """The kube-admin kubeconfig (RKE's kube_config_cluster.yml): cluster/context `cluster_name`,
    user `kube-admin-<cluster_name>`, CA, certificate and key embedded."""
    ca, admin = bundle.get(CA), bundle.get(ADMIN)
    if ca is None or admin is None:
        raise PKIError(
            f"[certificates] the bundle lacks {CA if ca is None else ADMIN}, so there is no admin "
            "kubeconfig yet. Reconcile the certificates (pyrke up) first."
        )
    return embedded_kubeconfig(
        server_url=server_url,
        cluster_name=cluster_name,
        user=f"{ADMIN}-{cluster_name}",
        ca_pem=ca.cert_pem,
        cert_pem=admin.cert_pem,
        key_pem=admin.key_pem,
    )
