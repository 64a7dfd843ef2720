"""The kube-scheduler container of a controlplane host (rke-spec §3.5)."""

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


def build_kube_scheduler(ctx: PlanContext, host: HostView) -> ContainerSpec:
    """The kube-scheduler container for controlplane host `host`."""
    sched = ctx.config.services.scheduler
    kubeconfig = names.kubeconfig("kube-scheduler")
    computed = {
        "kubeconfig": kubeconfig,
        "authentication-kubeconfig": kubeconfig,
        "authorization-kubeconfig": kubeconfig,
    }
    return ContainerSpec(
        name=names.KUBE_SCHEDULER,
        plane="controlplane",
        image=ctx.images["kubernetes"],
        entrypoint=entrypoint(names.KUBE_SCHEDULER),
        args=merge_flags(
            computed,
            ctx.options("scheduler"),
            extra_args=sched.extra_args,
            extra_args_array=sched.extra_args_array,
            prefix_path=host.prefix_path,
        ),
        env=sorted_env(extra_env(sched)),
        binds=(kubernetes_bind(host), *sched.extra_binds),
        volumes_from=(names.SIDEKICK,),
        labels=labels(names.KUBE_SCHEDULER),
        health_check=HealthCheck(url="https://localhost:10259/healthz"),
    )
