"""Read RKE's cluster.rkestate, so a cluster built by `rke up` keeps its certificates, secrets
encryption key and etcd members when pulumi_pyrke takes it over. Pure: parses values only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from pulumi_pyrke.errors import ConfigError, PKIError, Problem
from pulumi_pyrke.model.secret import Secret
from pulumi_pyrke.model.yamldoc import parse_yaml
from pulumi_pyrke.pki import Certificate, CertificateBundle
from pulumi_pyrke.pki.kubeconfig import cert_path, key_path
from pulumi_pyrke.plan.state import ClusterState, node_to_dict

# user-provided external etcd client certificates come from cluster.yml, not from the bundle
_NOT_IN_BUNDLE = frozenset({"kube-etcd-client", "kube-etcd-client-ca"})


def is_rkestate(data: Mapping[str, Any]) -> bool:
    """Whether a parsed JSON document is RKE's state file (rather than pulumi_pyrke's)."""
    return "currentState" in data or "desiredState" in data


def state_from_rkestate(data: Mapping[str, Any]) -> ClusterState:
    """The ClusterState an RKE state file describes: what RKE last applied (currentState), or
    what it was about to apply (desiredState) if it never finished."""
    current = _mapping(data.get("currentState"), "state.currentState")
    desired = _mapping(data.get("desiredState"), "state.desiredState")
    has_current = current.get("certificatesBundle") or (
        current and not desired.get("certificatesBundle")
    )
    chosen = current if has_current else desired
    where = "state.currentState" if has_current else "state.desiredState"
    bundle = chosen.get("certificatesBundle") or {}
    if not isinstance(bundle, Mapping):
        raise PKIError("[certificates] RKE state: certificatesBundle must be a mapping")
    certificates = []
    for name, entry in sorted(bundle.items()):
        if name in _NOT_IN_BUNDLE or not isinstance(entry, Mapping):
            continue
        cert, key = entry.get("certificatePEM"), entry.get("keyPEM")
        if not cert or not key:
            raise PKIError(
                f"[certificates] RKE state: certificate {name} has no certificatePEM or keyPEM. "
                "Use the cluster.rkestate written by `rke up`, or `rke util get-state-file`."
            )
        certificates.append(
            Certificate.from_pem(name=name, cert_pem=str(cert), key_pem=Secret(str(key)))
        )
    config = _mapping(chosen.get("rkeConfig"), f"{where}.rkeConfig")
    nodes = config.get("nodes") or []
    if not isinstance(nodes, list):
        raise ConfigError([Problem(path=f"{where}.rkeConfig.nodes", message="must be a list")])
    members = tuple(
        str(node.get("address"))
        for node in nodes
        if isinstance(node, Mapping)
        and isinstance(node.get("role"), list)
        and "etcd" in node["role"]
    )
    key, key_name = _encryption_key(chosen.get("encryptionConfig"))
    known = ClusterState.from_dict({"nodes": chosen.get("pyrkeNodes") or []}).nodes
    return ClusterState(
        nodes=known,
        certificates=CertificateBundle(certificates=tuple(certificates)) if certificates else None,
        encryption_key=key,
        encryption_key_name=key_name or "key-pyrke",
        etcd_members=members,
    )


def _encryption_key(text: Any) -> tuple[Secret | None, str]:
    """The first aescbc key of RKE's stored EncryptionConfiguration, if encryption was on."""
    if not isinstance(text, str) or not text.strip():
        return None, ""
    try:
        doc = parse_yaml(text, source="encryptionConfig")
    except ConfigError as exc:
        raise PKIError(
            f"[certificates] RKE state: encryptionConfig is not valid YAML ({exc}); restore the "
            "state file"
        ) from None
    for resource in _items(_get(doc, "resources")):
        for provider in _items(_get(resource, "providers")):
            for key in _items(_get(_get(provider, "aescbc"), "keys")):
                if _get(key, "secret"):
                    return Secret(str(key["secret"])), str(_get(key, "name") or "")
    return None, ""


def rkestate_from_state(
    state: ClusterState, nodes: Iterable[tuple[str, Iterable[str]]]
) -> dict[str, Any]:
    """RKE's cluster.rkestate for ``state`` (the certificates, the encryption key, the nodes as
    ``(address, roles)``), so `pyrke plan --state` and RKE's own tooling read what pyrke applied.
    Holds private keys in clear: callers write it with mode 0600."""
    bundle = {
        cert.name: {
            "name": cert.name,
            "certificatePEM": cert.cert_pem,
            "keyPEM": cert.key_pem.reveal(),
            "commonName": cert.common_name,
            "ouName": cert.organization,
            "path": cert_path(cert.name),
            "keyPath": key_path(cert.name),
        }
        for cert in (state.certificates or ())
    }
    current: dict[str, Any] = {
        "rkeConfig": {"nodes": [{"address": a, "role": sorted(r)} for a, r in nodes]},
        "certificatesBundle": bundle,
        # how to reach each node, for cleaning one that leaves the config (pyrke's own key)
        "pyrkeNodes": [node_to_dict(n) for n in state.nodes],
    }
    if state.encryption_key is not None:
        current["encryptionConfig"] = yaml.safe_dump(
            {
                "apiVersion": "apiserver.config.k8s.io/v1",
                "kind": "EncryptionConfiguration",
                "resources": [
                    {
                        "resources": ["secrets"],
                        "providers": [
                            {
                                "aescbc": {
                                    "keys": [
                                        {
                                            "name": state.encryption_key_name,
                                            "secret": state.encryption_key.reveal(),
                                        }
                                    ]
                                }
                            },
                            {"identity": {}},
                        ],
                    }
                ],
            },
            sort_keys=False,
        )
    return {"desiredState": current, "currentState": current}


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError([Problem(path=path, message="must be a JSON object")])
    return value


def _get(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, Mapping) else None


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
