"""Cross-field checks of a defaulted ClusterConfig (rke-spec §1.19 step 8, and more).

Each check declares the fields it reads; when one of them failed schema validation (and was
dropped), the check is skipped so one mistake is not reported twice. Pure: no I/O.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator
from typing import TypeAlias

from pulumi_pyrke import versions
from pulumi_pyrke.errors import ConfigError, Problem
from pulumi_pyrke.model.cluster import ClusterConfig
from pulumi_pyrke.model.node import ROLES, check_node_name, login_problems
from pulumi_pyrke.model.yamldoc import parse_yaml_all

Check: TypeAlias = Callable[[ClusterConfig], Iterable[Problem]]
_CHECKS: list[tuple[tuple[str, ...], Check]] = []
_API = "services.kube-api"
_CTRL = "services.kube-controller"


def reads(*paths: str) -> Callable[[Check], Check]:
    """Register a check with the field paths (patterns with [*]) it depends on."""

    def register(check: Check) -> Check:
        _CHECKS.append((paths, check))
        return check

    return register


def check_config(config: ClusterConfig, *, skip: Iterable[str] = ()) -> list[Problem]:
    """Run every cross-field check; `skip` lists paths that already failed (their checks are skipped)."""
    skipped = [re.sub(r"\[\d+\]", "[*]", s) for s in skip]
    problems: list[Problem] = []
    for paths, check in _CHECKS:
        if any(_related(s, p) for s in skipped for p in paths):
            continue
        problems.extend(check(config))
    return problems


def _related(pruned: str, read: str) -> bool:
    """Whether dropping `pruned` affects a check reading `read` (a trailing ! reads only the
    key itself, not what is inside it)."""
    exact = read.endswith("!")
    read = read.rstrip("!")
    if pruned == read or read.startswith((pruned + ".", pruned + "[")):
        return True
    return not exact and pruned.startswith((read + ".", read + "["))


def _networks(value: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(p.strip()) for p in value.split(",") if p.strip()]


@reads("nodes")  # a node that failed validation is still a node
def _has_nodes(c: ClusterConfig) -> Iterator[Problem]:
    if not c.nodes:
        yield Problem(path="nodes", message="at least one node is required")


@reads("nodes[*].role", "services.etcd.external_urls")
def _role_coverage(c: ClusterConfig) -> Iterator[Problem]:
    if not c.nodes:
        return
    etcd = c.role_nodes("etcd")
    external = c.services.etcd.external_urls
    if not etcd and not external:
        yield Problem(
            path="nodes",
            message="no node has the etcd role; give at least one node role etcd "
            "(or set services.etcd.external_urls)",
        )
    if etcd and external:
        yield Problem(
            path="services.etcd.external_urls",
            message="cannot be used together with etcd nodes; remove one or the other",
        )
    if not c.role_nodes("controlplane"):
        yield Problem(path="nodes", message="no node has the controlplane role; give at least one")
    if len(etcd) % 2 == 0 and etcd:
        yield Problem(
            path="nodes",
            message=f"an even number of etcd nodes ({len(etcd)}) survives no more failures "
            f"({(len(etcd) - 1) // 2}) than {len(etcd) - 1} would; use an odd number",
            severity="warning",
        )


@reads("nodes[*].role", "nodes[*].user", "nodes[*].hostname_override", "nodes[*].address")
def _node_fields(c: ClusterConfig) -> Iterator[Problem]:
    """RKE's own rules for a cluster.yml node (the Node resource has defaults instead)."""
    for i, node in enumerate(c.nodes):
        if not node.roles:
            yield Problem(path=f"nodes[{i}].role", message=f"is empty; use {', '.join(ROLES)}")
        if not node.user:
            yield Problem(
                path=f"nodes[{i}].user", message="is required (the SSH user, e.g. ubuntu)"
            )
        try:
            check_node_name(node.hostname_override)  # defaulted from the address, lowercased
        except ValueError as exc:
            yield Problem(path=f"nodes[{i}].hostname_override", message=str(exc))
        yield from login_problems(node, at=f"nodes[{i}].")


