"""The kubelet container every host runs (rke-spec §3.6), with cri-dockerd launched by rke-tools."""

from __future__ import annotations

from pulumi_pyrke.model.plan import ContainerSpec, EnvVar, HealthCheck, Taint
from pulumi_pyrke.pki import cert_name
from pulumi_pyrke.plan import names
from pulumi_pyrke.plan.components.common import (
    entrypoint,
    extra_env,
    kubernetes_bind,
    labels,
    sorted_env,
)
from pulumi_pyrke.plan.context import HostView, PlanContext
from pulumi_pyrke.plan.flags import merge_flags

CONTROLPLANE_TAINT = Taint(
    key="node-role.kubernetes.io/controlplane", value="true", effect="NoSchedule"
)
ETCD_TAINT = Taint(key="node-role.kubernetes.io/etcd", value="true", effect="NoExecute")


def role_taints(roles: frozenset[str]) -> tuple[Taint, ...]:
    """Taints RKE puts on hosts without the worker role."""
    if "worker" in roles:
        return ()
    taints = []
    if "controlplane" in roles:
        taints.append(CONTROLPLANE_TAINT)
    if "etcd" in roles:
        taints.append(ETCD_TAINT)
    return tuple(taints)


def cluster_dns(ctx: PlanContext) -> str:
    """kubelet's --cluster-dns: the NodeLocal DNS address when enabled, else the DNS service IP."""
    dns = ctx.config.dns
    if dns is not None and dns.nodelocal is not None and dns.nodelocal.ip_address:
        return dns.nodelocal.ip_address
    return ctx.config.services.kubelet.cluster_dns_server


def _binds(host: HostView) -> tuple[str, ...]:
    docker_root = host.facts.docker_root_dir or "/var/lib/docker"
    kubelet_dir = host.path(names.KUBELET_DIR)
    binds = [
        kubernetes_bind(host),
        "/etc/cni:/etc/cni:rw",
        "/opt/cni:/opt/cni:rw",
        f"{host.path('/var/lib/cni')}:/var/lib/cni",
        "/var/lib/calico:/var/lib/calico",
        "/etc/resolv.conf:/etc/resolv.conf",
        "/sys:/sys:rprivate",
        f"{docker_root}:{docker_root}:rw,rslave",
        f"{kubelet_dir}:{kubelet_dir}:shared",
        "/var/lib/rancher:/var/lib/rancher:shared",
        "/var/run:/var/run:rw,rprivate",
        "/run:/run:rprivate",
        f"{host.path('/etc/ceph')}:/etc/ceph",
        "/dev:/host/dev:rprivate",
        "/var/log/containers:/var/log/containers",
        "/var/log/pods:/var/log/pods",
        "/usr:/host/usr:ro",
        "/etc:/host/etc:ro",
        f"{host.path('/var/lib/cri-dockerd')}:/var/lib/cri-dockerd",
    ]
    if host.prefix_path != "/":
        plugins = "/var/lib/kubelet/volumeplugins"
        binds.append(f"{plugins}:{plugins}:shared")
    return tuple(binds)


def build_kubelet(ctx: PlanContext, host: HostView) -> ContainerSpec:
    """The kubelet container for `host`."""
    cfg = ctx.config
    kubelet = cfg.services.kubelet
    computed = {
        "client-ca-file": names.ssl("kube-ca"),
        "cluster-dns": cluster_dns(ctx),
        "cluster-domain": kubelet.cluster_domain,
        "fail-swap-on": "true" if kubelet.fail_swap_on else "false",
        "kubeconfig": names.kubeconfig("kube-node"),
        "pod-infra-container-image": ctx.images["pod_infra_container"],
        "root-dir": host.path(names.KUBELET_DIR),
        "container-runtime-endpoint": names.CRI_DOCKERD_SOCKET,
    }
    if host.facts.cgroup_driver:
        # kubelet and Docker (through cri-dockerd) must agree on the cgroup driver
        computed["cgroup-driver"] = host.facts.cgroup_driver
    if host.address != host.internal_address:
        computed["node-ip"] = host.internal_address
    taints = role_taints(host.roles)
    if taints:
        computed["register-with-taints"] = ",".join(t.render() for t in taints)
    if not ctx.uses_instance_hostname:
        computed["hostname-override"] = host.hostname
    if ctx.cloud_provider_name:
        computed["cloud-provider"] = ctx.cloud_provider_name
    if ctx.has_cloud_config:
        computed["cloud-config"] = names.CLOUD_CONFIG_FILE
    if kubelet.generate_serving_certificate:
        own = cert_name("kube-kubelet", host.identity)
        computed["tls-cert-file"] = names.ssl(own)
        computed["tls-private-key-file"] = names.ssl_key(own)
    env = [EnvVar(name="RKE_KUBELET_CRIDOCKERD", value="true")]
    if ctx.dual_stack:
        env.append(EnvVar(name="RKE_KUBELET_CRIDOCKERD_DUALSTACK", value="true"))
    if cfg.cri_dockerd_stream_server_address:
        env.append(
            EnvVar(
                name="CRIDOCKERD_STREAM_SERVER_ADDRESS", value=cfg.cri_dockerd_stream_server_address
            )
        )
    if cfg.cri_dockerd_stream_server_port:
        env.append(
            EnvVar(name="CRIDOCKERD_STREAM_SERVER_PORT", value=cfg.cri_dockerd_stream_server_port)
        )
    return ContainerSpec(
        name=names.KUBELET,
        plane="worker",
        image=ctx.images["kubernetes"],
        entrypoint=entrypoint(names.KUBELET),
        args=merge_flags(
            computed,
            ctx.options("kubelet"),
            extra_args=kubelet.extra_args,
            extra_args_array=kubelet.extra_args_array,
            prefix_path=host.prefix_path,
        ),
        env=sorted_env(tuple(env), ctx.checksum_env("cloud"), extra_env(kubelet)),
        binds=(*_binds(host), *kubelet.extra_binds),
        pid_mode="host",
        privileged=True,
        volumes_from=(names.SIDEKICK,),
        labels=labels(names.KUBELET),
        health_check=HealthCheck(url="http://localhost:10248/healthz"),
    )
