"""Previous state: pulumi_pyrke's own form and RKE's cluster.rkestate, round trips and takeover."""

from __future__ import annotations

import pytest

from pulumi_pyrke.errors import ConfigError, PKIError
from pulumi_pyrke.model import Secret, parse_cluster_config
from pulumi_pyrke.plan import ClusterState, plan_cluster, plan_cluster_with_pki
from pulumi_pyrke.plan.rkestate import is_rkestate, state_from_rkestate

ONE = {
    "nodes": [{"address": "10.0.0.1", "user": "root", "role": ["etcd", "controlplane", "worker"]}]
}
ENCRYPTED = dict(ONE, services={"kube-api": {"secrets_encryption_config": {"enabled": True}}})
RKE_ENCRYPTION = """
apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: [secrets]
  providers:
  - aescbc:
      keys:
      - name: key-3f9a1
        secret: c2VjcmV0LWtleS1ieXRlcy0xMjM0NTY3OA==
  - identity: {}
"""


def test_fresh_plan_with_pki_creates_every_certificate() -> None:
    config = parse_cluster_config(ONE).config
    plan, result = plan_cluster_with_pki(config)
    assert {c.action for c in plan.certificates} == {"create"}
    assert all(f.digest for f in plan.nodes[0].files), "every file is known once the PKI exists"
    again, second = plan_cluster_with_pki(config, state=ClusterState(certificates=result.bundle))
    assert {c.action for c in again.certificates} == {"keep"}
    assert second.bundle == result.bundle
    assert again.nodes == plan.nodes


def test_state_round_trip_keeps_secrets_out_of_repr() -> None:
    config = parse_cluster_config(ONE).config
    _, result = plan_cluster_with_pki(config)
    state = ClusterState(
        certificates=result.bundle,
        encryption_key=Secret("a2V5"),
        encryption_key_name="key-abc",
        etcd_members=("10.0.0.1",),
    )
    assert ClusterState.from_dict(state.to_dict()) == state
    assert "PRIVATE" not in repr(state) and "a2V5" not in repr(state)


def test_state_from_dict_rejects_bad_members() -> None:
    with pytest.raises(ConfigError, match=r"state\.etcd_members"):
        ClusterState.from_dict({"etcd_members": "10.0.0.1"})


def test_rke_encryption_key_and_name_survive_takeover() -> None:
    data = {"currentState": {"rkeConfig": ONE, "encryptionConfig": RKE_ENCRYPTION}}
    assert is_rkestate(data)
    state = state_from_rkestate(data)
    assert state.encryption_key is not None and state.encryption_key_name == "key-3f9a1"
    assert state.etcd_members == ("10.0.0.1",)
    plan = plan_cluster(parse_cluster_config(ENCRYPTED).config, state=state)
    enc = next(f for f in plan.nodes[0].files if f.path.endswith("encryption.yaml"))
    assert enc.content is not None and "key-3f9a1" in enc.content.reveal()  # type: ignore[union-attr]
    assert "c2VjcmV0" not in str(enc) and "c2VjcmV0" not in repr(plan)
    unknown = plan_cluster(parse_cluster_config(ENCRYPTED).config)
    enc = next(f for f in unknown.nodes[0].files if f.path.endswith("encryption.yaml"))
    assert enc.digest is None, "the key is made at apply time; the plan cannot know it"


def test_rke_state_without_certificates_falls_back_to_desired() -> None:
    state = state_from_rkestate({"desiredState": {"rkeConfig": ONE}, "currentState": {}})
    assert state.certificates is None and state.etcd_members == ("10.0.0.1",)


def test_rke_state_with_bad_encryption_config() -> None:
    with pytest.raises(PKIError, match="encryptionConfig"):
        state_from_rkestate({"currentState": {"encryptionConfig": "a: [b"}})


def test_pyrke_writes_the_rkestate_it_reads() -> None:
    """`pyrke up` leaves RKE's file shape behind; reading it back gives the same state."""
    from pulumi_pyrke.model import parse_cluster_config
    from pulumi_pyrke.model.secret import Secret
    from pulumi_pyrke.plan import ClusterState, plan_cluster_with_pki
    from pulumi_pyrke.plan.rkestate import is_rkestate, rkestate_from_state, state_from_rkestate

    config = parse_cluster_config(
        {"nodes": [{"address": "10.0.0.1", "user": "root", "role": ["etcd", "controlplane"]}]}
    ).config
    _, bundle = plan_cluster_with_pki(config)
    state = ClusterState(
        certificates=bundle.bundle,
        encryption_key=Secret("c2VjcmV0LWtleS0zMi1ieXRlcy1sb25nLXh4eHg="),
        encryption_key_name="key-1",
        etcd_members=("10.0.0.1",),
    )
    written = rkestate_from_state(state, [("10.0.0.1", ["etcd", "controlplane"])])
    assert is_rkestate(written)
    back = state_from_rkestate(written)
    assert back.to_dict() == state.to_dict()
