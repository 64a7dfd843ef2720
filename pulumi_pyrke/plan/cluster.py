"""plan_cluster: a defaulted ClusterConfig + host facts + previous state -> ClusterPlan.

Pure and fast: no host is contacted; what cannot be known (certificate contents before they
exist) is left out. The same plan feeds `pyrke plan`, Pulumi's preview and the engine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from pulumi_pyrke import versions
from pulumi_pyrke.model.cluster import ClusterConfig, image_overrides
from pulumi_pyrke.model.facts import NodeFacts
from pulumi_pyrke.model.plan import ClusterPlan, ContainerSpec, FileSpec, HostPlan, Taint
from pulumi_pyrke.model.secret import reveal
from pulumi_pyrke.pki import (
    BundleResult,
    ExternalEtcd,
    PKIFile,
    PKIRequest,
    host_files,
    reconcile_bundle,
)
from pulumi_pyrke.plan import names
from pulumi_pyrke.plan.components.etcd import build_etcd, member_name, peer_url
from pulumi_pyrke.plan.components.etcd_snapshots import build_etcd_snapshots
from pulumi_pyrke.plan.components.kube_apiserver import build_kube_apiserver
from pulumi_pyrke.plan.components.kube_controller_manager import build_kube_controller_manager
from pulumi_pyrke.plan.components.kube_proxy import build_kube_proxy
from pulumi_pyrke.plan.components.kube_scheduler import build_kube_scheduler
from pulumi_pyrke.plan.components.kubelet import build_kubelet, role_taints
from pulumi_pyrke.plan.components.nginx_proxy import build_nginx_proxy
from pulumi_pyrke.plan.components.sidekick import build_sidekick
from pulumi_pyrke.plan.config_files import FILE_ROLES, cluster_files, md5
from pulumi_pyrke.plan.context import HostView, PlanContext, resolve_prefix_path
from pulumi_pyrke.plan.state import ClusterState

Builder = Callable[[PlanContext, HostView], ContainerSpec | None]

# (role that needs it, builder), in the order the engine starts containers on a host
_BUILDERS: tuple[tuple[str, Builder], ...] = (
    ("", build_sidekick),
    ("etcd", build_etcd),
    ("etcd", build_etcd_snapshots),
    ("controlplane", build_kube_apiserver),
    ("controlplane", build_kube_controller_manager),
    ("controlplane", build_kube_scheduler),
    ("", build_nginx_proxy),
    ("", build_kubelet),
    ("", build_kube_proxy),
)


def plan_cluster(
    config: ClusterConfig,
    facts: Mapping[str, NodeFacts] | None = None,
    state: ClusterState | None = None,
) -> ClusterPlan:
    """Compute what every host must run and hold. `config` must come from load/parse (defaulted)."""
    state = state or ClusterState()
    generated = cluster_files(config, state.encryption_key, state.encryption_key_name)
    ctx = _context(config, _hosts(config, facts or {}), state, generated)
    request = pki_request(config, ctx.hosts)
    # every host with the same roles holds the same certificate files: one set per role set
    pki_files: dict[frozenset[str], tuple[PKIFile, ...]] = {}
    plans = []
    for node, host in zip(config.nodes, ctx.hosts, strict=True):
        if host.roles not in pki_files:
            pki_files[host.roles] = host_files(request, host.roles, state.certificates)
        files = [
            FileSpec(
                path=host.path(f.path),
                mode=f.mode,
                content=f.content,
                source=f"certificate {f.certificate}",
            )
            for f in pki_files[host.roles]
        ]
        files += [
            replace(spec, path=host.path(spec.path))
            for kind, spec in generated.items()
            if FILE_ROLES[kind] & host.roles
        ]
        labels = {**node.labels, **{names.ROLE_LABEL.format(role=r): "true" for r in host.roles}}
        plans.append(
            HostPlan(
                address=host.address,
                internal_address=host.internal_address,
                hostname=host.hostname,
                roles=tuple(sorted(host.roles)),
                prefix_path=host.prefix_path,
                containers=tuple(
                    spec
                    for role, build in _BUILDERS
                    if not role or role in host.roles
                    if (spec := build(ctx, host)) is not None
                ),
                files=tuple(sorted(files, key=lambda f: f.path)),
                labels=tuple(sorted(labels.items())),
                taints=role_taints(host.roles)
                + tuple(Taint(key=t.key, value=t.value, effect=t.effect) for t in node.taints),
            )
        )
    control = ctx.with_role("controlplane")
    return ClusterPlan(
        kubernetes_version=config.kubernetes_version,
        cluster_name=config.cluster_name,
        api_server_url=f"https://{control[0].address}:{names.APISERVER_PORT}" if control else "",
        cluster_cidr=config.services.kube_controller.cluster_cidr,
        service_cluster_ip_range=config.services.kube_api.service_cluster_ip_range,
        cluster_dns_server=config.services.kubelet.cluster_dns_server,
        cluster_domain=config.services.kubelet.cluster_domain,
        nodes=tuple(plans),
        tools_image=ctx.images["cert_downloader"],
    )


def _context(
    config: ClusterConfig,
    hosts: tuple[HostView, ...],
    state: ClusterState,
    generated: Mapping[str, FileSpec],
) -> PlanContext:
    """The cluster-wide inputs of the component builders."""
    info = versions.get_version(config.kubernetes_version)
    default_registry = next((r.url for r in config.private_registries if r.is_default), None)
    images = dict(
        versions.resolve_images(
            info, image_overrides(config.system_images), default_registry=default_registry
        )
    )
    if config.services.kubelet.infra_container_image:
        images["pod_infra_container"] = config.services.kubelet.infra_container_image
    initial_state, initial_cluster = _etcd_membership(hosts, state)
    return PlanContext(
        config=config,
        version=info,
        images=images,
        hosts=hosts,
        etcd_initial_state=initial_state,
        etcd_initial_cluster=initial_cluster,
        checksums={
            kind: md5(reveal(spec.content) or "")
            for kind, spec in generated.items()
            if kind in ("admission", "audit", "cloud") and spec.content is not None
        },
        by_role={
            role: tuple(h for h in hosts if role in h.roles)
            for role in ("etcd", "controlplane", "worker")
        },
    )


def _hosts(config: ClusterConfig, facts: Mapping[str, NodeFacts]) -> tuple[HostView, ...]:
    return tuple(
        HostView(
            address=n.address,
            internal_address=n.internal_address,
            hostname=n.hostname_override,
            roles=frozenset(n.roles),
            facts=facts.get(n.address, NodeFacts()),
            prefix_path=resolve_prefix_path(config.prefix_path, facts.get(n.address, NodeFacts())),
        )
        for n in config.nodes
    )


def pki_request(config: ClusterConfig, hosts: tuple[HostView, ...]) -> PKIRequest:
    """What the PKI must cover for this config and these hosts."""
    etcd = config.services.etcd
    external = (
        ExternalEtcd(ca_cert=etcd.ca_cert, cert=etcd.cert, key=etcd.key)
        if etcd.external_urls and etcd.key is not None
        else None
    )
    return PKIRequest(
        cluster_name=config.cluster_name,
        cluster_domain=config.services.kubelet.cluster_domain,
        service_cidrs=tuple(config.services.kube_api.service_cluster_ip_range.split(",")),
        controlplane_hosts=tuple(h.identity for h in hosts if "controlplane" in h.roles),
        etcd_hosts=tuple(h.identity for h in hosts if "etcd" in h.roles),
        all_hosts=tuple(h.identity for h in hosts),
        extra_sans=tuple(config.authentication.sans),
        generate_serving_certificate=config.services.kubelet.generate_serving_certificate,
        external_etcd=external,
    )


def _etcd_membership(
    hosts: tuple[HostView, ...], state: ClusterState
) -> tuple[dict[str, str], dict[str, str]]:
    """--initial-cluster-state and --initial-cluster per etcd host.

    Members of a new cluster, and members already running, get "new" and the full member list,
    so a second plan with the same inputs is identical to the first. A host joining a running
    cluster gets "existing" and the running members plus itself. etcd reads these flags only
    when its data directory is empty; drift checks ignore them (names.ETCD_BOOTSTRAP_FLAGS).
    """
    etcd_hosts = [h for h in hosts if "etcd" in h.roles]
    running = [h for h in etcd_hosts if h.address in state.etcd_members]
    full = ",".join(f"{member_name(m)}={peer_url(m)}" for m in etcd_hosts)
    states: dict[str, str] = {}
    clusters: dict[str, str] = {}
    for host in etcd_hosts:
        if not running or host in running:
            states[host.address], clusters[host.address] = "new", full
        else:
            joined = [*running, host]
            states[host.address] = "existing"
            clusters[host.address] = ",".join(f"{member_name(m)}={peer_url(m)}" for m in joined)
    return states, clusters


def plan_cluster_with_pki(
    config: ClusterConfig,
    facts: Mapping[str, NodeFacts] | None = None,
    state: ClusterState | None = None,
) -> tuple[ClusterPlan, BundleResult]:
    """Reconcile the certificates (keep what is valid, make what is missing or stale), then plan.

    The plan then knows every file's content and lists what happens to each certificate. New
    keys are generated here, so two calls without a previous bundle give different digests.
    """
    state = state or ClusterState()
    hosts = _hosts(config, facts or {})
    result = reconcile_bundle(pki_request(config, hosts), state.certificates)
    plan = plan_cluster(config, facts, replace(state, certificates=result.bundle))
    return replace(plan, certificates=result.changes), result
