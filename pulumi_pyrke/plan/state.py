"""What the last apply left behind, as the planner needs it: certificates, the secrets
encryption key and the etcd members. The equivalent of RKE's cluster.rkestate. Pure values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_pyrke.errors import ConfigError, Problem
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

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form; holds private keys in clear, so callers store it as a secret."""
        return {
            "certificates": self.certificates.to_state() if self.certificates else None,
            "encryption_key": self.encryption_key.reveal() if self.encryption_key else None,
            "encryption_key_name": self.encryption_key_name,
            "etcd_members": list(self.etcd_members),
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
        return cls(
            certificates=CertificateBundle.from_state(certs) if certs else None,
            encryption_key=Secret(str(key)) if key else None,
            encryption_key_name=str(data.get("encryption_key_name") or "key-pyrke"),
            etcd_members=tuple(members),
        )
