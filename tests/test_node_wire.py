"""NodeProvider driven through the SDK's own dynamic-provider gRPC server, as the engine drives it.

The program side is real too: a Node is registered under pulumi mocks and what the SDK sent is
what reaches Check (secrets stripped, as the engine does for a plugin that does not accept
them). Check, Diff and Delete need no host; Create, Read and Update run against real test
nodes (sshd + dockerd in Docker-in-Docker), marked `nodes`.

What the wire shows about secrets (observed, SDK 3.272):
- the program sends ssh_private_key, ssh_key_passphrase and bastion wrapped as secrets, and
  lists them in additionalSecretOutputs; ``__provider`` is not secret and holds no key text;
- the plugin answers Configure with acceptSecrets=False, so the engine strips the wrappers:
  Check, Diff, Create, Read and Update see the key as plain text and return it plain; the
  engine re-marks it secret by name (annotateSecrets) and through additionalSecretOutputs.
"""

from __future__ import annotations

import base64
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from google.protobuf import empty_pb2
from pulumi.output import Unknown
from wire import UNKNOWN, Plugin, Registration, is_secret, plugin, provider_blob, register, urn

from pulumi_pyrke import BastionArgs, Node, NodeArgs
from pulumi_pyrke.providers.node import NodeProvider

TYPE = "pulumi-python:dynamic/pyrke:Node"
URN = urn(TYPE, "n1")
SENTINEL = "SENTINEL-7d1e-must-never-show"


def _key_text() -> str:
    key = ed25519.Ed25519PrivateKey.generate()
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()


def _host_key() -> str:
    public = ed25519.Ed25519PrivateKey.generate().public_key()
    return public.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode()


KEY = _key_text()


@pytest.fixture(scope="module")
def wire() -> Iterator[Plugin]:
    with plugin(config={"proj:unrelated": "value"}) as server:
        yield server


def program_inputs(args: NodeArgs | dict[str, Any], *, name: str = "n1") -> Registration:
    (registration,) = register(lambda: Node(name, args))
    return registration


def node_inputs(**inputs: Any) -> dict[str, Any]:
    """Check news as the engine sends them for a Node built from ``inputs``."""
    return program_inputs(dict(inputs)).engine_inputs()


def fake_outputs(checked: dict[str, Any]) -> dict[str, Any]:
    """Old outputs as create would have returned them (for Diff without a host)."""
    facts = {"hostname": "node1", "cpus": 2, "memory_bytes": 2**30, "containers": []}
    return {**checked, "hostname": "node1", "host_key": _host_key(), "cpus": 2, "facts": facts}


# --- no host needed ----------------------------------------------------------------------------


def test_plugin_info_and_configure(wire: Plugin) -> None:
    assert wire.stub.GetPluginInfo(empty_pb2.Empty()).version == "0.1.0"
    assert wire.configure({"proj:x": "y"}).acceptSecrets is False  # the engine strips secrets


def test_program_to_check_secrets_and_provider_blob(wire: Plugin) -> None:
    registration = program_inputs(
        NodeArgs(
            address="10.0.0.5",
            ssh_private_key=KEY,
            labels={"zone": "a"},
            bastion=BastionArgs(address="1.2.3.4", ssh_agent_auth=True),
        )
    )
    sent = registration.object
    assert is_secret(sent["ssh_private_key"]) and is_secret(sent["bastion"])
    assert set(registration.additional_secret_outputs) == {
        "ssh_private_key",
        "ssh_key_passphrase",
        "bastion",
    }
    blob = sent["__provider"]
    assert isinstance(blob, str) and not is_secret(blob)
    assert KEY.encode() not in base64.b64decode(blob)

    checked = wire.check(URN, registration.engine_inputs())
    assert checked.failures == []
    inputs = checked.inputs
    assert inputs["ssh_private_key"] == KEY  # plain: the engine stripped the secret wrapper
    assert inputs["port"] == 22.0 and isinstance(inputs["port"], float)  # numbers are floats
    assert inputs["user"] == "root" and inputs["docker_socket"] == "/var/run/docker.sock"
    assert inputs["bastion"] == {
        "address": "1.2.3.4",
        "port": 22.0,
        "user": "root",
        "ssh_agent_auth": True,
    }
    assert inputs["__provider"] == blob  # put back by the server, unchanged


