"""The cluster PKI the RKE way: which certificates a cluster needs, generating and reconciling
them, kubeconfigs and the files each host holds. Pure: cryptography and stdlib only, no I/O.
"""

from __future__ import annotations

from pulumi_pyrke.model.plan import CertificateChange
from pulumi_pyrke.pki.bundle import Certificate, CertificateBundle
from pulumi_pyrke.pki.host_certificates import PKIFile, host_files
from pulumi_pyrke.pki.kubeconfig import admin_kubeconfig, component_kubeconfig
from pulumi_pyrke.pki.reconcile import BundleResult, check_external_etcd, reconcile_bundle
from pulumi_pyrke.pki.specs import (
    CertificateSpec,
    ExternalEtcd,
    HostIdentity,
    PKIRequest,
    build_certificate_specs,
    cert_name,
)

__all__ = [
    "BundleResult",
    "Certificate",
    "CertificateBundle",
    "CertificateChange",
    "CertificateSpec",
    "ExternalEtcd",
    "HostIdentity",
    "PKIFile",
    "PKIRequest",
    "admin_kubeconfig",
    "build_certificate_specs",
    "cert_name",
    "check_external_etcd",
    "component_kubeconfig",
    "host_files",
    "reconcile_bundle",
]