@reads("bastion_host.user", "bastion_host.ssh_cert", "bastion_host.ssh_cert_path")
def _bastion_fields(c: ClusterConfig) -> Iterator[Problem]:
    if c.bastion_host is None:
        return
    if not c.bastion_host.user:
        yield Problem(path="bastion_host.user", message="is required (the SSH user on the bastion)")
    yield from login_problems(c.bastion_host, at="bastion_host.")


@reads("nodes[*].address", "nodes[*].hostname_override")
def _duplicates(c: ClusterConfig) -> Iterator[Problem]:
    for attr in ("address", "hostname_override"):
        first: dict[str, int] = {}
        for i, node in enumerate(c.nodes):
            value = getattr(node, attr)
            if value in first:
                yield Problem(
                    path=f"nodes[{i}].{attr}",
                    message=f"{value!r} is also used by nodes[{first[value]}]; each node needs "
                    f"its own {attr}",
                )
            else:
                first[value] = i


@reads("kubernetes_version")
def _version(c: ClusterConfig) -> Iterator[Problem]:
    wanted = c.kubernetes_version
    if versions.is_supported(wanted):
        return
    # "v1.28" or "v1.28.9-rancher1-1": point at the supported release of the same minor
    minor = ".".join(wanted.lstrip("v").split("-")[0].split(".")[:2])
    same = [v for v in versions.supported_versions() if v.lstrip("v").startswith(minor + ".")]
    hint = f" (did you mean {same[-1]!r}?)" if same and minor.count(".") == 1 else ""
    yield Problem(
        path="kubernetes_version",
        message=f"{wanted!r} is not supported{hint}; supported: "
        f"{', '.join(versions.supported_versions())}",
    )


@reads("addons")
def _addons(c: ClusterConfig) -> Iterator[Problem]:
    try:
        docs = parse_yaml_all(c.addons, source="addons") if c.addons.strip() else []
    except ConfigError as exc:
        for problem in exc.problems:
            inner = "" if problem.path == "addons" else f" (at {problem.path})"
            yield Problem(path="addons", message=f"is not valid YAML: {problem.message}{inner}")
        return
    for i, doc in enumerate(docs):
        if doc is not None and not (
            isinstance(doc, dict) and doc.get("kind") and doc.get("apiVersion")
        ):
            yield Problem(
                path="addons",
                message=f"document {i + 1} is not a Kubernetes object (needs apiVersion and kind)",
            )


@reads(
    "kubernetes_version",
    "network.plugin",
    "network.mtu",
    _CTRL + ".cluster_cidr",
    _API + ".service_cluster_ip_range",
)
def _network(c: ClusterConfig) -> Iterator[Problem]:
    plugin = c.network.plugin
    if versions.is_supported(c.kubernetes_version):
        info = versions.get_version(c.kubernetes_version)
        if plugin not in info.network_plugins:
            yield Problem(
                path="network.plugin",
                message=f"{plugin!r} is not available for {c.kubernetes_version} (weave was removed "
                f"in v1.30); use one of {', '.join(sorted(info.network_plugins))}",
            )
        elif plugin == "weave" and info.semver() >= (1, 27, 0):
            yield Problem(
                path="network.plugin",
                message="weave is deprecated and removed from v1.30; plan a move to canal or calico",
                severity="warning",
            )
    if plugin == "flannel" and c.network.mtu:
        yield Problem(path="network.mtu", message="cannot be set with flannel; remove it")
    dual = len(c.services.kube_controller.cluster_cidr.split(",")) > 1 or (
        len(c.services.kube_api.service_cluster_ip_range.split(",")) > 1
    )
    if dual and plugin not in ("calico", "aci"):
        yield Problem(
            path="network.plugin",
            message=f"dual-stack ranges need calico or aci, not {plugin!r}",
        )


