"""host_files: which certificate, key and kubeconfig files a host with given roles holds
(rke-spec §4.4), with their contents when the bundle is known. Pure; paths are without prefix_path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pulumi_pyrke.model.secret import Secret
from pulumi_pyrke.pki.bundle import CertificateBundle
from pulumi_pyrke.pki.kubeconfig import (
    cert_path,
    component_kubeconfig,
    key_path,
    kubeconfig_path,
)
from pulumi_pyrke.pki.specs import (
    APISERVER,
    CA,
    CONTROLLER_MANAGER,
    ETCD_CLIENT,
    ETCD_CLIENT_CA,
    ETCD_PREFIX,
    KUBE_PROXY,
    KUBELET_PREFIX,
    NODE,
    PROXY_CLIENT,
    REQUESTHEADER_CA,
    SCHEDULER,
    SERVICE_ACCOUNT,
    PKIRequest,
    build_certificate_specs,
)

FILE_MODE = 0o600  # our design: every certificate file, public or not, is written 0600

_CONTROLPLANE = (
    APISERVER,
    SERVICE_ACCOUNT,
    CONTROLLER_MANAGER,
    SCHEDULER,
    REQUESTHEADER_CA,
    PROXY_CLIENT,
)


@dataclass(frozen=True, kw_only=True, slots=True)
class PKIFile:
    """One file of the PKI on a host: a certificate, its key or its component kubeconfig."""

    path: str  # absolute on the node, without prefix_path
    mode: int = FILE_MODE
    content: Secret | None = field(default=None, repr=False)  # None: not known yet
    certificate: str  # the bundle name the file belongs to, e.g. "kube-node"


def _wanted(roles: frozenset[str], names: set[str]) -> set[str]:
    """Bundle names a host with `roles` gets; kube-admin never leaves the operator's machine."""
    wanted = {CA, KUBE_PROXY, NODE} | {n for n in names if n.startswith(f"{KUBELET_PREFIX}-")}
    if "etcd" in roles:
        wanted |= {n for n in names if n.startswith(f"{ETCD_PREFIX}-")}
    if "controlplane" in roles:
        wanted |= set(_CONTROLPLANE)
    return wanted


def host_files(
    request: PKIRequest, roles: frozenset[str], bundle: CertificateBundle | None
) -> tuple[PKIFile, ...]:
    """The certificate files a host with `roles` holds, sorted by path. Every host of the same
    roles holds the same set: RKE ships every per-host certificate to every host of a role.

    Every host: kube-ca (its key only on controlplane), kube-proxy, kube-node and, when enabled,
    every kube-kubelet-*; etcd: every kube-etcd-*; controlplane: the apiserver, service account,
    controller, scheduler and requestheader certificates, plus the user's external etcd client
    certificate. Contents come from `bundle` (None while it is None or lacks the certificate);
    the external etcd files come from the request once a bundle exists; component kubeconfigs
    hold only paths and are always known.
    """
    specs = {s.name: s for s in build_certificate_specs(request)}
    files: list[PKIFile] = []

    def add(path: str, name: str, content: str | Secret | None, *, known: bool = False) -> None:
        text = Secret(content) if isinstance(content, str) else content
        files.append(
            PKIFile(
                path=path,
                content=text if bundle is not None or known else None,
                certificate=name,
            )
        )

    for name in sorted(_wanted(roles, set(specs))):
        cert = bundle.get(name) if bundle is not None else None
        add(cert_path(name), name, cert.cert_pem if cert else None)
        if name != CA or "controlplane" in roles:
            add(key_path(name), name, cert.key_pem if cert else None)
        if specs[name].kubeconfig:
            # only file paths inside: known before any certificate exists
            add(kubeconfig_path(name), name, component_kubeconfig(name), known=True)
    external = request.external_etcd
    if external is not None and "controlplane" in roles:
        add(cert_path(ETCD_CLIENT), ETCD_CLIENT, external.cert)
        add(key_path(ETCD_CLIENT), ETCD_CLIENT, external.key)
        add(cert_path(ETCD_CLIENT_CA), ETCD_CLIENT_CA, external.ca_cert)
    return tuple(sorted(files, key=lambda f: f.path))