def test_check_in_a_preview_accepts_unknowns(wire: Plugin) -> None:
    news = node_inputs(address="10.0.0.5", ssh_private_key=KEY) | {
        "address": UNKNOWN,
        "port": UNKNOWN,
        "ssh_private_key": UNKNOWN,
        "labels": {"zone": UNKNOWN},
        "bastion": {"address": UNKNOWN, "ssh_private_key": UNKNOWN},
    }
    checked = wire.check(URN, news)
    assert checked.failures == []
    for name in ("address", "port", "ssh_private_key"):
        assert isinstance(checked.inputs[name], Unknown), name
    assert isinstance(checked.inputs["labels"]["zone"], Unknown)
    assert checked.inputs["ready_timeout"] == 300.0


def test_check_reports_every_problem_over_the_wire(wire: Plugin) -> None:
    news = node_inputs(
        address="10.0.0.5 ",
        port=0,
        roles=["etcd", "boss"],
        taints=[{"key": "k", "effect": "Never"}],
        ssh_private_key=SENTINEL,
        host_key="ssh-ed25519",
    )
    checked = wire.check(URN, news)
    found = dict(checked.failures)
    assert set(found) == {"port", "roles[1]", "taints[0].effect", "ssh_private_key", "host_key"}
    assert "1..65535" in found["port"] and "controlplane, etcd, worker" in found["roles[1]"]
    assert all(SENTINEL not in reason for reason in found.values())


def test_diff_over_the_wire(wire: Plugin) -> None:
    checked = wire.check(URN, node_inputs(address="10.0.0.5", ssh_private_key=KEY))
    olds = fake_outputs(checked.inputs)
    same = wire.diff(URN, "10.0.0.5:22", olds, checked.struct)
    assert same.none and same.replaces == []
    moved = wire.diff(URN, "10.0.0.5:22", olds, {**checked.inputs, "address": "10.0.0.6"})
    assert moved.some and moved.replaces == ["address"] and not moved.delete_before_replace
    relabelled = wire.diff(URN, "10.0.0.5:22", olds, {**checked.inputs, "labels": {"a": "b"}})
    assert relabelled.some and relabelled.replaces == []
    preview = wire.diff(URN, "10.0.0.5:22", olds, {**checked.inputs, "address": UNKNOWN})
    assert preview.some and preview.replaces == ["address"]
    # a different pickled provider (new SDK, new pyrke) is not a change of the Node
    news = {**checked.inputs, "__provider": provider_blob(NodeProvider())}
    assert wire.diff(URN, "10.0.0.5:22", {**olds, "__provider": "old-blob"}, news).none


def test_delete_needs_no_host(wire: Plugin) -> None:
    checked = wire.check(URN, node_inputs(address="192.0.2.1", ssh_private_key=KEY))
    started = time.monotonic()
    wire.delete(URN, "192.0.2.1:22", fake_outputs(checked.inputs))  # TEST-NET: unroutable
    assert time.monotonic() - started < 5


def test_create_failure_is_a_clear_error_without_the_key(wire: Plugin) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    checked = wire.check(
        URN, node_inputs(address="127.0.0.1", port=port, ssh_private_key=KEY, ready_timeout=1)
    )
    assert checked.failures == []
    with pytest.raises(grpc.RpcError) as err:
        wire.create(URN, checked.struct)
    assert err.value.code() == grpc.StatusCode.UNKNOWN
    details = err.value.details() or ""
    assert "SSHError" in details and f"SSH on port {port} did not answer" in details
    assert KEY.splitlines()[1] not in details


# --- real nodes --------------------------------------------------------------------------------


def key_text(key: Any) -> str:
    return Path(key.private_path).read_text()


