"""The kube-apiserver container of a controlplane host (rke-spec §3.3)."""

from __future__ import annotations

from pulumi_pyrke.model.plan import ContainerSpec, HealthCheck
from pulumi_pyrke.pki.specs import is_ip
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


def etcd_servers(ctx: PlanContext, host: HostView) -> str:
    """etcd client URLs, the host's own member first (RKE's order), or the external URLs."""
    external = ctx.config.services.etcd.external_urls
    if external:
        return ",".join(external)
    members = list(ctx.with_role("etcd"))
    members.sort(key=lambda h: h.address != host.address)
    return ",".join(f"https://{h.internal_address}:{names.ETCD_CLIENT_PORT}" for h in members)


def build_kube_apiserver(ctx: PlanContext, host: HostView) -> ContainerSpec:
    """The kube-apiserver container for controlplane host `host`."""
    cfg = ctx.config
    api = cfg.services.kube_api
    external = bool(cfg.services.etcd.external_urls)
    etcd_client = "kube-etcd-client" if external else "kube-node"
    computed = {
        "client-ca-file": names.ssl("kube-ca"),
        "etcd-cafile": names.ssl("kube-etcd-client-ca" if external else "kube-ca"),
        "etcd-certfile": names.ssl(etcd_client),
        "etcd-keyfile": names.ssl_key(etcd_client),
        "etcd-prefix": cfg.services.etcd.path or "/registry",
        "etcd-servers": etcd_servers(ctx, host),
        "kubelet-client-certificate": names.ssl("kube-apiserver"),
        "kubelet-client-key": names.ssl_key("kube-apiserver"),
        "proxy-client-cert-file": names.ssl("kube-apiserver-proxy-client"),
        "proxy-client-key-file": names.ssl_key("kube-apiserver-proxy-client"),
        "requestheader-allowed-names": "kube-apiserver-proxy-client",
        "requestheader-client-ca-file": names.ssl("kube-apiserver-requestheader-ca"),
        "service-account-key-file": names.ssl_key("kube-service-account-token"),
        "service-cluster-ip-range": api.service_cluster_ip_range,
        "service-node-port-range": api.service_node_port_range,
        "tls-cert-file": names.ssl("kube-apiserver"),
        "tls-private-key-file": names.ssl_key("kube-apiserver"),
    }
    if ctx.cloud_provider_name:
        computed["cloud-provider"] = ctx.cloud_provider_name
    if ctx.has_cloud_config:
        computed["cloud-config"] = names.CLOUD_CONFIG_FILE
    if "admission-control-config-file" not in api.extra_args:
        computed["admission-control-config-file"] = names.ADMISSION_FILE
    if cfg.authorization.mode == "rbac":
        computed["authorization-mode"] = "Node,RBAC"
    if is_ip(host.internal_address):
        computed["advertise-address"] = host.internal_address
    if cfg.services.kubelet.generate_serving_certificate:
        computed["kubelet-certificate-authority"] = names.ssl("kube-ca")
    if api.secrets_encryption_config is not None and api.secrets_encryption_config.enabled:
        computed["encryption-provider-config"] = names.ENCRYPTION_FILE
    webhook = cfg.authentication.webhook
    if "webhook" in cfg.authentication.strategy:
        computed["authentication-token-webhook-config-file"] = names.WEBHOOK_FILE
        computed["authentication-token-webhook-cache-ttl"] = (
            webhook.cache_timeout if webhook else "5s"
        )
    audit = api.audit_log
    audit_on = audit is not None and audit.enabled
    if audit is not None and audit.enabled:
        conf = audit.configuration
        computed |= {
            "audit-log-path": conf.path,
            "audit-log-maxage": str(conf.max_age),
            "audit-log-maxbackup": str(conf.max_backup),
            "audit-log-maxsize": str(conf.max_size),
            "audit-log-format": conf.format,
        }
        if "audit-policy-file" not in api.extra_args:
            computed["audit-policy-file"] = names.AUDIT_POLICY_FILE
    options = dict(ctx.options("kube-api"))
    plugins = [p for p in options.get("enable-admission-plugins", "").split(",") if p]
    if api.always_pull_images and "AlwaysPullImages" not in plugins:
        plugins.append("AlwaysPullImages")
    if api.event_rate_limit is not None and api.event_rate_limit.enabled:
        plugins.append("EventRateLimit")
    post: dict[str, str | None] = {}
    if plugins:
        post["enable-admission-plugins"] = ",".join(plugins)
    args = merge_flags(
        computed,
        options,
        extra_args=api.extra_args,
        extra_args_array=api.extra_args_array,
        prefix_path=host.prefix_path,
        post=post,
    )
    binds = [kubernetes_bind(host)]
    if audit_on:
        binds.append(f"{host.path(names.AUDIT_DIR)}:{names.AUDIT_DIR}")
    return ContainerSpec(
        name=names.KUBE_APISERVER,
        plane="controlplane",
        image=ctx.images["kubernetes"],
        entrypoint=entrypoint(names.KUBE_APISERVER),
        args=args,
        env=sorted_env(ctx.checksum_env("admission", "audit", "cloud"), extra_env(api)),
        binds=(*binds, *api.extra_binds),
        volumes_from=(names.SIDEKICK,),
        labels=labels(names.KUBE_APISERVER),
        health_check=HealthCheck(
            url=f"https://localhost:{names.APISERVER_PORT}/healthz",
            client_certificate="kube-apiserver",
        ),
    )
