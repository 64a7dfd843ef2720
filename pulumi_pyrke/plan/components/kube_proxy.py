"""The kube-proxy container every host runs (rke-spec §3.7)."""

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


def build_kube_proxy(ctx: PlanContext, host: HostView) -> ContainerSpec:
    """The kube-proxy container for `host`."""
    proxy = ctx.config.services.kubeproxy
    computed = {
        "cluster-cidr": ctx.config.services.kube_controller.cluster_cidr,
        "kubeconfig": names.kubeconfig("kube-proxy"),
    }
    if not ctx.uses_instance_hostname:
        computed["hostname-override"] = host.hostname
    if ctx.cloud_provider_name:
        computed["bind-address"] = host.internal_address
    return ContainerSpec(
        name=names.KUBE_PROXY,
        plane="worker",
        image=ctx.images["kubernetes"],
        entrypoint=entrypoint(names.KUBE_PROXY),
        args=merge_flags(
            computed,
            ctx.options("kubeproxy"),
            extra_args=proxy.extra_args,
            extra_args_array=proxy.extra_args_array,
            prefix_path=host.prefix_path,
        ),
        env=sorted_env(extra_env(proxy)),
        binds=(
            kubernetes_bind(host),
            "/run:/run",
            "/lib/modules:/lib/modules:ro",
            *proxy.extra_binds,
        ),
        pid_mode="host",
        privileged=True,
        volumes_from=(names.SIDEKICK,),
        labels=labels(names.KUBE_PROXY),
        health_check=HealthCheck(url="http://localhost:10256/healthz"),
    )
