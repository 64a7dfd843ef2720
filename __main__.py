"""The root Pulumi program: the cluster of examples/cluster.yml on hosts that already exist.

Each host becomes a pyrke.Node (SSH reachable, Docker answering, host key pinned on first
contact) and the Cluster takes the Nodes plus the rest of the cluster.yml. Configuration:
  pulumi config set --secret sshKey "$(cat ~/.ssh/id_ed25519)"
  pulumi config set clusterYml examples/cluster.yml     # optional, this is the default
"""

from __future__ import annotations

from pathlib import Path

import pulumi
import yaml

import pulumi_pyrke as pyrke

config = pulumi.Config()
cluster_yml = Path(config.get("clusterYml") or "examples/cluster.yml").read_text()
ssh_key = config.require_secret("sshKey")

# the hosts come from cluster.yml's nodes; the Cluster gets the rest of the file as it is
spec = yaml.safe_load(cluster_yml)
nodes = [
    pyrke.Node(
        f"node-{i}",
        address=node["address"],
        user=node.get("user", "root"),
        roles=node.get("role", []),
        labels=node.get("labels"),
        ssh_private_key=ssh_key,
        ready_timeout=600,
    )
    for i, node in enumerate(spec.get("nodes") or [])
]
cluster = pyrke.Cluster(
    "cluster",
    nodes=nodes,
    cluster_yml=yaml.safe_dump(
        {k: v for k, v in spec.items() if k not in ("nodes", "ssh_key_path")}
    ),
)
pulumi.export("api_server_url", cluster.api_server_url)
pulumi.export("kubeconfig", cluster.kubeconfig)
