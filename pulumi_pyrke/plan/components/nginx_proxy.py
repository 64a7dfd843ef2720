"""nginx-proxy: on hosts without a controlplane, 127.0.0.1:6443 balanced to every apiserver."""

from __future__ import annotations

from pulumi_pyrke.model.plan import ContainerSpec, EnvVar
from pulumi_pyrke.plan import names
from pulumi_pyrke.plan.components.common import labels
from pulumi_pyrke.plan.context import HostView, PlanContext


def build_nginx_proxy(ctx: PlanContext, host: HostView) -> ContainerSpec | None:
    """The nginx-proxy container, or None on a controlplane host (its apiserver is local)."""
    if "controlplane" in host.roles:
        return None
    cp_hosts = ",".join(h.internal_address for h in ctx.with_role("controlplane"))
    return ContainerSpec(
        name=names.NGINX_PROXY,
        plane="worker",
        image=ctx.images["nginx_proxy"],
        entrypoint=("nginx-proxy",),
        # RKE repeats CP_HOSTS in the command so a changed controlplane set recreates it
        args=(f"CP_HOSTS={cp_hosts}",),
        env=(EnvVar(name="CP_HOSTS", value=cp_hosts),),
        labels=labels(names.NGINX_PROXY),
    )
