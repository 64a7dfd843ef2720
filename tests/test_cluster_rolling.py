"""Changes to a running cluster on real test nodes, with two control-plane hosts: one flag
restarts only the kube-apiservers, one host at a time; a certificate whose SANs change is
regenerated and only its users restart; a component that crashes fails the up with its log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from harness import cluster
from harness.fixtures import NodeFactory
from harness.keys import KeyPair
from harness.nodes import TestNode

from pulumi_pyrke.engine.cluster import Applied
from pulumi_pyrke.engine.converge import ApplyError
from pulumi_pyrke.model import parse_cluster_config
from pulumi_pyrke.plan import ClusterState

pytestmark = pytest.mark.nodes


class Rolling:
    def __init__(self, nodes: list[TestNode], key: str, system_images: dict[str, str]) -> None:
        self.nodes, self.key, self.images = nodes, key, system_images
        self.state: ClusterState | None = None

    def data(self, **extra: Any) -> dict[str, Any]:
        n1, n2 = self.nodes
        return {
            "cluster_name": "rolling",
            "nodes": [
                {"address": n1.address, "user": "root", "role": ["etcd", "controlplane", "worker"]},
                {"address": n2.address, "user": "root", "role": ["controlplane", "worker"]},
            ],
            "system_images": self.images,
            **extra,
        }

    def apply(self, health: float = 120, **extra: Any) -> Applied:
        config = parse_cluster_config(self.data(**extra)).config
        applied = cluster.apply(
            config, self.state, cluster.connector(self.key), timeout=120, health_timeout=health
        )
        self.state = applied.state
        return applied

    def started(self) -> dict[str, tuple[str, str]]:
        """host/container -> (id, start time)."""
        out: dict[str, tuple[str, str]] = {}
        for node in self.nodes:
            names = (
                node.exec("docker ps -aq --filter label=io.pyrke.cluster=rolling")
                .stdout.decode()
                .split()
            )
            if not names:
                continue
            raw = node.exec("docker inspect " + " ".join(names)).stdout.decode()
            for item in json.loads(raw):
                out[f"{node.address}/{item['Name'].lstrip('/')}"] = (
                    item["Id"],
                    item["State"]["StartedAt"],
                )
        return out


@pytest.fixture(scope="module")
def rolling(
    node_factory: NodeFactory, test_keys: dict[str, KeyPair], system_images: dict[str, str]
) -> Iterator[Rolling]:
    nodes = node_factory(2)
    cluster.prepare(nodes, system_images)
    site = Rolling(nodes, test_keys["ed25519"].private_path.read_text(), system_images)
    site.apply()
    yield site


def _changed(before: dict[str, tuple[str, str]], after: dict[str, tuple[str, str]]) -> set[str]:
    return {k for k in after if before.get(k) != after[k]}


def test_one_flag_restarts_only_the_apiservers_one_host_at_a_time(rolling: Rolling) -> None:
    before = rolling.started()
    applied = rolling.apply(services={"kube-api": {"extra_args": {"v": "3"}}})
    after = rolling.started()
    n1, n2 = rolling.nodes
    assert _changed(before, after) == {
        f"{n1.address}/kube-apiserver",
        f"{n2.address}/kube-apiserver",
    }
    order = [c.host for c in applied.report.containers]
    assert order == [n1.address, n2.address]  # rolling, in the config's order
    # the second host's apiserver started after the first was made and checked healthy
    assert after[f"{n2.address}/kube-apiserver"][1] > after[f"{n1.address}/kube-apiserver"][1]


def test_a_san_change_regenerates_one_certificate_and_restarts_its_users(rolling: Rolling) -> None:
    before = rolling.started()
    kept_ca = (
        rolling.state.certificates.get("kube-ca")
        if rolling.state and rolling.state.certificates
        else None
    )
    applied = rolling.apply(
        services={"kube-api": {"extra_args": {"v": "3"}}},
        authentication={"sans": ["api.example.com"]},
    )
    changes = {c.name: c.action for c in applied.plan.certificates if c.action != "keep"}
    assert changes == {"kube-apiserver": "regenerate"}
    n1, n2 = rolling.nodes
    assert _changed(before, rolling.started()) == {
        f"{n1.address}/kube-apiserver",
        f"{n2.address}/kube-apiserver",
    }
    ca = applied.state.certificates.get("kube-ca") if applied.state.certificates else None
    assert ca is not None and kept_ca is not None and ca.cert_pem == kept_ca.cert_pem


def test_a_crashing_component_fails_the_up_with_its_log(rolling: Rolling) -> None:
    with pytest.raises(ApplyError) as failed:
        rolling.apply(
            health=20,
            services={"kube-api": {"extra_args": {"v": "3", "no-such-flag": "1"}}},
            authentication={"sans": ["api.example.com"]},
        )
    text = str(failed.value)
    assert "[controlplane] container kube-apiserver on host" in text
    assert "did not become healthy" in text
    assert "unknown flag: --no-such-flag" in text  # the container's own last log lines
    assert "PRIVATE KEY" not in text
    fixed = rolling.apply(
        services={"kube-api": {"extra_args": {"v": "3"}}},
        authentication={"sans": ["api.example.com"]},
    )
    assert {c.name for c in fixed.report.containers} == {"kube-apiserver"}
