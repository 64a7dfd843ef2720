"""The issue's own topology on real test nodes: three hosts with every role (a three-member
etcd bootstrapped at once, three API servers) and one worker, everything below a prefix path. Up from nothing until all four
nodes are Ready, a second up that changes nothing, and two ups at once: one is refused."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from harness import cluster
from harness.fixtures import NodeFactory
from harness.keys import KeyPair

from pulumi_pyrke.engine.cluster import Applied
from pulumi_pyrke.engine.up import LockHeld
from pulumi_pyrke.model import parse_cluster_config

pytestmark = pytest.mark.nodes


def test_three_etcd_and_control_plane_hosts_and_a_worker(
    node_factory: NodeFactory, test_keys: dict[str, KeyPair], system_images: dict[str, str]
) -> None:
    nodes = node_factory(4)
    cluster.prepare(nodes, system_images)
    every = ["etcd", "controlplane", "worker"]
    config = parse_cluster_config(
        {
            "cluster_name": "ha",
            "prefix_path": "/opt/rke",  # as on Flatcar or RancherOS: every host path below it
            "nodes": [
                *({"address": n.address, "user": "root", "role": every} for n in nodes[:3]),
                {"address": nodes[3].address, "user": "root", "role": ["worker"]},
            ],
            "system_images": system_images,
            "services": {"kubeproxy": {"extra_args": {"conntrack-max-per-core": "0"}}},
        }
    ).config
    connect = cluster.connector(test_keys["ed25519"].private_path.read_text())
    first = cluster.apply(config, None, connect)  # ends only when all four nodes are Ready
    etcd = [c.host for c in first.report.containers if c.name == "etcd"]
    assert sorted(etcd) == sorted(n.address for n in nodes[:3])
    # etcdctl in the etcd container: its ETCDCTL_* environment names the client certificate
    members = nodes[0].exec("docker exec etcd etcdctl member list").stdout.decode()
    assert len(members.strip().splitlines()) == 3, members
    assert nodes[0].exec("ls /opt/rke/etc/kubernetes/ssl/kube-ca.pem").returncode == 0

    results: dict[str, Any] = {}

    def run(name: str) -> None:
        try:
            results[name] = cluster.apply(config, first.state, connect)
        except LockHeld as exc:
            results[name] = exc

    runs = [threading.Thread(target=run, args=(name,)) for name in ("a", "b")]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join()
    refused = [r for r in results.values() if isinstance(r, LockHeld)]
    finished = [r for r in results.values() if isinstance(r, Applied)]
    assert len(refused) == 1 and len(finished) == 1, results
    assert "has held the cluster's lock since" in str(refused[0])
    assert not finished[0].report.changed, finished[0].report.summary()
