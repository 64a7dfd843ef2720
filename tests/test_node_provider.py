"""Node inputs without a host: check, diff and delete through the provider, the model, secrets,
pickling, and the Node resource under pulumi mocks."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import dill
import pulumi
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.output import Unknown
from wire import is_secret, register

from pulumi_pyrke import BastionArgs, ConfigError, Node, NodeArgs, NodeFacts
from pulumi_pyrke.model.node import NodeSpec, host_key_identity
from pulumi_pyrke.providers.node import (
    NODE_INPUTS,
    NodeProvider,
    check_node_inputs,
    diff_node,
    node_id,
    parse_node_inputs,
)
from pulumi_pyrke.transport import HostObservation, SSHTarget, observe_host

U = Unknown()
SENTINEL = "SENTINEL-9f2c-must-never-show"


def openssh_key(passphrase: bytes | None = None) -> str:
    key = ed25519.Ed25519PrivateKey.generate()
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, encryption
    ).decode()


def pem_key() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def host_key() -> str:
    public = ed25519.Ed25519PrivateKey.generate().public_key()
    return public.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode()


KEY = openssh_key()
HOST_KEY = host_key()


def failures(news: dict[str, Any]) -> dict[str, str]:
    result = NodeProvider().check({}, news)
    return {f.property: f.reason for f in result.failures}


def checked(news: dict[str, Any]) -> dict[str, Any]:
    result = NodeProvider().check({}, news)
    assert [(f.property, f.reason) for f in result.failures] == []
    return result.inputs


# --- check -------------------------------------------------------------------------------------


def test_defaults_go_into_the_checked_inputs() -> None:
    inputs = checked({"address": "10.0.0.5", "ssh_private_key": KEY, "__provider": "blob"})
    assert inputs == {
        "address": "10.0.0.5",
        "port": 22,
        "user": "root",
        "internal_address": "",
        "hostname_override": "",
        "roles": [],
        "labels": {},
        "taints": [],
        "ssh_private_key": KEY,
        "ssh_agent_auth": False,
        "docker_socket": "/var/run/docker.sock",
        "ready_timeout": 300,
    }


def test_numbers_from_the_wire_become_ints() -> None:
    inputs = checked(
        {
            "address": "node1.example.com",
            "port": 2222.0,
            "ready_timeout": 60.0,
            "ssh_agent_auth": True,
            "bastion": {"address": "1.2.3.4", "port": 22.0, "ssh_agent_auth": True},
        }
    )
    assert inputs["port"] == 2222 and type(inputs["port"]) is int
    assert inputs["ready_timeout"] == 60 and type(inputs["ready_timeout"]) is int
    assert inputs["bastion"] == {
        "address": "1.2.3.4",
        "port": 22,
        "user": "root",
        "ssh_agent_auth": True,
    }


def test_roles_labels_taints_are_normalised() -> None:
    inputs = checked(
        {
            "address": "fd00::5",
            "ssh_agent_auth": True,
            "roles": ["worker", "etcd", "etcd"],
            "labels": {"example.com/zone": "a", "tier": 1},
            "taints": [{"key": "dedicated", "value": "db"}],
        }
    )
    assert inputs["roles"] == ["etcd", "worker"]
    assert inputs["labels"] == {"example.com/zone": "a", "tier": "1"}
    assert inputs["taints"] == [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]


def test_every_bad_input_is_reported_at_once_with_what_is_valid() -> None:
    found = failures(
        {
            "address": "not a host",
            "port": 70000,
            "user": "",
            "internal_address": "10.0.0.x y",
            "hostname_override": "Node_1",
            "roles": ["etcd", "master"],
            "labels": {"bad key!": "v", "ok": "bad value!"},
            "taints": [{"key": "a", "effect": "Sometimes"}, {"value": "x"}],
            "docker_socket": "var/run/docker.sock",
            "ready_timeout": -1,
            "host_key": "not-a-key",
            "bastion": {"port": 0, "sshKey": "x", "ssh_agent_auth": "perhaps"},
            "sshKey": "x",
        }
    )
    expected = {
        "address": "not an IP address or DNS name",
        "port": "1..65535",
        "user": "like root or ubuntu",
        "internal_address": "not an IP address or DNS name",
        "hostname_override": "lowercase",
        "roles[1]": "use controlplane, etcd, worker",
        'labels["bad key!"]': "not a label key",
        'labels["ok"]': "not a label value",
        "taints[0].effect": "use NoExecute, NoSchedule, PreferNoSchedule",
        "taints[1].key": "is required",
        "ssh_private_key": "ssh_key_path",  # no way to log in: names the three ways
        "docker_socket": "/var/run/docker.sock",
        "ready_timeout": "0..86400",
        "host_key": "ssh-ed25519",
        "bastion.address": "is required",
        "bastion.port": "1..65535",
        "bastion.sshKey": "unknown key",
        "bastion.ssh_agent_auth": "true or false",
        "sshKey": "unknown key",
    }
    assert set(found) == set(expected)
    for path, words in expected.items():
        assert words in found[path], (path, found[path])


def test_a_misspelt_input_gets_a_suggestion() -> None:
    assert failures({"address": "h", "ssh_agent_auth": True, "ssh_agentauth": True}) == {
        "ssh_agentauth": "unknown key; did you mean 'ssh_agent_auth'?"
    }


def test_no_way_to_log_in() -> None:
    reason = failures({"address": "10.0.0.5"})["ssh_private_key"]
    assert "ssh_private_key" in reason and "ssh_key_path" in reason and "ssh_agent_auth" in reason


def test_key_text_must_parse_and_passphrases_must_fit(tmp_path: Path) -> None:
    base = {"address": "10.0.0.5"}
    assert "private key" in failures({**base, "ssh_private_key": "garbage"})["ssh_private_key"]
    locked = openssh_key(b"pw")
    assert "encrypted" in failures({**base, "ssh_private_key": locked})["ssh_key_passphrase"]
    wrong = failures({**base, "ssh_private_key": locked, "ssh_key_passphrase": "nope"})
    assert "does not decrypt" in wrong["ssh_key_passphrase"]
    checked({**base, "ssh_private_key": locked, "ssh_key_passphrase": "pw"})
    checked({**base, "ssh_private_key": pem_key()})
    key_file = tmp_path / "id"
    key_file.write_text(KEY)
    checked({**base, "ssh_key_path": str(key_file)})
    missing = failures({**base, "ssh_key_path": str(tmp_path / "absent")})
    assert "cannot read" in missing["ssh_key_path"]


def test_bastion_keys_and_host_keys_are_checked_under_bastion() -> None:
    found = failures(
        {
            "address": "10.0.0.5",
            "ssh_agent_auth": True,
            "bastion": {"address": "1.2.3.4", "ssh_private_key": "garbage", "host_key": "x y"},
        }
    )
    assert set(found) == {"bastion.ssh_private_key", "bastion.host_key"}


def test_pinned_host_key_format() -> None:
    base = {"address": "10.0.0.5", "ssh_agent_auth": True}
    checked({**base, "host_key": HOST_KEY})
    checked({**base, "host_key": HOST_KEY + " root@node1"})
    assert "unknown host key type" in failures({**base, "host_key": "ssh-dss AAAA"})["host_key"]
    assert "does not decode" in failures({**base, "host_key": "ssh-ed25519 AAAA"})["host_key"]


def test_certificates(tmp_path: Path) -> None:
    base = {"address": "10.0.0.5", "ssh_private_key": KEY}
    # as RKE (and RKE's own example): the text wins over the path; cluster.yml warns
    both = failures({**base, "ssh_cert": "a", "ssh_cert_path": "b"})
    assert "ssh_cert_path" not in both and "certificate" in both["ssh_cert"]
    unreadable = failures({**base, "ssh_cert_path": str(tmp_path / "absent-cert.pub")})
    assert "cannot read" in unreadable["ssh_cert_path"]
    cert = tmp_path / "id-cert.pub"
    cert.write_text("ssh-ed25519-cert-v01@openssh.com AAAA")
    assert "certificate" in failures({**base, "ssh_cert_path": str(cert)})["ssh_cert_path"]
    assert "certificate" in failures({**base, "ssh_cert": "nonsense"})["ssh_cert"]


def test_unknowns_are_accepted_anywhere_and_kept() -> None:
    news = {
        "address": U,
        "port": U,
        "user": U,
        "ssh_private_key": U,
        "labels": {"zone": U, "tier": "db"},
        "roles": [U, "worker"],
        "taints": [{"key": U, "effect": "NoSchedule"}],
        "bastion": {"address": U, "ssh_key_passphrase": U, "ssh_private_key": U},
        "host_key": U,
        "ready_timeout": U,
    }
    inputs = checked(news)
    for name, value in news.items():
        assert inputs[name] == value
    assert inputs["docker_socket"] == "/var/run/docker.sock"  # defaults still filled
    assert checked({"address": "h", "bastion": U, "ssh_agent_auth": U})["bastion"] is U


def test_unknowns_do_not_hide_other_problems() -> None:
    assert set(failures({"address": U, "ssh_private_key": U, "port": 0, "roles": ["x"]})) == {
        "port",
        "roles[0]",
    }


def test_the_model_alone() -> None:
    spec = parse_node_inputs({"address": "10.0.0.5", "ssh_agent_auth": True, "port": 22.0})
    assert spec.port == 22 and spec.user == "root" and spec.bastion is None
    with pytest.raises(ConfigError) as err:
        parse_node_inputs({"address": "", "port": "x"})
    paths = [p.path for p in err.value.problems]
    assert paths == ["address", "port", "ssh_private_key"]
    preview = check_node_inputs({"address": U, "ssh_agent_auth": True}, is_unknown=lambda v: v is U)
    assert preview.problems == () and preview.spec is None


def test_node_id_and_host_key_identity() -> None:
    assert node_id("10.0.0.5", 22) == "10.0.0.5:22"
    assert node_id("fd00::5", 2222) == "[fd00::5]:2222"
    assert host_key_identity("ssh-ed25519 AAAA root@x") == "ssh-ed25519 AAAA"
    assert host_key_identity(None) is None


# --- diff --------------------------------------------------------------------------------------


def outputs(**changes: Any) -> dict[str, Any]:
    """Old outputs as they come back from the engine: floats, computed keys, __provider."""
    inputs = checked({"address": "10.0.0.5", "ssh_private_key": KEY, "labels": {"a": "b"}})
    outs = {**inputs, "port": 22.0, "ready_timeout": 300.0, "__provider": "old-blob"}
    outs |= {"hostname": "node1", "cpus": 4.0, "host_key": HOST_KEY, "facts": {"cpus": 4.0}}
    return outs | changes


def news(**changes: Any) -> dict[str, Any]:
    inputs = checked({"address": "10.0.0.5", "ssh_private_key": KEY, "labels": {"a": "b"}})
    return {**inputs, "__provider": "new-blob"} | changes


def diff(olds: dict[str, Any], new: dict[str, Any]) -> tuple[bool | None, list[str]]:
    result = NodeProvider().diff("10.0.0.5:22", olds, new)
    assert result.delete_before_replace is False
    return result.changes, list(result.replaces or [])


def test_diff_no_change_ignores_provider_floats_and_computed_outputs() -> None:
    assert diff(outputs(), news()) == (False, [])


@pytest.mark.parametrize(
    ("name", "value"),
    [("address", "10.0.0.6"), ("port", 2222), ("docker_socket", "/run/docker.sock")],
)
def test_diff_replaces_when_the_host_changes(name: str, value: Any) -> None:
    assert diff(outputs(), news(**{name: value})) == (True, [name])


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("labels", {"a": "c"}),
        ("roles", ["worker"]),
        ("taints", [{"key": "k", "value": "", "effect": "NoExecute"}]),
        ("ssh_private_key", pem_key()),
        ("user", "ubuntu"),
        ("ready_timeout", 30),
        ("bastion", {"address": "1.2.3.4", "port": 22, "user": "root", "ssh_agent_auth": True}),
    ],
)
def test_diff_updates_any_other_input(name: str, value: Any) -> None:
    assert diff(outputs(), news(**{name: value})) == (True, [])


def test_diff_roles_order_does_not_matter() -> None:
    assert diff(outputs(roles=["worker", "etcd"]), news(roles=["etcd", "worker"])) == (False, [])


def test_diff_host_key_pinning() -> None:
    assert diff(outputs(), news()) == (False, [])  # unpinned: the recorded key stays enforced
    assert diff(outputs(), news(host_key=HOST_KEY + " comment")) == (False, [])
    assert diff(outputs(), news(host_key=host_key())) == (True, [])


def test_diff_with_unknowns() -> None:
    assert diff(outputs(), news(address=U)) == (True, ["address"])
    assert diff(outputs(), news(labels={"a": U})) == (True, [])
    found = diff_node(outputs(), news(port=U, host_key=U), is_unknown=lambda v: v is U)
    assert found.changes == ("port", "host_key") and found.replaces == ("port",)


def test_every_input_is_diffed() -> None:
    found = diff_node({}, {name: "x" for name in NODE_INPUTS}, is_unknown=lambda v: False)
    assert set(found.changes) == set(NODE_INPUTS)


# --- create, read, update, delete against a stand-in for the host --------------------------------


class Seen:
    """A test double for the host (no network): a NodeProvider whose observe answers with fixed
    facts and records every target it was asked to reach."""

    def __init__(self) -> None:
        self.targets: list[SSHTarget] = []
        self.provider = NodeProvider(observe=self.observe)

    def observe(
        self, target: SSHTarget, *, docker_socket: str, ready_timeout: float
    ) -> HostObservation:
        self.targets.append(target)
        facts = NodeFacts(hostname="node1", os="Debian 12", docker_version="27.5.1", cpus=2)
        return HostObservation(facts=facts, host_key=target.host_key or HOST_KEY, ssh_connections=1)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.provider, name)


@pytest.fixture
def seen() -> Seen:
    return Seen()


def test_create_returns_inputs_plus_facts(seen: Seen) -> None:
    inputs = checked({"address": "10.0.0.5", "ssh_private_key": KEY, "__provider": "blob"})
    created = seen.create({**inputs, "__provider": "blob"})
    assert created.id == "10.0.0.5:22"
    outs = created.outs or {}
    assert {k: outs[k] for k in inputs} == inputs
    assert outs["hostname"] == "node1" and outs["cpus"] == 2 and outs["host_key"] == HOST_KEY
    assert outs["facts"]["docker_version"] == "27.5.1" and outs["facts"]["containers"] == []
    assert "__provider" not in outs  # the SDK's server adds it back
    (target,) = seen.targets
    assert target.host_key is None  # trust on first use
    assert target.private_key is not None and target.private_key.reveal() == KEY


def test_update_enforces_the_recorded_key_unless_a_new_one_is_pinned(seen: Seen) -> None:
    olds = outputs()
    updated = seen.update("10.0.0.5:22", olds, news(labels={"a": "c"})).outs or {}
    assert updated["labels"] == {"a": "c"} and updated["hostname"] == "node1"
    assert set(olds) - {"__provider"} <= set(updated)  # full outputs, never a partial bag
    other = host_key()
    seen.update("10.0.0.5:22", olds, news(host_key=other))
    assert [t.host_key for t in seen.targets] == [HOST_KEY, other]


def test_read_enforces_the_recorded_key_and_returns_inputs(seen: Seen) -> None:
    result = seen.read("10.0.0.5:22", outputs())
    assert result.id == "10.0.0.5:22"
    assert seen.targets[0].host_key == HOST_KEY
    assert result.inputs is not None and "hostname" not in result.inputs
    assert result.inputs["labels"] == {"a": "b"} and result.outs is not None


def test_bastion_reaches_the_target(seen: Seen) -> None:
    inputs = checked(
        {
            "address": "10.0.0.5",
            "ssh_agent_auth": True,
            "bastion": {"address": "1.2.3.4", "user": "jump", "ssh_private_key": KEY},
        }
    )
    seen.create(inputs)
    bastion = seen.targets[0].bastion
    assert bastion is not None and bastion.user == "jump" and bastion.private_key is not None


def test_delete_touches_nothing(seen: Seen) -> None:
    assert seen.delete("10.0.0.5:22", outputs()) is None
    assert seen.targets == []


# --- secrets -----------------------------------------------------------------------------------


def test_secrets_never_reach_repr_str_or_messages() -> None:
    spec = NodeSpec.model_validate(
        {
            "address": "10.0.0.5",
            "ssh_private_key": SENTINEL,
            "ssh_key_passphrase": SENTINEL,
            "bastion": {"address": "h", "ssh_private_key": SENTINEL},
        }
    )
    assert SENTINEL not in repr(spec) and SENTINEL not in str(spec)
    assert SENTINEL not in spec.model_dump_json()
    with pytest.raises(ConfigError) as err:
        parse_node_inputs({"address": "x y", "ssh_private_key": [SENTINEL]})
    assert SENTINEL not in str(err.value)
    found = failures(
        {
            "address": "10.0.0.5",
            "ssh_private_key": SENTINEL,
            "ssh_key_passphrase": SENTINEL,
            "bastion": SENTINEL,
        }
    )
    found |= failures({"address": "h", "ssh_private_key": {"text": SENTINEL}})
    found |= failures({"address": "h", "ssh_private_key": KEY, "ssh_key_passphrase": [SENTINEL]})
    assert found and all(SENTINEL not in reason for reason in found.values())


def test_args_hide_secrets_from_repr() -> None:
    args = NodeArgs(
        address="h",
        ssh_private_key=SENTINEL,
        ssh_key_passphrase=SENTINEL,
        bastion=BastionArgs(address="b", ssh_private_key=SENTINEL, ssh_key_passphrase=SENTINEL),
    )
    assert SENTINEL not in repr(args) and SENTINEL not in str(args)


def test_the_target_keeps_secrets_wrapped(seen: Seen) -> None:
    seen.create(checked({"address": "h", "ssh_private_key": KEY, "ssh_key_passphrase": None}))
    assert KEY not in repr(seen.targets[0])


# --- pickling and the resource class -----------------------------------------------------------


def test_the_provider_pickles_by_reference_and_holds_nothing() -> None:
    blob = serialize_provider(NodeProvider())
    assert serialize_provider(NodeProvider()) == blob  # deterministic: no spurious diffs
    raw = base64.b64decode(blob)
    assert b"pulumi_pyrke.providers.node" in raw and b"NodeProvider" in raw and len(raw) < 200
    assert isinstance(dill.loads(raw), NodeProvider)
    assert NodeProvider.serialize_as_secret_always is False
    assert vars(NodeProvider()) == {"_observe": observe_host}  # a function, never a client


def test_node_under_mocks_has_its_type_secret_outputs_and_attributes() -> None:
    nodes: list[Node] = []

    def program() -> None:
        nodes.append(
            Node(
                "n1",
                NodeArgs(
                    address="10.0.0.5",
                    ssh_private_key=SENTINEL,
                    ssh_key_passphrase=pulumi.Output.from_input("pw"),
                    bastion=BastionArgs(address="1.2.3.4", ssh_private_key=SENTINEL),
                    labels={"a": "b"},
                ),
                pulumi.ResourceOptions(additional_secret_outputs=["labels"]),
            )
        )
        nodes.append(Node("n2", {"address": "10.0.0.6", "ssh_agent_auth": True}))

    by_name = {r.name: r for r in register(program)}
    first, second = by_name["n1"], by_name["n2"]
    assert first.type == second.type == "pulumi-python:dynamic/pyrke:Node"
    assert set(first.additional_secret_outputs) == {
        "labels",
        "ssh_private_key",
        "ssh_key_passphrase",
        "bastion",
    }
    for name in ("ssh_private_key", "ssh_key_passphrase", "bastion"):
        assert is_secret(first.object[name]), name
    assert not is_secret(first.object["__provider"])  # readable state: no credentials inside
    assert SENTINEL.encode() not in base64.b64decode(first.object["__provider"])
    assert "port" not in first.object and "hostname" not in first.object  # None: not sent
    assert second.object["address"] == "10.0.0.6" and second.object["ssh_agent_auth"] is True
    for attribute in ("address", "hostname", "host_key", "facts", "cpus", "memory_bytes"):
        assert isinstance(getattr(nodes[0], attribute), pulumi.Output)


def test_args_are_frozen_and_mappings_are_accepted() -> None:
    args = NodeArgs(address="h")
    with pytest.raises(AttributeError):
        args.address = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        Node("n", 42)  # type: ignore[arg-type]


def test_recorded_bastion_key_is_enforced_only_for_the_same_bastion(seen: Seen) -> None:
    def bastion_inputs(address: str) -> dict[str, Any]:
        return checked(
            {
                "address": "10.0.0.5",
                "ssh_private_key": KEY,
                "bastion": {"address": address, "ssh_private_key": KEY},
            }
        )

    olds = {
        **bastion_inputs("1.2.3.4"),
        "host_key": HOST_KEY,
        "bastion_host_key": "ssh-ed25519 OLD",
    }
    seen.update("10.0.0.5:22", olds, bastion_inputs("1.2.3.4"))
    seen.update("10.0.0.5:22", olds, bastion_inputs("5.6.7.8"))  # a new bastion: first use again
    pinned = [t.bastion.host_key if t.bastion else "-" for t in seen.targets]
    assert pinned == ["ssh-ed25519 OLD", None]
    seen.read("10.0.0.5:22", olds)
    assert seen.targets[-1].bastion is not None
    assert seen.targets[-1].bastion.host_key == "ssh-ed25519 OLD"


def test_bastion_mapping_is_masked_in_repr() -> None:
    args = NodeArgs(
        address="10.0.0.5", bastion={"address": "1.2.3.4", "ssh_private_key": "SENTINEL"}
    )
    assert "SENTINEL" not in repr(args)