@pytest.mark.nodes
def test_lifecycle_against_a_real_node(
    wire: Plugin, shared_nodes: list[Any], test_keys: dict[str, Any]
) -> None:
    node = shared_nodes[0]
    host_keys = node.host_public_keys()
    news = node_inputs(
        address=node.address,
        ssh_private_key=key_text(test_keys["ed25519"]),
        roles=["etcd", "controlplane"],
        labels={"zone": "a"},
        ready_timeout=60,
    )
    checked = wire.check(URN, news)
    assert checked.failures == []

    created = wire.create(URN, checked.struct)
    outs = created.outs
    assert created.id == f"{node.address}:22"
    assert outs["hostname"] == node.name and outs["docker_version"]
    assert outs["host_key"] in host_keys.values()  # recorded on first use
    assert outs["cpus"] >= 1 and outs["memory_bytes"] > 0
    assert outs["facts"]["hostname"] == node.name and isinstance(outs["facts"]["containers"], list)
    assert outs["roles"] == ["controlplane", "etcd"] and outs["labels"] == {"zone": "a"}
    assert outs["ssh_private_key"] == key_text(test_keys["ed25519"])  # plain on the wire
    assert "__provider" in outs

    assert wire.diff(URN, created.id, created.struct, checked.struct).none

    read = wire.read(URN, created.id, created.struct, checked.struct)
    assert read.id == created.id and read.outs["hostname"] == node.name
    assert read.outs["host_key"] == outs["host_key"]
    assert read.inputs is not None and "hostname" not in read.inputs
    assert read.inputs["labels"] == {"zone": "a"}

    relabel = wire.check(URN, {**news, "labels": {"zone": "b"}}, olds=checked.struct)
    diffed = wire.diff(URN, created.id, read.struct, relabel.struct)
    assert diffed.some and diffed.replaces == []
    updated = wire.update(URN, created.id, read.struct, relabel.struct)
    assert updated.outs["labels"] == {"zone": "b"}
    assert set(outs) <= set(updated.outs)  # full outputs after an update
    assert updated.outs["host_key"] == outs["host_key"]

    wire.delete(URN, created.id, updated.struct)


@pytest.mark.nodes
def test_a_changed_host_key_is_refused(
    wire: Plugin, shared_nodes: list[Any], test_keys: dict[str, Any]
) -> None:
    node = shared_nodes[1]
    checked = wire.check(
        URN, node_inputs(address=node.address, ssh_key_path=str(test_keys["ed25519"].private_path))
    )
    created = wire.create(URN, checked.struct)
    stranger = _host_key()
    with pytest.raises(grpc.RpcError) as on_read:  # the recorded key is enforced
        wire.read(URN, created.id, {**created.outs, "host_key": stranger})
    assert "HostKeyMismatch" in (on_read.value.details() or "")
    pinned = wire.check(URN, {**checked.inputs, "host_key": stranger})
    assert wire.diff(URN, created.id, created.struct, pinned.struct).some
    with pytest.raises(grpc.RpcError) as on_update:  # a newly pinned key is enforced
        wire.update(URN, created.id, created.struct, pinned.struct)
    assert "HostKeyMismatch" in (on_update.value.details() or "")


@pytest.mark.nodes
def test_passphrase_key_file_and_a_bastion(
    wire: Plugin, shared_nodes: list[Any], test_keys: dict[str, Any]
) -> None:
    jump, node = shared_nodes[0], shared_nodes[2]
    locked = test_keys["ed25519_passphrase"]
    args = NodeArgs(
        address=node.address,
        ssh_key_path=str(locked.private_path),
        ssh_key_passphrase=locked.passphrase,
        bastion=BastionArgs(
            address=jump.address,
            ssh_private_key=key_text(test_keys["ed25519"]),
            host_key=jump.host_public_keys()["ssh-ed25519"],
        ),
    )
    checked = wire.check(URN, program_inputs(args).engine_inputs())
    assert checked.failures == []
    created = wire.create(URN, checked.struct)
    assert created.outs["hostname"] == node.name
    assert created.outs["bastion"]["address"] == jump.address


@pytest.mark.nodes
def test_an_unauthorized_key_fails_clearly(
    wire: Plugin, shared_nodes: list[Any], test_keys: dict[str, Any]
) -> None:
    text = key_text(test_keys["unauthorized"])
    checked = wire.check(
        URN, node_inputs(address=shared_nodes[0].address, ssh_private_key=text, ready_timeout=5)
    )
    with pytest.raises(grpc.RpcError) as err:
        wire.create(URN, checked.struct)
    details = err.value.details() or ""
    assert "SSHAuthError" in details
    assert text.splitlines()[1] not in details


@pytest.mark.nodes
def test_create_waits_for_a_machine_that_is_still_booting(
    wire: Plugin, node_factory: Any, test_keys: dict[str, Any]
) -> None:
    """No `sleep 180` in programs: create keeps trying until sshd and Docker answer."""
    (node,) = node_factory(1, sshd_delay=4, wait=False)
    try:
        checked = wire.check(
            URN,
            node_inputs(
                address=node.address,
                ssh_private_key=key_text(test_keys["ed25519"]),
                ready_timeout=120,
            ),
        )
        started = time.monotonic()
        created = wire.create(URN, checked.struct)
        assert created.outs["hostname"] == node.name and created.outs["docker_version"]
        assert time.monotonic() - started < 120
    finally:
        node_factory.remove([node])
