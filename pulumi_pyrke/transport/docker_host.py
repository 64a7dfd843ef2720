"""The Docker Engine API of a host, spoken through that host's one SSH connection.

Each HTTP connection of the docker SDK becomes a channel of the existing paramiko
connection running ``docker -H unix://<socket> system dial-stdio``: no second SSH login, no
~/.ssh files read, and the node's own ``docker_socket`` is used.
"""

from __future__ import annotations

import shlex
from typing import Any

import docker
import requests
from docker.transport.basehttpadapter import BaseHTTPAdapter
from docker.transport.sshconn import SSHConnection, SSHConnectionPool
from urllib3._collections import RecentlyUsedContainer

from pulumi_pyrke.errors import DockerError, SSHError
from pulumi_pyrke.transport.ssh import SSHSession

# The oldest Docker RKE supported (1.13) speaks API 1.26; anything older is refused.
MIN_API_VERSION = "1.26"
MIN_DOCKER = "1.13"
# The newest API this client speaks; a newer Engine is asked for this one.
MAX_API_VERSION: str = docker.constants.DEFAULT_DOCKER_API_VERSION


class DockerUnreachable(DockerError):
    """The Engine did not answer (yet): worth waiting for, unlike a refusal."""


class _DialStdioConnection(SSHConnection):  # type: ignore[misc]
    """One HTTP connection = one SSH channel running ``docker system dial-stdio``."""

    def __init__(self, session: SSHSession, command: str, timeout: float) -> None:
        super().__init__(ssh_transport=None, timeout=timeout, host=session.target.address)
        self._session = session
        self._command = command

    def connect(self) -> None:
        self.sock = self._session.open_command(self._command, timeout=self.timeout)


class _DialStdioPool(SSHConnectionPool):  # type: ignore[misc]
    def __init__(self, session: SSHSession, command: str, timeout: float, maxsize: int) -> None:
        super().__init__(ssh_client=None, timeout=timeout, maxsize=maxsize)
        self._session = session
        self._command = command

    def _new_conn(self) -> _DialStdioConnection:
        return _DialStdioConnection(self._session, self._command, self.timeout)


class _SessionAdapter(BaseHTTPAdapter):  # type: ignore[misc]
    """A requests adapter whose connections are channels of one SSH session."""

    def __init__(self, session: SSHSession, socket_path: str, timeout: float, max_pool_size: int):
        self._session = session
        self._command = dial_stdio_command(socket_path)
        self._timeout = timeout
        self._max_pool_size = max_pool_size
        self.pools: RecentlyUsedContainer[str, _DialStdioPool] = RecentlyUsedContainer(
            4, dispose_func=lambda pool: pool.close()
        )
        super().__init__()

    def get_connection(self, url: str, proxies: Any = None) -> _DialStdioPool:
        with self.pools.lock:
            pool = self.pools.get(url)
            if pool is None:
                pool = _DialStdioPool(
                    self._session, self._command, self._timeout, self._max_pool_size
                )
                self.pools[url] = pool
        return pool


def dial_stdio_command(socket_path: str) -> str:
    """The host-side end of the Docker API tunnel (the docker CLI, 18.09 or newer)."""
    return f"docker -H {shlex.quote('unix://' + socket_path)} system dial-stdio"


def open_docker(
    session: SSHSession, socket_path: str, *, timeout: float = 120.0, max_pool_size: int = 8
) -> tuple[docker.DockerClient, dict[str, Any]]:
    """A DockerClient bound to ``session`` and the Engine's ``/version`` answer.

    The API version is negotiated: the Engine's own, capped at what this SDK speaks; an Engine
    older than Docker 1.13 raises ``DockerError``.
    """
    host = session.target.address
    api = docker.APIClient(
        base_url="http+unix://" + socket_path, version=MIN_API_VERSION, timeout=timeout
    )
    api.close()  # drop the local unix adapter the constructor made; it is never used
    adapter = _SessionAdapter(session, socket_path, timeout, max_pool_size)
    api._custom_adapter = adapter
    api.mount("http+docker://ssh", adapter)
    api.base_url = "http+docker://ssh"
    try:
        version: dict[str, Any] = api.version(api_version=False)
    except (requests.exceptions.RequestException, docker.errors.DockerException) as exc:
        api.close()
        raise _diagnose(session, socket_path) from exc
    try:
        api._version = negotiate_api_version(version, host=host)
    except DockerError:
        api.close()
        raise
    client = docker.DockerClient.__new__(docker.DockerClient)
    client.api = api
    return client, version


def _diagnose(session: SSHSession, socket_path: str) -> DockerError:
    """Why the tunnel failed, in the docker CLI's own words (it exits at once on stdin EOF)."""
    host = session.target.address
    try:
        result = session.run(dial_stdio_command(socket_path) + " </dev/null", timeout=10)
    except SSHError:
        return DockerUnreachable(f"the Docker Engine at {socket_path} did not answer in time")
    said = " ".join(result.stderr.split())[:300] or f"exit code {result.exit_code}"
    old_cli = ("not a docker command", "unknown command", "accepts no arguments")
    if any(sign in said for sign in old_cli):
        return DockerError(
            f"[docker] host {host}: the docker command on the host has no 'system dial-stdio' "
            f"({said}); it is older than 18.09. Install Docker 18.09 or newer on the host."
        )
    return DockerUnreachable(f"the Docker Engine at {socket_path} did not answer: {said}")


def negotiate_api_version(version: dict[str, Any], *, host: str) -> str:
    """The API version to speak with an Engine that answered ``/version`` with ``version``.

    The Engine's own, capped at what this SDK speaks; older than Docker 1.13 is refused.
    """
    server_api = str(version.get("ApiVersion", "0"))
    if _version_tuple(server_api) < _version_tuple(MIN_API_VERSION):
        raise DockerError(
            f"[docker] host {host}: Docker {version.get('Version', '?')} (API {server_api}) is too "
            f"old; pulumi_pyrke needs Docker {MIN_DOCKER} or newer (API {MIN_API_VERSION}). "
            "Upgrade Docker on the host, e.g. to 24.0."
        )
    return min(server_api, MAX_API_VERSION, key=_version_tuple)


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)
