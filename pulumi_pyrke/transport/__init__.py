"""SSH and Docker-over-SSH transport and host fact gathering: the only users of paramiko and docker.

One paramiko connection per host, its key verified, reused for commands, files and the Docker
API (``SSHHost``, the adapter behind engine/ports.py);
foreign errors leave this package as ``pulumi_pyrke.errors`` types with a hint.
"""

from __future__ import annotations

from pulumi_pyrke.transport.docker_host import open_docker
from pulumi_pyrke.transport.host import SSHHost, open_host
from pulumi_pyrke.transport.keys import (
    HostKey,
    host_key_problem,
    key_problems,
    load_private_key,
    parse_host_key,
    read_certificate,
)
from pulumi_pyrke.transport.observe import (
    HostObservation,
    observe,
    observe_facts,
    observe_host,
    observe_session,
)
from pulumi_pyrke.transport.ssh import CommandResult, SSHSession, SSHTarget, connect

__all__ = [
    "CommandResult",
    "HostKey",
    "HostObservation",
    "SSHHost",
    "SSHSession",
    "SSHTarget",
    "connect",
    "host_key_problem",
    "key_problems",
    "load_private_key",
    "observe",
    "observe_facts",
    "observe_host",
    "observe_session",
    "open_docker",
    "open_host",
    "parse_host_key",
    "read_certificate",
]
