"""One node schema, two doors: a cluster.yml node and a Node resource's inputs are validated by
the same types, with the same rules and the same words (issue 7)."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest
from wire import register

from pulumi_pyrke import ConfigError, Node, NodeArgs
from pulumi_pyrke.model import parse_cluster_config
from pulumi_pyrke.providers.node import NodeProvider

LOGIN = {"ssh_agent_auth": True}


def node_door(**fields: Any) -> dict[str, str]:
    """Problems of a Node resource with these inputs, by field path."""
    result = NodeProvider().check({}, {"address": "10.0.0.5", **LOGIN, **fields})
    return {f.property: f.reason for f in result.failures}


def cluster_door(**fields: Any) -> dict[str, str]:
    """Problems of a cluster.yml whose one node has these fields, by field path (nodes[0]. cut)."""
    node = {"address": "10.0.0.5", "user": "ubuntu", "role": ["etcd", "controlplane", "worker"]}
    try:
        parse_cluster_config({"nodes": [{**node, **fields}]})
    except ConfigError as exc:
        return {
            p.path.removeprefix("nodes[0]."): p.message
            for p in exc.problems
            if p.path.startswith("nodes[0].")
        }
    return {}


HOSTILE = [
    ("address", "x y"),
    ("address", "-oProxyCommand=touch /tmp/pwned"),
    ("address", "bücher.example"),
    ("address", "10.0.0.5\n-oProxyCommand=x"),
    ("internal_address", "10.0.0.5,https://evil.example.com:2379"),
    ("docker_socket", "tcp://10.0.0.9:2375"),
    ("hostname_override", "node_1"),
    ("port", 0),
    ("port", "22; rm -rf /"),
    ("user", "root; reboot"),
    ("labels", {"bad key!": "v"}),
    ("labels", {"ok": "bad value!"}),
    ("taints", [{"key": "a", "effect": "Sometimes"}]),
]


@pytest.mark.parametrize(("field", "value"), HOSTILE, ids=[f"{f}={v!r}" for f, v in HOSTILE])
def test_both_doors_refuse_the_same_values_with_the_same_words(field: str, value: Any) -> None:
    node, cluster = node_door(**{field: value}), cluster_door(**{field: value})
    assert node, f"the Node accepted {field}={value!r}"
    assert node == cluster


def test_both_doors_accept_the_same_values() -> None:
    good = {
        "address": "node1.example.com",
        "internal_address": "fd00::5",
        "hostname_override": "Node-1",  # lowercased, as RKE does
        "port": "2222",
        "labels": {"example.com/zone": "a", "tier": 1},
        "taints": [{"key": "dedicated", "value": "db", "effect": "NoExecute"}],
        "docker_socket": "/run/docker.sock",
        "host_key": None,
    }
    assert node_door(**good) == {}
    assert cluster_door(**good) == {}
    config = parse_cluster_config(
        {
            "nodes": [
                {**good, "user": "u", "role": ["worker", "etcd", "controlplane"], "ssh_key": "k"}
            ]
        }
    ).config
    (node,) = config.nodes
    assert (
        node.roles == ["controlplane", "etcd", "worker"]
        and node.hostname_override == "node-1"
        and node.port == 2222
    )
    assert node.labels == {"example.com/zone": "a", "tier": "1"}
    assert node.ssh_private_key is not None and node.ssh_private_key.reveal() == "k"


def test_cluster_yml_speaks_rke_and_the_node_python() -> None:
    assert cluster_door(role=["boss"]) == {
        "role[0]": "'boss' is not a role; use controlplane, etcd, worker"
    }
    assert node_door(roles=["boss"]) == {
        "roles[0]": "'boss' is not a role; use controlplane, etcd, worker"
    }
    assert cluster_door(rol=["etcd"])["rol"] == "unknown key; did you mean 'role'?"
    assert node_door(rol=["etcd"])["rol"] == "unknown key; did you mean 'roles'?"
    with pytest.raises(ConfigError) as both:
        parse_cluster_config({"nodes": [{"address": "h", "user": "u", "role": [], "roles": []}]})
    assert "nodes[0]: gives both 'role' and 'roles'; give one of them" in str(both.value)


def test_each_door_keeps_its_own_defaults() -> None:
    assert cluster_door(user="")["user"] == "is required (the SSH user, e.g. ubuntu)"  # RKE
    inputs = NodeProvider().check({}, {"address": "10.0.0.5", **LOGIN}).inputs
    assert inputs["user"] == "root"  # the Node's default


def test_a_node_and_a_bastion_may_pin_host_keys_in_cluster_yml() -> None:
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    data = {
        "nodes": [
            {"address": "10.0.0.5", "user": "u", "role": ["etcd", "controlplane"], "host_key": key}
        ],
        "bastion_host": {"address": "10.0.0.1", "user": "j", "host_key": key},
    }
    config = parse_cluster_config(data).config
    assert config.nodes[0].host_key == key
    assert config.bastion_host is not None and config.bastion_host.host_key == key


def test_a_resource_takes_args_or_keywords() -> None:
    nodes: list[Node] = []

    def program() -> None:
        nodes.append(Node("a", NodeArgs(address="10.0.0.5", ssh_agent_auth=True)))
        nodes.append(
            Node(
                "b",
                address="10.0.0.6",
                roles=["worker"],
                ssh_agent_auth=True,
                opts=pulumi.ResourceOptions(protect=True),
            )
        )

    by_name = {r.name: r for r in register(program)}
    assert by_name["b"].object["address"] == "10.0.0.6"
    assert by_name["b"].object["roles"] == ["worker"]
    assert by_name["b"].request.protect is True
    with pytest.raises(TypeError, match="adress"):
        Node("c", adress="10.0.0.7")
    with pytest.raises(TypeError, match="not both"):
        Node("d", NodeArgs(address="10.0.0.8"), address="10.0.0.8")


def test_an_internationalised_name_gets_its_idna_form() -> None:
    assert node_door(address="bücher.example")["address"] == (
        "'bücher.example' is not ASCII; write its IDNA form 'xn--bcher-kva.example'"
    )
