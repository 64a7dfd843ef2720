"""Pieces every Kubernetes component container shares (entrypoint, sidekick volume, labels)."""

from __future__ import annotations

from pulumi_pyrke.model.plan import EnvVar
from pulumi_pyrke.model.services import BaseService
from pulumi_pyrke.plan import names
from pulumi_pyrke.plan.context import HostView


def entrypoint(binary: str) -> tuple[str, ...]:
    """rke-tools' entrypoint (shared from service-sidekick) launching `binary`."""
    return (names.RKE_TOOLS_ENTRYPOINT, binary)


def labels(name: str) -> tuple[tuple[str, str], ...]:
    """The label RKE puts on every container it manages."""
    return ((names.CONTAINER_LABEL, name),)


def kubernetes_bind(host: HostView) -> str:
    """<prefix>/etc/kubernetes:/etc/kubernetes, the bind every component has."""
    return f"{host.path(names.K8S_DIR)}:{names.K8S_DIR}"


def extra_env(service: BaseService) -> tuple[EnvVar, ...]:
    """The user's extra_env entries as EnvVars."""
    return tuple(
        EnvVar(name=item.split("=", 1)[0], value=item.split("=", 1)[1])
        for item in service.extra_env
    )


def sorted_env(*groups: tuple[EnvVar, ...]) -> tuple[EnvVar, ...]:
    """Environment variables ordered by name; a later group overrides an earlier one."""
    merged: dict[str, EnvVar] = {}
    for group in groups:
        for var in group:
            merged[var.name] = var
    return tuple(merged[k] for k in sorted(merged))
