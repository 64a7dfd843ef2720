"""The etcd member container of an etcd host (rke-spec §3.2)."""

from __future__ import annotations

from pulumi_pyrke.model.plan import ContainerSpec, EnvVar, HealthCheck
from pulumi_pyrke.pki import cert_name
from pulumi_pyrke.plan import names
from pulumi_pyrke.plan.components.common import extra_env, kubernetes_bind, labels, sorted_env
from pulumi_pyrke.plan.context import HostView, PlanContext
from pulumi_pyrke.plan.flags import merge_flags

_ARCH_ENV = {"aarch64": "arm64", "arm64": "arm64", "s390x": "s390x", "ppc64le": "ppc64le"}


def member_name(host: HostView) -> str:
    """etcd member name: etcd-<hostname_override>."""
    return f"etcd-{host.hostname}"


def peer_url(host: HostView) -> str:
    """The peer URL other members reach this host on."""
    return f"https://{host.internal_address}:{names.ETCD_PEER_PORT}"


def build_etcd(ctx: PlanContext, host: HostView) -> ContainerSpec:
    """The etcd container for `host`, a member of the cluster's etcd plane."""
    etcd = ctx.config.services.etcd
    own = cert_name("kube-etcd", host.identity)
    listen = host.listen_address
    computed = {
        "name": member_name(host),
        "data-dir": names.ETCD_DATA_DIR,
        "listen-client-urls": f"https://{listen}:{names.ETCD_CLIENT_PORT}",
        "listen-peer-urls": f"https://{listen}:{names.ETCD_PEER_PORT}",
        "advertise-client-urls": f"https://{host.internal_address}:{names.ETCD_CLIENT_PORT}",
        "initial-advertise-peer-urls": peer_url(host),
        "initial-cluster-token": "etcd-cluster-1",
        "initial-cluster": ctx.etcd_initial_cluster[host.address],
        "initial-cluster-state": ctx.etcd_initial_state[host.address],
        "trusted-ca-file": names.ssl("kube-ca"),
        "peer-trusted-ca-file": names.ssl("kube-ca"),
        "cert-file": names.ssl(own),
        "key-file": names.ssl_key(own),
        "peer-cert-file": names.ssl(own),
        "peer-key-file": names.ssl_key(own),
        "cipher-suites": names.ETCD_CIPHERS,
        "election-timeout": "5000",
        "heartbeat-interval": "500",
    }
    args = merge_flags(
        computed,
        ctx.options("etcd"),
        extra_args=etcd.extra_args,
        extra_args_array=etcd.extra_args_array,
        prefix_path=host.prefix_path,
    )
    endpoint = "127.0.0.1" if listen == "0.0.0.0" else host.internal_address
    env = [
        EnvVar(name="ETCDCTL_API", value="3"),
        EnvVar(name="ETCDCTL_CACERT", value=names.ssl("kube-ca")),
        EnvVar(name="ETCDCTL_CERT", value=names.ssl(own)),
        EnvVar(name="ETCDCTL_KEY", value=names.ssl_key(own)),
        EnvVar(name="ETCDCTL_ENDPOINTS", value=f"https://{endpoint}:{names.ETCD_CLIENT_PORT}"),
    ]
    arch = _ARCH_ENV.get(host.facts.architecture)
    if arch:
        env.append(EnvVar(name="ETCD_UNSUPPORTED_ARCH", value=arch))
    user = f"{etcd.uid}:{etcd.gid}" if etcd.uid and etcd.gid else ""
    return ContainerSpec(
        name=names.ETCD,
        plane="etcd",
        image=ctx.images["etcd"],
        entrypoint=("/usr/local/bin/etcd",),
        args=args,
        env=sorted_env(tuple(env), extra_env(etcd)),
        binds=(
            f"{host.path(names.ETCD_HOST_DIR)}:{names.ETCD_DATA_DIR}",
            kubernetes_bind(host),
            *etcd.extra_binds,
        ),
        user=user,
        labels=labels(names.ETCD),
        health_check=HealthCheck(
            url=f"https://{host.internal_address}:{names.ETCD_CLIENT_PORT}/health",
            client_certificate="kube-node",
        ),
    )
