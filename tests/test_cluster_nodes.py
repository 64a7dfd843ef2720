"""A cluster on real test nodes (real sshd and dockerd, a real etcd, the Kubernetes stand-ins):
up from nothing, a second up that changes nothing, repair of a container deleted by hand,
adoption when the local state is lost, the lock, and remove. The engine goes through the real
SSH adapter, one connection per host."""

from __future__ import annotations

import base64
import json
import ssl
import tempfile
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from harness import cluster
from harness.fixtures import NodeFactory
from harness.keys import KeyPair
from harness.nodes import TestNode, wait_until

from pulumi_pyrke.deadline import Deadline
from pulumi_pyrke.engine.cluster import Applied
from pulumi_pyrke.engine.converge import MANAGED_LABEL
from pulumi_pyrke.engine.remove import remove
from pulumi_pyrke.engine.up import LOCK, LockHeld
from pulumi_pyrke.errors import ConfigError
from pulumi_pyrke.model import parse_cluster_config
from pulumi_pyrke.model.cluster import ClusterConfig
from pulumi_pyrke.plan import ClusterState, plan_cluster

pytestmark = pytest.mark.nodes


@dataclass
class Site:
    """The test cluster: its nodes, its configuration, the key that reaches them."""

    nodes: list[TestNode]
    config: ClusterConfig
    key: str

    def apply(
        self, state: ClusterState | None, config: ClusterConfig | None = None, **options: Any
    ) -> Applied:
        return cluster.apply(config or self.config, state, self.connect, **options)

    @property
    def connect(self) -> cluster.Connect:
        return cluster.connector(self.key)

    def containers(self, node: TestNode) -> dict[str, dict[str, Any]]:
        out = node.exec(
            "docker ps -a --format '{{json .}}' --filter label=" + f"{MANAGED_LABEL}=pyt"
        ).stdout.decode()
        rows = [json.loads(line) for line in out.splitlines() if line.strip()]
        return {r["Names"]: r for r in rows}

    def ids(self) -> dict[str, str]:
        return {
            f"{n.address}/{name}": row["ID"]
            for n in self.nodes
            for name, row in self.containers(n).items()
        }


@pytest.fixture(scope="module")
def site(
    node_factory: NodeFactory, test_keys: dict[str, KeyPair], system_images: dict[str, str]
) -> Iterator[Site]:
    nodes = node_factory(3)  # the third joins and leaves as a worker
    cluster.prepare(nodes, system_images)
    key = test_keys["ed25519"].private_path.read_text()
    config = parse_cluster_config(
        {
            "cluster_name": "pyt",
            "nodes": [
                {
                    "address": nodes[0].address,
                    "user": "root",
                    "role": ["etcd", "controlplane", "worker"],
                },
                {"address": nodes[1].address, "user": "root", "role": ["worker"]},
            ],
            "system_images": system_images,
            "services": {"kubeproxy": {"extra_args": {"conntrack-max-per-core": "0"}}},
        }
    ).config
    yield Site(nodes=nodes, config=config, key=key)


def _get(applied: Applied, path: str) -> tuple[int, Any]:
    """GET on the API server as the admin, with the kubeconfig `up` made."""
    doc = yaml.safe_load(applied.kubeconfig.reveal())
    user = doc["users"][0]["user"]
    cluster = doc["clusters"][0]["cluster"]
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for name, field in (("ca", cluster), ("cert", user), ("key", user)):
            key = {
                "ca": "certificate-authority-data",
                "cert": "client-certificate-data",
                "key": "client-key-data",
            }[name]
            files[name] = Path(tmp) / name
            files[name].write_bytes(base64.b64decode(field[key]))
        context = ssl.create_default_context(cafile=str(files["ca"]))
        context.load_cert_chain(str(files["cert"]), str(files["key"]))
        with urllib.request.urlopen(
            cluster["server"] + path, context=context, timeout=10
        ) as answer:
            return answer.status, json.loads(
                answer.read() or b"null"
            ) if "json" in answer.headers.get("Content-Type", "") else answer.read().decode()


def test_the_nodes_sshd_is_a_stock_hardened_one(site: Site) -> None:
    settings = site.nodes[0].exec("/usr/sbin/sshd -T").stdout.decode().lower().splitlines()
    assert {"maxsessions 10", "allowtcpforwarding no", "allowstreamlocalforwarding no"} <= set(
        settings
    )


def test_up_from_nothing_then_nothing_changes(site: Site) -> None:
    first = site.apply(None)
    made = {(c.host, c.name) for c in first.report.containers}
    n1, n2, _ = site.nodes
    assert {
        (n1.address, "etcd"),
        (n1.address, "kube-apiserver"),
        (n2.address, "nginx-proxy"),
    } <= made
    assert all(
        row["State"] == "running"
        for name, row in site.containers(n1).items()
        if name != "service-sidekick"
    )
    assert n1.exec("stat -c %a /var/lib/etcd").stdout.decode().strip() == "700"  # etcd 3.5's rule
    status, _ = _get(first, "/healthz")
    assert status == 200

    expected = sorted([n1.address, n2.address])

    def ready() -> bool:
        _, listing = _get(first, "/api/v1/nodes")
        names = [
            item["metadata"]["name"]
            for item in listing["items"]
            if any(
                c["type"] == "Ready" and c["status"] == "True" for c in item["status"]["conditions"]
            )
        ]
        return sorted(names) == expected

    wait_until(ready, 60, "both nodes registered and Ready", interval=1)
    before = site.ids()
    second = site.apply(first.state)
    assert not second.report.changed, second.report.summary()
    assert site.ids() == before
    assert second.kubeconfig.reveal() == first.kubeconfig.reveal()  # no perpetual diff
    site.__dict__["state"] = second.state


