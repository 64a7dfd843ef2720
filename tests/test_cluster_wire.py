"""ClusterProvider driven through the SDK's own dynamic-provider gRPC server, as the engine
drives it: check (bad input, unknowns) without hosts; then on two real test nodes (one with
every role, one worker; the test images loaded into them): create, diff none, one extra_args
flag as an update, a container deleted by hand seen by read and made again by the next update,
a create re-run without Pulumi state adopting the running cluster, and delete."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from harness import cluster
from harness.fixtures import NodeFactory
from harness.keys import KeyPair
from harness.nodes import TestNode
from pulumi.output import Unknown
from wire import UNKNOWN, Plugin, plugin, provider_blob, urn

from pulumi_pyrke.engine.converge import MANAGED_LABEL
from pulumi_pyrke.providers.cluster import ClusterProvider

TYPE = "pulumi-python:dynamic/pyrke:Cluster"
URN = urn(TYPE, "c1")
ALL = ["etcd", "controlplane", "worker"]
BLOB = provider_blob(ClusterProvider())


@pytest.fixture(scope="module")
def wire() -> Iterator[Plugin]:
    with plugin() as server:
        yield server


def news(nodes: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
    return {"nodes": nodes, "cluster_name": "pyw", "__provider": BLOB, **more}


# --- no host needed ----------------------------------------------------------------------------


def test_check_reports_bad_input_with_paths(wire: Plugin) -> None:
    checked = wire.check(
        URN,
        news(
            [{"address": "10.0.0.1", "roles": ["etcd", "boss"], "ssh_agent_auth": True}],
            services={"kube-api": {"service_cluster_ip_range": "10.43.0.0/33"}},
            cluster_yml="bogus: 1\n",
        ),
    )
    found = dict(checked.failures)
    assert set(found) == {
        "nodes[0].roles[1]",
        "services.kube-api.service_cluster_ip_range",
        "cluster_yml.bogus",
    }


def test_check_in_a_preview_accepts_unknowns(wire: Plugin) -> None:
    nodes = [
        {"address": "10.0.0.1", "roles": ALL, "ssh_agent_auth": True},
        {"address": UNKNOWN, "roles": ["worker"], "ssh_private_key": UNKNOWN},
    ]
    checked = wire.check(URN, news(nodes))
    assert checked.failures == []
    plan = checked.inputs["plan"]
    assert isinstance(plan["nodes[1]"], Unknown) and "kube-apiserver" in plan["10.0.0.1"]
    whole = wire.check(URN, news(nodes, cluster_yml=UNKNOWN))
    assert whole.failures == [] and isinstance(whole.inputs["plan"], Unknown)


# --- real nodes --------------------------------------------------------------------------------


@dataclass
class Site:
    nodes: list[TestNode]
    key: str
    system_images: dict[str, str]

    def inputs(self, **more: Any) -> dict[str, Any]:
        n1, n2 = self.nodes
        return news(
            [
                {"address": n1.address, "roles": ALL, "ssh_private_key": self.key},
                {"address": n2.address, "roles": ["worker"], "ssh_private_key": self.key},
            ],
            system_images=self.system_images,
            timeout=240,
            **more,
        )

    def containers(self, node: TestNode) -> dict[str, str]:
        out = node.exec(
            "docker ps -a --format '{{.Names}} {{.ID}}' --filter label=" + f"{MANAGED_LABEL}=pyw"
        ).stdout.decode()
        return dict(line.split() for line in out.splitlines() if line.strip())


@pytest.fixture(scope="module")
def site(
    node_factory: NodeFactory, test_keys: dict[str, KeyPair], system_images: dict[str, str]
) -> Site:
    nodes = node_factory(2)
    cluster.prepare(nodes, system_images)  # the images, and a stock hardened sshd
    return Site(nodes, test_keys["ed25519"].private_path.read_text(), system_images)


FLAG = {"kube-api": {"extra_args": {"audit-log-maxage": "7"}}}
KUBEPROXY = {"kubeproxy": {"extra_args": {"conntrack-max-per-core": "0"}}}


@pytest.mark.nodes
def test_lifecycle_over_grpc(wire: Plugin, site: Site) -> None:
    n1, n2 = site.nodes
    first = site.inputs(services=KUBEPROXY)
    checked = wire.check(URN, first)
    assert checked.failures == []

    created = wire.create(URN, checked.struct)
    outs = created.outs
    assert created.id == f"pyw@{n1.address}"
    assert outs["api_server_url"] == f"https://{n1.address}:6443"
    assert "BEGIN CERTIFICATE" in outs["ca_certificate"] and "PRIVATE KEY" in outs["client_key"]
    assert "client-key-data" in outs["kubeconfig"]
    state = json.loads(outs["state"])
    assert state["etcd_members"] == [n1.address] and outs["state"] == json.dumps(
        state, sort_keys=True, separators=(",", ":")
    )
    assert outs["etcd_hosts"] == [n1.address] and outs["worker_hosts"] == [n1.address, n2.address]
    assert outs["cluster_domain"] == "cluster.local" and outs["cluster_cidr"]
    assert "(known at apply)" not in json.dumps(outs["files"])
    assert {"etcd", "kube-apiserver", "kubelet"} <= set(site.containers(n1))
    assert "nginx-proxy" in site.containers(n2)

    # the engine's next `up`: Check(olds = old inputs), then Diff(olds = old outputs)
    again = wire.check(URN, first, olds=checked.struct)
    assert wire.diff(URN, created.id, created.struct, again.struct).none

    ids = {n.address: site.containers(n) for n in site.nodes}
    flagged = wire.check(URN, site.inputs(services={**KUBEPROXY, **FLAG}), olds=checked.struct)
    diffed = wire.diff(URN, created.id, created.struct, flagged.struct)
    assert diffed.some and diffed.replaces == []
    updated = wire.update(URN, created.id, created.struct, flagged.struct)
    after = {n.address: site.containers(n) for n in site.nodes}
    remade = {
        (host, name)
        for host, found in after.items()
        for name, cid in found.items()
        if ids[host].get(name) != cid
    }
    assert remade == {(n1.address, "kube-apiserver")}
    assert (
        updated.outs["state"] == outs["state"] and updated.outs["kubeconfig"] == outs["kubeconfig"]
    )
    assert wire.diff(URN, created.id, updated.struct, flagged.struct).none

    # drift: a container deleted by hand
    n2.exec("docker rm -f kube-proxy")
    read = wire.read(URN, created.id, updated.struct, flagged.struct)
    assert read.id == created.id
    assert "kube-proxy" not in read.outs["plan"][n2.address]
    assert read.outs["plan"][n1.address] == updated.outs["plan"][n1.address]
    assert read.inputs is not None and "state" not in read.inputs
    assert wire.diff(URN, created.id, read.struct, flagged.struct).some
    repaired = wire.update(URN, created.id, read.struct, flagged.struct)
    assert "kube-proxy" in site.containers(n2)
    assert repaired.outs["plan"] == updated.outs["plan"]
    settled = wire.read(URN, created.id, repaired.struct, flagged.struct)
    assert wire.diff(URN, created.id, settled.struct, flagged.struct).none

    # a create that raised after the state reached the hosts: the re-run adopts it
    before = {n.address: site.containers(n) for n in site.nodes}
    adopted = wire.create(URN, flagged.struct)
    assert adopted.outs["ca_certificate"] == outs["ca_certificate"]
    assert {n.address: site.containers(n) for n in site.nodes} == before

    # a worker-only host removed: an update, and the host is cleaned
    n1_only = {**flagged.inputs, "nodes": flagged.inputs["nodes"][:1]}
    shrunk = wire.check(URN, n1_only, olds=flagged.struct)
    assert shrunk.failures == []
    assert wire.diff(URN, created.id, adopted.struct, shrunk.struct).some
    kept = site.containers(n1)
    smaller = wire.update(URN, created.id, adopted.struct, shrunk.struct)
    assert smaller.outs["worker_hosts"] == [n1.address]
    assert site.containers(n2) == {} and site.containers(n1) == kept

    wire.delete(URN, created.id, smaller.struct)
    for node in site.nodes:
        assert site.containers(node) == {}
