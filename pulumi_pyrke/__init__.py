"""pulumi_pyrke: Kubernetes clusters the RKE way, planned and applied as Pulumi resources.

Every Kubernetes component runs as a Docker container on hosts reached over SSH; a cluster.yml
from RKE is understood as RKE understood it.
"""

from __future__ import annotations

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

__all__ = [
    "ClusterConfig",
    "ClusterState",
    "ConfigError",
    "DeadlineExceeded",
    "DockerError",
    "HostKeyMismatch",
    "KubeError",
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