def test_a_container_deleted_by_hand_is_made_again_alone(site: Site) -> None:
    state = site.__dict__.get("state")
    n2 = site.nodes[1]
    n2.exec("docker rm -f kube-proxy")
    before = site.ids()
    again = site.apply(state)
    assert [(c.host, c.name, c.action) for c in again.report.containers] == [
        (n2.address, "kube-proxy", "created")
    ]
    after = site.ids()
    assert {k: v for k, v in after.items() if not k.endswith("/kube-proxy")} == {
        k: v for k, v in before.items() if not k.endswith("/kube-proxy")
    }


def test_lost_local_state_adopts_the_running_cluster(site: Site) -> None:
    state = site.__dict__.get("state")
    assert state is not None and state.certificates is not None
    before = site.ids()
    adopted = site.apply(None)  # as after a lost cluster.rkestate or a Pulumi create that raised
    assert adopted.adopted_from == site.nodes[0].address
    ca = adopted.state.certificates.get("kube-ca") if adopted.state.certificates else None
    assert ca is not None and ca.cert_pem == state.certificates.get("kube-ca").cert_pem  # type: ignore[union-attr]
    assert not adopted.report.changed and site.ids() == before


def test_a_second_run_is_refused_by_the_lock(site: Site) -> None:
    n1 = site.nodes[0]
    image = plan_cluster(site.config).tools_image
    n1.exec(
        f"docker create --name {LOCK} --label io.pyrke.lock.holder=other-run "
        f"--label io.pyrke.lock.since=$(date +%s) {image} true"
    )
    try:
        with pytest.raises(LockHeld, match="other-run"):
            site.apply(site.__dict__.get("state"))
        assert LOCK in n1.exec("docker ps -a --format '{{.Names}}'").stdout.decode()
        assert LOCK not in site.nodes[1].exec("docker ps -a --format '{{.Names}}'").stdout.decode()
    finally:
        n1.exec(f"docker rm -f {LOCK}")


def test_no_secret_in_any_container_environment(site: Site) -> None:
    kept = site.nodes[0].exec("cat /etc/kubernetes/pyrke/cluster-state.json").stdout.decode()
    assert "certificates" in kept  # the state the next run adopts...
    assert site.key.splitlines()[1] not in kept  # ...without the keys to every node
    for node in site.nodes:
        for name in site.containers(node):
            env = node.exec(
                "docker inspect --format '{{json .Config.Env}}' " + name
            ).stdout.decode()
            assert "PRIVATE KEY" not in env and "BEGIN CERTIFICATE" not in env, (node.address, name)


def test_a_worker_joins_and_leaves(site: Site) -> None:
    state = site.__dict__.get("state")
    n1, n2, n3 = site.nodes
    data: dict[str, Any] = {
        "cluster_name": "pyt",
        "nodes": [
            {"address": n1.address, "user": "root", "role": ["etcd", "controlplane", "worker"]},
            {"address": n2.address, "user": "root", "role": ["worker"]},
            {"address": n3.address, "user": "root", "role": ["worker"]},
        ],
        "system_images": dict(site.config.system_images),
        "services": {"kubeproxy": {"extra_args": {"conntrack-max-per-core": "0"}}},
    }
    before = site.ids()
    joined = site.apply(state, parse_cluster_config(data).config)
    assert {c.host for c in joined.report.containers} == {n3.address}
    assert {k: v for k, v in site.ids().items() if not k.startswith(n3.address)} == before
    assert "kubelet" in site.containers(n3)
    left = site.apply(joined.state)  # the site's config: n3 is gone
    assert left.report.containers == ()  # only the state file records the smaller cluster
    assert site.containers(n3) == {}
    assert n3.exec("ls -A /etc/kubernetes 2>/dev/null || true").stdout.decode().strip() == ""
    promoted = {**data, "nodes": [*data["nodes"][:2], {**data["nodes"][2], "role": ["etcd"]}]}
    with pytest.raises(ConfigError, match="etcd hosts of the running cluster change"):
        site.apply(left.state, parse_cluster_config(promoted).config)
    site.__dict__["state"] = left.state


def test_remove_cleans_every_host(site: Site) -> None:
    plan = plan_cluster(site.config)
    report = remove(
        plan.nodes,
        lambda host, seconds: site.connect(host, Deadline.after(seconds)),
        cluster="pyt",
        tools_image=plan.tools_image,
    )
    assert report.complete, report.summary()
    for node in site.nodes:
        assert site.containers(node) == {}
        assert node.exec("ls -A /etc/kubernetes 2>/dev/null || true").stdout.decode().strip() == ""
