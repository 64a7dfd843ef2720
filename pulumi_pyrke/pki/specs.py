"""What certificates a cluster needs: the request (hosts, CIDRs, SANs) and one CertificateSpec per
certificate RKE makes (rke-spec §4.1-4.2). Pure values; no key material, no I/O imports.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass

from pulumi_pyrke.errors import PKIError
from pulumi_pyrke.model.secret import Secret

CA = "kube-ca"
REQUESTHEADER_CA = "kube-apiserver-requestheader-ca"
APISERVER = "kube-apiserver"
PROXY_CLIENT = "kube-apiserver-proxy-client"
SERVICE_ACCOUNT = "kube-service-account-token"
CONTROLLER_MANAGER = "kube-controller-manager"
SCHEDULER = "kube-scheduler"
KUBE_PROXY = "kube-proxy"
NODE = "kube-node"
ADMIN = "kube-admin"
ETCD_PREFIX = "kube-etcd"
KUBELET_PREFIX = "kube-kubelet"
ETCD_CLIENT = "kube-etcd-client"  # user-provided client certificate for external etcd
ETCD_CLIENT_CA = "kube-etcd-client-ca"

# RKE writes no component kubeconfig for these (rke-spec §4.5); kube-admin gets admin_kubeconfig.
_NO_KUBECONFIG = frozenset({CA, APISERVER, SERVICE_ACCOUNT, ADMIN})


@dataclass(frozen=True, kw_only=True, slots=True)
class HostIdentity:
    """How the PKI names a host: its address, internal address and hostname override."""

    address: str  # may be an IP or a DNS name
    internal_address: str  # equals address when not set
    hostname_override: str  # equals address when not set


@dataclass(frozen=True, kw_only=True, slots=True)
class ExternalEtcd:
    """services.etcd.external_urls: the user-provided CA and client certificate for etcd."""

    ca_cert: str
    cert: str
    key: Secret


@dataclass(frozen=True, kw_only=True, slots=True)
class PKIRequest:
    """Everything the PKI of a cluster depends on."""

    cluster_name: str = "local"
    cluster_domain: str = "cluster.local"
    service_cidrs: tuple[str, ...] = ("10.43.0.0/16",)  # first IP of each -> apiserver SAN
    controlplane_hosts: tuple[HostIdentity, ...] = ()
    etcd_hosts: tuple[HostIdentity, ...] = ()
    all_hosts: tuple[HostIdentity, ...] = ()
    extra_sans: tuple[str, ...] = ()  # authentication.sans (IPs or DNS names)
    generate_serving_certificate: bool = False  # kubelet serving certs kube-kubelet-<ip>
    external_etcd: ExternalEtcd | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class CertificateSpec:
    """One certificate as it should be: subject, SANs, signer and usages. No key material."""

    name: str  # the bundle name, also the file stem on hosts: /etc/kubernetes/ssl/<name>.pem
    common_name: str
    organization: str = ""  # "" means no O in the subject
    dns_sans: tuple[str, ...] = ()  # sorted, unique
    ip_sans: tuple[str, ...] = ()  # sorted, unique, normalised (ipaddress.ip_address -> str)
    is_ca: bool = False
    signer: str = CA  # bundle name of the signing CA; a self-signed CA names itself
    server_auth: bool = False
    client_auth: bool = True
    kubeconfig: bool = False  # whether a component kubeconfig (127.0.0.1:6443) goes with it

    @property
    def self_signed(self) -> bool:
        """Whether this certificate signs itself (the two CAs)."""
        return self.signer == self.name


def cert_name(prefix: str, host: HostIdentity) -> str:
    """RKE's per-host certificate name: `kube-etcd-10-0-0-5` from the internal address (dots->dashes)."""
    address = host.internal_address or host.address
    return f"{prefix}-{address.replace('.', '-')}"


