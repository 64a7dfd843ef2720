"""pulumi_pyrke: Kubernetes clusters the RKE way, planned and applied as Pulumi resources.

Every Kubernetes component runs as a Docker container on hosts reached over SSH; a cluster.yml
from RKE is understood as RKE understood it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pulumi_pyrke.errors import (
    ConfigError,
    DeadlineExceeded,
    DockerError,
    HostKeyMismatch,
    KubeError,
    NodeSourceError,
    PKIError,
    PlanError,
    Problem,
    PyrkeError,
    SSHAuthError,
    SSHError,
    TransportError,
)
from pulumi_pyrke.model import ClusterConfig, NodeFacts, Secret, load_cluster_yml
from pulumi_pyrke.plan import ClusterState, plan_cluster

if TYPE_CHECKING:
    from pulumi_pyrke.providers.cluster import Cluster, ClusterArgs
    from pulumi_pyrke.providers.node import BastionArgs, Node, NodeArgs

# The resource classes import pulumi, paramiko and docker; loading them on first use keeps
# `pyrke validate` and the pure core from paying for that.
_LAZY = {
    "BastionArgs": "pulumi_pyrke.providers.node",
    "Cluster": "pulumi_pyrke.providers.cluster",
    "ClusterArgs": "pulumi_pyrke.providers.cluster",
    "Node": "pulumi_pyrke.providers.node",
    "NodeArgs": "pulumi_pyrke.providers.node",
}

__all__ = [
    "BastionArgs",
    "Cluster",
    "ClusterArgs",
    "ClusterConfig",
    "ClusterState",
    "ConfigError",
    "DeadlineExceeded",
    "DockerError",
    "HostKeyMismatch",
    "KubeError",
    "Node",
    "NodeArgs",
    "NodeFacts",
    "NodeSourceError",
    "PKIError",
    "PlanError",
    "Problem",
    "PyrkeError",
    "SSHAuthError",
    "SSHError",
    "Secret",
    "TransportError",
    "load_cluster_yml",
    "plan_cluster",
]


def __dir__() -> list[str]:
    """The public names only (PEP 562): what ``__all__`` promises, not this module's imports."""
    return list(__all__)


def __getattr__(name: str) -> Any:
    """Load the resource classes on first use (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pulumi_pyrke' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
