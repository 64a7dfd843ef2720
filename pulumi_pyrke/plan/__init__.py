"""The planner: config + host facts + previous state -> ClusterPlan.

Pure: must not import paramiko, docker, boto3, a Kubernetes client, pulumi, socket or subprocess.
"""

from __future__ import annotations

from pulumi_pyrke.plan.cluster import pki_request, plan_cluster, plan_cluster_with_pki
from pulumi_pyrke.plan.state import ClusterState

__all__ = ["ClusterState", "pki_request", "plan_cluster", "plan_cluster_with_pki"]