def is_ip(value: str) -> bool:
    """Whether `value` is an IP address rather than a DNS name."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def service_ips(cidrs: tuple[str, ...]) -> tuple[str, ...]:
    """The kubernetes service IP of each service CIDR: its network address + 1."""
    ips = []
    for cidr in cidrs:
        if not cidr.strip():
            continue
        try:
            network = ipaddress.ip_network(cidr.strip(), strict=False)
        except ValueError as exc:
            raise PKIError(
                f"[certificates] service CIDR {cidr!r} is not a network: {exc}. "
                "Fix services.kube-api.service_cluster_ip_range."
            ) from exc
        ips.append(str(network.network_address + 1))
    return tuple(ips)


def _host_names(host: HostIdentity) -> list[str]:
    """A host's names as RKE's SAN helpers take them: address, then the other two when distinct."""
    names = [host.address]
    if host.internal_address and host.internal_address != host.address:
        names.append(host.internal_address)
    if host.hostname_override and host.hostname_override != host.address:
        names.append(host.hostname_override)
    return names


def split_sans(names: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Sorted unique (dns_sans, ip_sans) of `names`, each classed as an IP or a DNS name."""
    dns: set[str] = set()
    ips: set[str] = set()
    for name in names:
        name = name.strip()
        if not name:
            continue
        if is_ip(name):
            ips.add(str(ipaddress.ip_address(name)))
        else:
            dns.add(name)
    return tuple(sorted(dns)), tuple(sorted(ips))


def _cluster_sans(
    hosts: tuple[HostIdentity, ...], extra: tuple[str, ...], request: PKIRequest
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """RKE's GetAltNames: host names, extra SANs, loopback, service IPs, the kubernetes names."""
    names = [name for host in hosts for name in _host_names(host)]
    names += extra
    names += ["127.0.0.1", *service_ips(request.service_cidrs)]
    names += [
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        f"kubernetes.default.svc.{request.cluster_domain}",
    ]
    return split_sans(names)


def _component(name: str, common_name: str, organization: str = "") -> CertificateSpec:
    return CertificateSpec(
        name=name,
        common_name=common_name,
        organization=organization,
        kubeconfig=name not in _NO_KUBECONFIG,
    )


def build_certificate_specs(request: PKIRequest) -> tuple[CertificateSpec, ...]:
    """Every certificate RKE makes for `request`, sorted by name.

    The user-provided external etcd certificates are not made, so they are not here; host_files
    ships them from the request.
    """
    return _specs(request)


# the planner asks once per host with the same request; values are frozen, so sharing is safe
@functools.lru_cache(maxsize=16)
def _specs(request: PKIRequest) -> tuple[CertificateSpec, ...]:
    api_dns, api_ips = _cluster_sans(request.controlplane_hosts, request.extra_sans, request)
    specs = [
        CertificateSpec(
            name=CA, common_name=CA, is_ca=True, signer=CA, client_auth=False, kubeconfig=False
        ),
        CertificateSpec(
            name=REQUESTHEADER_CA,
            common_name=REQUESTHEADER_CA,
            is_ca=True,
            signer=REQUESTHEADER_CA,
            client_auth=False,
            kubeconfig=True,
        ),
        CertificateSpec(
            name=APISERVER,
            common_name=APISERVER,
            dns_sans=api_dns,
            ip_sans=api_ips,
            server_auth=True,
        ),
        CertificateSpec(
            name=PROXY_CLIENT,
            common_name=PROXY_CLIENT,
            signer=REQUESTHEADER_CA,
            server_auth=True,
            kubeconfig=True,
        ),
        _component(SERVICE_ACCOUNT, SERVICE_ACCOUNT),
        _component(CONTROLLER_MANAGER, "system:kube-controller-manager"),
        _component(SCHEDULER, "system:kube-scheduler"),
        _component(KUBE_PROXY, "system:kube-proxy"),
        _component(NODE, "system:node", "system:nodes"),
        _component(ADMIN, ADMIN, "system:masters"),
    ]
    if request.etcd_hosts:
        # every etcd certificate carries the names of all etcd hosts (RKE quirk, rke-spec §4.2)
        etcd_dns, etcd_ips = _cluster_sans(request.etcd_hosts, (), request)
        specs += [
            CertificateSpec(
                name=cert_name(ETCD_PREFIX, host),
                common_name=ETCD_PREFIX,
                dns_sans=etcd_dns,
                ip_sans=etcd_ips,
                server_auth=True,
            )
            for host in request.etcd_hosts
        ]
    if request.generate_serving_certificate:
        for host in request.all_hosts:
            dns, ips = split_sans(_host_names(host))
            name = cert_name(KUBELET_PREFIX, host)
            specs.append(
                CertificateSpec(
                    name=name, common_name=name, dns_sans=dns, ip_sans=ips, server_auth=True
                )
            )
    unique = {spec.name: spec for spec in specs}
    if len(unique) != len(specs):
        raise PKIError(
            "[certificates] two hosts share an internal address, so their per-host certificates "
            "would share a name. Give every node a distinct internal_address."
        )
    return tuple(sorted(unique.values(), key=lambda s: s.name))
