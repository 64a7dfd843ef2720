"""Values of pulumi_pyrke: the cluster.yml schema, host facts, plans and secrets.

Pure: must not import paramiko, docker, boto3, a Kubernetes client, pulumi, socket or subprocess.
"""

from __future__ import annotations

from pulumi_pyrke.model.cluster import ClusterConfig
from pulumi_pyrke.model.facts import ContainerFacts, NodeFacts
from pulumi_pyrke.model.load import LoadedConfig, load_cluster_yml, parse_cluster_config
from pulumi_pyrke.model.node import Bastion, NodeSpec, Taint
from pulumi_pyrke.model.secret import Secret

__all__ = [
    "Bastion",
    "ClusterConfig",
    "ContainerFacts",
    "LoadedConfig",
    "NodeFacts",
    "NodeSpec",
    "Secret",
    "Taint",
    "load_cluster_yml",
    "parse_cluster_config",
]
