"""The example programs run under pulumi mocks, and the providers' real check accepts what
they send (DESIGN.md §5): the root program (examples/cluster.yml on existing hosts) and the
AWS one (a pool of three, a Node per machine, a Cluster on them)."""

from __future__ import annotations

import runpy
from collections.abc import Iterator
from pathlib import Path

import pulumi
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from wire import Registration, register

from pulumi_pyrke.providers.cluster import ClusterProvider
from pulumi_pyrke.providers.node import NodeProvider

ROOT = Path(__file__).resolve().parent.parent
KEY = (
    ed25519.Ed25519PrivateKey.generate()
    .private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    .decode()
)


@pytest.fixture
def config(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(ROOT)
    values = {
        "project:sshKey": KEY,
        "project:subnetId": "subnet-0abc1234def567890",
        "project:securityGroupId": "sg-0abc1234def567890",
        "project:keyName": "example",
        "aws:region": "eu-west-1",
    }
    pulumi.runtime.set_all_config(values, secret_keys=["project:sshKey"])
    yield
    pulumi.runtime.set_all_config({})


def _run(path: Path) -> None:
    runpy.run_path(str(path))  # returns the program's globals, which must not reach Pulumi


def _of(registrations: list[Registration], kind: str) -> list[Registration]:
    return [r for r in registrations if r.type == f"pulumi-python:dynamic/pyrke:{kind}"]


def test_the_root_program_plans_examples_cluster_yml(config: None) -> None:
    sent = register(lambda: _run(ROOT / "__main__.py"))
    nodes, (cluster,) = _of(sent, "Node"), _of(sent, "Cluster")
    assert len(nodes) == 5
    for node in nodes:
        assert NodeProvider().check({}, node.engine_inputs()).failures == []
    checked = ClusterProvider().check({}, cluster.engine_inputs())
    assert checked.failures == []
    assert sorted(checked.inputs["plan"]) == [
        "10.0.0.11",
        "10.0.0.12",
        "10.0.0.13",
        "10.0.0.21",
        "10.0.0.22",
    ]
    assert "etcd" in checked.inputs["plan"]["10.0.0.11"]


def test_the_aws_program_is_a_pool_nodes_and_a_cluster(config: None) -> None:
    sent = register(lambda: _run(ROOT / "examples/aws/__main__.py"), preview=True)
    instances = [r for r in sent if r.type == "pulumi-python:dynamic/pyrke/aws:Instance"]
    assert len(instances) == 3 and len(_of(sent, "Node")) == 3
    (cluster,) = _of(sent, "Cluster")
    checked = ClusterProvider().check({}, cluster.engine_inputs())
    assert checked.failures == []  # addresses are unknown until the machines exist