@reads(
    _API + ".service_cluster_ip_range", _CTRL + ".service_cluster_ip_range", _CTRL + ".cluster_cidr"
)
def _ranges(c: ClusterConfig) -> Iterator[Problem]:
    api_range = c.services.kube_api.service_cluster_ip_range
    ctrl_range = c.services.kube_controller.service_cluster_ip_range
    if _networks(api_range) != _networks(ctrl_range):
        yield Problem(
            path=f"{_CTRL}.service_cluster_ip_range",
            message=f"{ctrl_range!r} differs from {_API}.service_cluster_ip_range {api_range!r}; "
            "they must be the same",
        )
    for pod in _networks(c.services.kube_controller.cluster_cidr):
        for svc in _networks(api_range):
            if pod.version == svc.version and pod.overlaps(svc):
                yield Problem(
                    path=f"{_CTRL}.cluster_cidr",
                    message=f"{pod} overlaps the service range {svc}; pod and service ranges "
                    "must not overlap",
                )


@reads(_API + ".service_cluster_ip_range", "services.kubelet.cluster_dns_server")
def _dns_ip(c: ClusterConfig) -> Iterator[Problem]:
    dns_ip = ipaddress.ip_address(c.services.kubelet.cluster_dns_server)
    ranges = _networks(c.services.kube_api.service_cluster_ip_range)
    if not any(dns_ip.version == r.version and dns_ip in r for r in ranges):
        yield Problem(
            path="services.kubelet.cluster_dns_server",
            message=f"{dns_ip} is outside the service range "
            f"{c.services.kube_api.service_cluster_ip_range}; pick an address inside it",
        )
    elif any(dns_ip == r.network_address or dns_ip == r.network_address + 1 for r in ranges):
        yield Problem(
            path="services.kubelet.cluster_dns_server",
            message=f"{dns_ip} is reserved (network address or the kubernetes service IP); "
            "use another, e.g. the .10 address",
        )


@reads("dns.nodelocal")
def _nodelocal(c: ClusterConfig) -> Iterator[Problem]:
    if c.dns is not None and c.dns.nodelocal is not None and c.dns.nodelocal.ip_address:
        try:
            ipaddress.ip_address(c.dns.nodelocal.ip_address)
        except ValueError:
            yield Problem(
                path="dns.nodelocal.ip_address",
                message=f"{c.dns.nodelocal.ip_address!r} is not an IP address; e.g. 169.254.20.10",
            )


@reads("ingress.http_port", "ingress.https_port")
def _ingress(c: ClusterConfig) -> Iterator[Problem]:
    if c.ingress.network_mode == "hostPort" and c.ingress.http_port == c.ingress.https_port:
        yield Problem(
            path="ingress.https_port",
            message=f"equals http_port ({c.ingress.http_port}); the two ports must differ",
        )


@reads(_API, "authorization.mode", "kubernetes_version")
def _kube_api(c: ClusterConfig) -> Iterator[Problem]:
    api = c.services.kube_api
    if api.pod_security_policy:
        yield Problem(
            path=f"{_API}.pod_security_policy",
            message="PodSecurityPolicy was removed in Kubernetes 1.25; use "
            "pod_security_configuration (privileged or restricted)",
        )
    if api.pod_security_configuration == "restricted" and c.authorization.mode != "rbac":
        yield Problem(
            path=f"{_API}.pod_security_configuration",
            message="restricted needs authorization.mode rbac",
        )


