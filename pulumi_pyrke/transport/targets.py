"""How to reach a node: the SSHTarget a node (cluster.yml's, a Node's or a Cluster's) makes,
with its keys, certificate, agent and bastion, and the host keys seen before."""

from __future__ import annotations

from typing import Protocol

from pulumi_pyrke.model.node import Bastion, NodeSpec
from pulumi_pyrke.transport.keys import read_certificate
from pulumi_pyrke.transport.known_hosts import KnownHosts
from pulumi_pyrke.transport.ssh import SSHTarget


def node_target(
    node: NodeSpec, bastion: Bastion | None, known: KnownHosts, *, path: str
) -> SSHTarget:
    """How to reach ``node`` as cluster.yml says (keys, certificate, agent, bastion)."""
    jump = _target(bastion, known, field="bastion_host") if bastion is not None else None
    return _target(node, known, field=path, bastion=jump)


def _target(
    entry: NodeSpec | Bastion,
    known: KnownHosts,
    *,
    field: str,
    bastion: SSHTarget | None = None,
) -> SSHTarget:
    agent = entry.ssh_agent_auth  # as RKE: with it, the agent's keys replace the key
    return SSHTarget(
        address=entry.address,
        port=entry.port,
        user=entry.user or "root",
        private_key=None if agent else entry.ssh_private_key,
        key_path=None if agent else entry.ssh_key_path,
        passphrase=entry.ssh_key_passphrase,
        use_agent=agent,
        certificate=read_certificate(entry.ssh_cert, entry.ssh_cert_path, field_prefix=f"{field}."),
        host_key=entry.host_key or known.get(entry.address, entry.port),
        bastion=bastion,
    )


class _Seen(Protocol):
    @property
    def host_key(self) -> str: ...

    @property
    def bastion_host_key(self) -> str | None: ...


def record_host_keys(
    known: KnownHosts, node: NodeSpec, bastion: Bastion | None, seen: _Seen
) -> None:
    """Record what a first contact saw: the node's host key and its bastion's (enforced on
    every later contact; a key recorded before is never replaced)."""
    known.record(node.address, node.port, seen.host_key)
    if bastion is not None and seen.bastion_host_key:
        known.record(bastion.address, bastion.port, seen.bastion_host_key)
