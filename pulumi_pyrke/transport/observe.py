"""Observe one host: verify its key, wait for its Docker, and gather its facts.

``observe`` works through the ports on a connection the caller holds (so a Node create and a
later converge can share one SSH login); ``observe_host`` opens that connection itself. This
is what a Node create/read does. It changes nothing on the host.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from pulumi_pyrke.deadline import Deadline, Retry, wait_until
from pulumi_pyrke.engine.ports import DockerHost, HostConnection
from pulumi_pyrke.errors import DeadlineExceeded, DockerError, DockerUnreachable
from pulumi_pyrke.model.facts import NodeFacts
from pulumi_pyrke.transport.facts import (
    SOCKET_MISSING,
    SOCKET_NO_ACCESS,
    HostProbe,
    build_node_facts,
    host_probe_command,
    parse_host_probe,
)
from pulumi_pyrke.transport.host import SSHHost, open_host
from pulumi_pyrke.transport.keys import parse_host_key
from pulumi_pyrke.transport.ssh import SSHSession, SSHTarget

log = logging.getLogger("pulumi_pyrke.transport")

Progress = Callable[[str], None]


@dataclass(frozen=True, kw_only=True, slots=True)
class HostObservation:
    """What one look at a host found, and what it cost."""

    facts: NodeFacts
    host_key: str  # "type base64" that the host presented, and that was enforced
    ssh_connections: int  # SSH logins made: 1, or 2 through a bastion
    bastion_host_key: str | None = None  # the bastion's key, when there is one


def observe_host(
    target: SSHTarget,
    *,
    docker_socket: str = "/var/run/docker.sock",
    ready_timeout: float = 300.0,
    log: Progress | None = None,
) -> HostObservation:
    """Connect to ``target`` and return its facts, waiting up to ``ready_timeout`` seconds
    for SSH and then Docker to answer (a fresh machine may still be booting)."""
    deadline = Deadline.after(ready_timeout)
    with open_host(target, deadline=deadline) as host:
        info = host.info
        _progress(log)(
            f"[ssh] connected to {target.label} (host key "
            f"{parse_host_key(info.host_key).fingerprint()}, {info.ssh_connections} SSH "
            f"connection{'s' if info.ssh_connections > 1 else ''})"
        )
        return observe(host, docker_socket=docker_socket, deadline=deadline, log=log)


def observe(
    host: HostConnection, *, docker_socket: str, deadline: Deadline, log: Progress | None = None
) -> HostObservation:
    """Observe the host behind an open connection, waiting for Docker until ``deadline``.
    The connection stays open for the caller."""
    info = host.info
    return HostObservation(
        facts=observe_facts(host, docker_socket=docker_socket, deadline=deadline, log=log),
        host_key=info.host_key,
        ssh_connections=info.ssh_connections,
        bastion_host_key=info.bastion_host_key,
    )


def observe_session(
    session: SSHSession, *, docker_socket: str, deadline: Deadline, log: Progress | None = None
) -> NodeFacts:
    """``observe_facts`` on an open SSH session (which stays open)."""
    return observe_facts(SSHHost(session), docker_socket=docker_socket, deadline=deadline, log=log)


def observe_facts(
    host: HostConnection, *, docker_socket: str, deadline: Deadline, log: Progress | None = None
) -> NodeFacts:
    """Gather the facts of the host behind ``host``, waiting for Docker until ``deadline``."""
    say = _progress(log)
    address = host.info.address

    def docker_ready() -> tuple[HostProbe, DockerHost]:
        result = host.run(host_probe_command(docker_socket), timeout=max(5.0, deadline.remaining()))
        probe = parse_host_probe(result.stdout)
        if probe.socket_state == SOCKET_NO_ACCESS:
            raise _socket_denied(address, docker_socket, probe)
        if probe.socket_state == SOCKET_MISSING:
            raise Retry(f"no Docker socket at {docker_socket} (dockerd is not running)")
        if not probe.docker_cli:
            raise Retry("the docker command is not installed")
        try:
            engine = host.docker(docker_socket, timeout=_call_timeout(deadline))
        except DockerUnreachable as exc:
            raise Retry(exc) from exc
        return probe, engine

    def waiting(attempt: int, retry: Retry) -> None:
        say(f"[docker] host {address}: waiting for Docker (attempt {attempt}): {retry.cause}")

    try:
        probe, engine = wait_until(
            docker_ready,
            deadline,
            what=f"[docker] host {address}: Docker did not answer",
            hint=(
                "Start Docker on the host (systemctl start docker), check docker_socket, "
                "or raise ready_timeout if Docker is still being installed."
            ),
            on_retry=waiting,
        )
    except DeadlineExceeded as exc:
        raise DockerError(str(exc)) from exc.__cause__
    try:
        facts = build_node_facts(
            probe, engine.engine_info(), engine.engine_version, engine.list_containers()
        )
    finally:
        engine.close()
    say(
        f"[docker] host {address}: {facts.hostname}, {facts.os}, kernel {facts.kernel}, "
        f"Docker {facts.docker_version} ({facts.cgroup_driver or 'unknown'} cgroups), "
        f"{facts.cpus} CPUs, {facts.memory_bytes // 2**20} MiB, {len(facts.containers)} containers"
    )
    return facts


def _call_timeout(deadline: Deadline) -> float:
    """How long one Docker API call may take: what is left of the deadline, within 5..120 s."""
    return max(5.0, min(120.0, deadline.remaining()))


def _socket_denied(host: str, socket_path: str, probe: HostProbe) -> DockerError:
    return DockerError(
        f"[docker] host {host}: user {probe.user!r} (groups: {', '.join(probe.groups) or 'none'}) "
        f"may not use the Docker socket {socket_path} ({probe.socket_owner}). Add the user to the "
        f"docker group (usermod -aG docker {probe.user}) and run again, or connect as root."
    )


def _progress(callback: Progress | None) -> Progress:
    def say(message: str) -> None:
        log.info("%s", message)
        if callback is not None:
            callback(message)

    return say
