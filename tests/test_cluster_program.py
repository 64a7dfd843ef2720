"""A Cluster in a program, under pulumi mocks: the keyword and Args forms, Node resources as
its nodes, what the SDK sends the engine (secrets marked), and that the provider's real check
accepts exactly that."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from wire import Registration, is_secret, register

from pulumi_pyrke import Cluster, ClusterArgs, Node, NodeArgs
from pulumi_pyrke.providers.cluster import SECRET_OUTPUTS, ClusterProvider

KEY = (
    ed25519.Ed25519PrivateKey.generate()
    .private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    .decode()
)
TYPE = "pulumi-python:dynamic/pyrke:Cluster"


def cluster_of(registrations: list[Registration]) -> Registration:
    (found,) = [r for r in registrations if r.type == TYPE]
    return found


def test_keyword_form_with_node_resources() -> None:
    def program() -> None:
        n1 = Node("n1", address="10.0.0.1", roles=["etcd", "controlplane", "worker"],
                  ssh_agent_auth=True, labels={"zone": "a"})  # fmt: skip
        n2 = Node("n2", NodeArgs(address="10.0.0.2", ssh_private_key=KEY, roles=["worker"]))
        Cluster("c", nodes=[n1, n2], cluster_name="demo", timeout=600)

    sent = cluster_of(register(program))
    assert set(SECRET_OUTPUTS) <= set(sent.additional_secret_outputs)
    assert {"kubeconfig", "client_key", "state"} <= set(sent.additional_secret_outputs)
    assert is_secret(sent.object["nodes"])  # a node carries key text
    inputs = sent.engine_inputs()
    nodes = inputs["nodes"]
    assert [n["address"] for n in nodes] == ["10.0.0.1", "10.0.0.2"]
    assert nodes[0]["labels"] == {"zone": "a"} and nodes[1]["ssh_private_key"] == KEY
    assert "hostname" not in nodes[0] and "ready_timeout" not in nodes[0]
    checked = ClusterProvider().check({}, inputs)
    assert checked.failures == []
    assert set(checked.inputs["plan"]) == {"10.0.0.1", "10.0.0.2"}
    assert KEY not in str(sent.object.get("__provider"))


def test_args_form_with_mappings_and_cluster_yml() -> None:
    yml = "nodes: []\nservices:\n  kube-api:\n    extra_args:\n      v: '2'\n"
    args = ClusterArgs(
        nodes=[
            {"address": "10.0.0.1", "roles": ["etcd", "controlplane"], "ssh_agent_auth": True},
            NodeArgs(address="10.0.0.2", roles=["worker"], ssh_agent_auth=True),
        ],
        cluster_yml=yml,
        kubernetes_version="",
    )
    sent = cluster_of(register(lambda: Cluster("c", args)))
    assert is_secret(sent.object["cluster_yml"])
    checked = ClusterProvider().check({}, sent.engine_inputs())
    assert checked.failures == []
    api: dict[str, Any] = checked.inputs["plan"]["10.0.0.1"]["kube-apiserver"]
    assert "--v=2" in api["args"]


def test_both_forms_at_once_is_a_type_error() -> None:
    import pytest

    with pytest.raises(TypeError, match="either as ClusterArgs or as keywords"):
        register(lambda: Cluster("c", ClusterArgs(cluster_name="x"), cluster_name="y"))
