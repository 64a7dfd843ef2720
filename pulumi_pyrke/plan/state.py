"""What the last apply left behind, as the planner needs it: certificates, the secrets
encryption key and the etcd members. The equivalent of RKE's cluster.rkestate. Pure values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from pulumi_pyrke.errors import ConfigError, Problem
from pulumi_pyrke.model.node import Bastion, NodeSpec
from pulumi_pyrke.model.problems import problems_from
from pulumi_pyrke.model.secret import Secret
from pulumi_pyrke.pki import CertificateBundle


@dataclass(frozen=True, kw_only=True, slots=True)
class ClusterState:
    """The previous state of a cluster; empty for a cluster that does not exist yet."""

    certificates: CertificateBundle | None = None
    encryption_key: Secret | None = None
    # the key name is part of every encrypted record, so it must survive a takeover from RKE
    encryption_key_name: str = "key-pyrke"
    etcd_members: tuple[str, ...] = ()  # addresses of the hosts that ran etcd last time
    # the nodes last applied, with how to reach them: a node dropped from the config is
    # cleaned with these (RKE kept them in cluster.rkestate's rkeConfig too)
    nodes: tuple[NodeSpec, ...] = ()

    def to_dict(self, *, logins: bool = True) -> dict[str, Any]:
        """JSON-able form; holds private keys in clear, so callers store it as a secret.

        ``logins=False`` leaves the nodes' SSH keys and passphrases out: the copy kept on the
        cluster's own hosts must not hand whoever is root on one of them the keys to all."""
        return {
            "certificates": self.certificates.to_state() if self.certificates else None,
            "encryption_key": self.encryption_key.reveal() if self.encryption_key else None,
            "encryption_key_name": self.encryption_key_name,
            "etcd_members": list(self.etcd_members),
            "nodes": [node_to_dict(n, logins=logins) for n in self.nodes],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClusterState:
        """Read the form `to_dict` writes; raise ConfigError naming the bad field."""
        if not isinstance(data, Mapping):
            raise ConfigError([Problem(path="state", message="must be a mapping")])
        certs = data.get("certificates")
        key = data.get("encryption_key")
        members = data.get("etcd_members") or []
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise ConfigError(
                [Problem(path="state.etcd_members", message="must be a list of addresses")]
            )
        nodes = data.get("nodes") or []
        if not isinstance(nodes, list):
            raise ConfigError([Problem(path="state.nodes", message="must be a list of nodes")])
        name = data.get("encryption_key_name") or "key-pyrke"
        for field, value in (("encryption_key", key or ""), ("encryption_key_name", name)):
            if not isinstance(value, str):
                raise ConfigError([Problem(path=f"state.{field}", message="must be a string")])
        return cls(
            nodes=tuple(_node(n, i) for i, n in enumerate(nodes)),
            certificates=CertificateBundle.from_state(certs) if certs else None,
            encryption_key=Secret(key) if key else None,
            encryption_key_name=name,
            etcd_members=tuple(members),
        )


_SECRETS = {"ssh_private_key", "ssh_key_passphrase"}


def node_to_dict(node: NodeSpec, *, logins: bool = True) -> dict[str, Any]:
    """A node as the state keeps it: what is set, its key material in clear (the state is a
    secret) unless ``logins`` is False."""
    data = node.model_dump(exclude_defaults=True, exclude={*_SECRETS, "bastion"})
    data.update(_revealed(node) if logins else {})
    if node.bastion is not None:
        bastion = node.bastion.model_dump(exclude_defaults=True, exclude=_SECRETS)
        bastion.update(_revealed(node.bastion) if logins else {})
        data["bastion"] = bastion
    return data


def _revealed(model: NodeSpec | Bastion) -> dict[str, str]:
    return {n: v.reveal() for n in sorted(_SECRETS) if (v := getattr(model, n)) is not None}


def _node(data: Any, index: int) -> NodeSpec:
    try:
        return NodeSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            Problem(path=f"state.nodes[{index}].{p.path}".rstrip("."), message=p.message)
            for p in problems_from(exc, NodeSpec)
        ) from None
