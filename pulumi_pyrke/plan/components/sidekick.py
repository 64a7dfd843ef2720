"""service-sidekick: created, never started; it only exports /opt/rke-tools to the components."""

from __future__ import annotations

from pulumi_pyrke.model.plan import ContainerSpec
from pulumi_pyrke.plan import names
from pulumi_pyrke.plan.components.common import labels
from pulumi_pyrke.plan.context import HostView, PlanContext


def build_sidekick(ctx: PlanContext, host: HostView) -> ContainerSpec:
    """The service-sidekick container every host has."""
    return ContainerSpec(
        name=names.SIDEKICK,
        plane="worker",
        image=ctx.images["kubernetes_services_sidecar"],
        entrypoint=("/bin/bash",),
        network_mode="none",
        restart_policy="no",
        labels=labels(names.SIDEKICK),
        start=False,
    )