@reads("services.etcd")
def _etcd(c: ClusterConfig) -> Iterator[Problem]:
    etcd = c.services.etcd
    if etcd.external_urls:
        for name in ("ca_cert", "cert", "key", "path"):
            if not getattr(etcd, name):
                yield Problem(
                    path=f"services.etcd.{name}",
                    message="is required when services.etcd.external_urls is set",
                )
    backup = etcd.backup_config
    if backup is not None and backup.s3backupconfig is not None:
        s3 = backup.s3backupconfig
        if not s3.bucket_name:
            yield Problem(
                path="services.etcd.backup_config.s3backupconfig.bucket_name",
                message="is required for S3 backups",
            )
        if not s3.endpoint:
            yield Problem(
                path="services.etcd.backup_config.s3backupconfig.endpoint",
                message="is required for S3 backups, e.g. s3.amazonaws.com",
            )
        if bool(s3.access_key) != bool(s3.secret_key):
            yield Problem(
                path="services.etcd.backup_config.s3backupconfig",
                message="give both access_key and secret_key, or neither (to use an IAM role)",
            )
    if bool(etcd.uid) != bool(etcd.gid):
        yield Problem(path="services.etcd.uid", message="uid and gid must be set together")


@reads("cloud_provider", "kubernetes_version")
def _cloud(c: ClusterConfig) -> Iterator[Problem]:
    if c.cloud_provider is not None and c.cloud_provider.name == "aws":
        yield Problem(
            path="cloud_provider.name",
            message="'aws' (in-tree) was removed in Kubernetes 1.27; use external-aws",
        )


@reads("private_registries")
def _registries(c: ClusterConfig) -> Iterator[Problem]:
    defaults = [i for i, r in enumerate(c.private_registries) if r.is_default]
    for i in defaults[1:]:
        yield Problem(
            path=f"private_registries[{i}].is_default",
            message=f"private_registries[{defaults[0]}] is already the default; only one may be",
        )
    for i, reg in enumerate(c.private_registries):
        if reg.password and not reg.user:
            yield Problem(
                path=f"private_registries[{i}].user", message="is required with a password"
            )


@reads("enable_cri_dockerd")
def _cri(c: ClusterConfig) -> Iterator[Problem]:
    if c.enable_cri_dockerd is False:
        yield Problem(
            path="enable_cri_dockerd",
            message="must be true: Kubernetes 1.24 and later run on Docker only through cri-dockerd",
        )


@reads("services")
def _extra_args_flags(c: ClusterConfig) -> Iterator[Problem]:
    """A flag the binary does not know makes it exit at start: warn, with the likely flag.

    A warning, not an error: the lists are v1.28's --help, and deprecated flags are hidden there.
    """
    services = c.services
    by_key = {
        "etcd": services.etcd,
        "kube-api": services.kube_api,
        "kube-controller": services.kube_controller,
        "scheduler": services.scheduler,
        "kubelet": services.kubelet,
        "kubeproxy": services.kubeproxy,
    }
    for key, service in by_key.items():
        binary = versions.SERVICE_BINARIES[key]
        known = versions.known_flags(binary)
        if not known:
            continue
        for field in ("extra_args", "extra_args_array"):
            for flag in getattr(service, field):
                if flag in known:
                    continue
                close = difflib.get_close_matches(flag, sorted(known), 1, 0.75)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                yield Problem(
                    path=f"services.{key}.{field}.{flag}",
                    message=f"{binary} has no flag --{flag} (as of its "
                    f"{'3.5' if binary == 'etcd' else versions.FLAG_LIST_VERSION} --help){hint}",
                    severity="warning",
                )


@reads("system_images.kubernetes", "kubernetes_version")
def _kubernetes_image(c: ClusterConfig) -> Iterator[Problem]:
    """A pinned hyperkube of another minor runs with flags planned for kubernetes_version."""
    image = c.system_images.get("kubernetes", "")
    tag = image.rpartition(":")[2]
    found = re.match(r"v(\d+)\.(\d+)\.", tag)
    wanted = re.match(r"v(\d+)\.(\d+)\.", c.kubernetes_version)
    if image and found and wanted and found.groups() != wanted.groups():
        yield Problem(
            path="system_images.kubernetes",
            message=f"{image!r} is Kubernetes v{'.'.join(found.groups())} but kubernetes_version "
            f"is {c.kubernetes_version}; flags are planned for the latter. Remove the override "
            "or pin an image of the same minor",
            severity="warning",
        )
