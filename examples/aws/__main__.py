"""Kubernetes on EC2 in one `pulumi up`: a pool of three machines (Docker installed by the
default cloud-init), a pyrke.Node per machine to wait until SSH and Docker answer, and a
Cluster on them. Pulumi orders the rest: a machine dropped from the pool leaves the Cluster
before it is terminated. Configuration:
  pulumi config set aws:region eu-west-1
  pulumi config set subnetId subnet-0abc...      pulumi config set securityGroupId sg-0abc...
  pulumi config set keyName my-key               pulumi config set --secret sshKey "$(cat key.pem)"
"""

from __future__ import annotations

import pulumi

import pulumi_pyrke as pyrke
from pulumi_pyrke import aws

config = pulumi.Config()
ssh_key = config.require_secret("sshKey")
region = pulumi.Config("aws").get("region") or "eu-west-1"

pool = aws.NodePool(
    "k8s",
    aws.NodePoolArgs(
        template=aws.NodeTemplateArgs(
            region=region,
            ami_owner="136693071363",  # Debian's own images
            ami_name="debian-12-amd64-*",
            instance_type=config.get("instanceType") or "t3.large",
            subnet_ids=[config.require("subnetId")],
            security_group_ids=[config.require("securityGroupId")],
            key_name=config.require("keyName"),
            ssh_private_key=ssh_key,
            ssh_user="admin",
            root_volume_size=40,
        ),
        quantity=3,
        roles=["etcd", "controlplane", "worker"],
    ),
)
nodes = [
    pyrke.Node(f"k8s-{i}", pyrke.NodeArgs(**node, ready_timeout=900))
    for i, node in enumerate(pool.nodes)
]
cluster = pyrke.Cluster("k8s", nodes=nodes, cluster_name="aws-example")
pulumi.export("api_server_url", cluster.api_server_url)
pulumi.export("kubeconfig", cluster.kubeconfig)
