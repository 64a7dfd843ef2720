"""The kube-controller-manager container of a controlplane host (rke-spec §3.4)."""

from __future__ import annotations

from pulumi_pyrke.model.plan import ContainerSpec, HealthCheck
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

# In the version table (KDM) but hidden from the v1.28 binary's --help, and without effect
# now that in-tree cloud providers are gone: not emitted, so every flag is one the binary lists.
_RETIRED: dict[str, str | None] = {"allow-untagged-cloud": None}


def build_kube_controller_manager(ctx: PlanContext, host: HostView) -> ContainerSpec:
    """The kube-controller-manager container for controlplane host `host`."""
    cfg = ctx.config
    ctrl = cfg.services.kube_controller
    kubeconfig = names.kubeconfig("kube-controller-manager")
    computed = {
        "cluster-cidr": ctrl.cluster_cidr,
        "kubeconfig": kubeconfig,
        "authentication-kubeconfig": kubeconfig,
        "authorization-kubeconfig": kubeconfig,
        "root-ca-file": names.ssl("kube-ca"),
        "service-account-private-key-file": names.ssl_key("kube-service-account-token"),
        "service-cluster-ip-range": ctrl.service_cluster_ip_range,
    }
    if ctx.cloud_provider_name:
        computed["cloud-provider"] = ctx.cloud_provider_name
    if ctx.has_cloud_config:
        computed["cloud-config"] = names.CLOUD_CONFIG_FILE
    if cfg.authorization.mode == "rbac":
        computed["use-service-account-credentials"] = "true"
    return ContainerSpec(
        name=names.KUBE_CONTROLLER_MANAGER,
        plane="controlplane",
        image=ctx.images["kubernetes"],
        entrypoint=entrypoint(names.KUBE_CONTROLLER_MANAGER),
        args=merge_flags(
            computed,
            ctx.options("kube-controller"),
            extra_args=ctrl.extra_args,
            extra_args_array=ctrl.extra_args_array,
            prefix_path=host.prefix_path,
            post=_RETIRED,
        ),
        env=sorted_env(ctx.checksum_env("cloud"), extra_env(ctrl)),
        binds=(kubernetes_bind(host), *ctrl.extra_binds),
        volumes_from=(names.SIDEKICK,),
        labels=labels(names.KUBE_CONTROLLER_MANAGER),
        health_check=HealthCheck(url="https://localhost:10257/healthz"),
    )
