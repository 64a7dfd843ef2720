"""The Docker Engine API of a host, spoken through that host's one SSH connection.

Each HTTP connection of the docker SDK becomes a channel of the existing paramiko
connection running ``docker -H unix://<socket> system dial-stdio``: no second SSH login, no
~/.ssh files read, and the node's own ``docker_socket`` is used. Only the SDK's public API
is used; the one thing it lacks is said and worked around in ``_SessionAdapter``.
"""

from __future__ import annotations

import shlex
import threading
from collections.abc import Mapping
from typing import Any

import docker
import requests
import requests.adapters
import urllib3
import urllib3.connection

from pulumi_pyrke.errors import DockerError, DockerUnreachable, SSHError
from pulumi_pyrke.transport.ssh import SSHSession

# The oldest Docker RKE supported (1.13) speaks API 1.26; anything older is refused.
MIN_API_VERSION = "1.26"
MIN_DOCKER = "1.13"
# The newest API this client speaks; a newer Engine is asked for this one.
MAX_API_VERSION: str = docker.constants.DEFAULT_DOCKER_API_VERSION
# The scheme prefix under which the SDK's APIClient routes every request to its adapter.
_ROUTE = "http+docker://"
_VERSION_URL = _ROUTE + "localhost/version"

__all__ = [
    "MAX_API_VERSION",
    "MIN_API_VERSION",
    "DockerUnreachable",
    "dial_stdio_command",
    "negotiate_api_version",
    "open_docker",
]


class _DialStdioConnection(urllib3.connection.HTTPConnection):
    """One HTTP connection = one SSH channel running ``docker system dial-stdio``."""

    def __init__(
        self,
        *args: Any,
        ssh_session: SSHSession,
        dial_command: str,
        channel_timeout: float,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._ssh_session = ssh_session
        self._dial_command = dial_command
        self._channel_timeout = channel_timeout

    def connect(self) -> None:
        # http.client's hook: the "socket" is a paramiko channel, which speaks the same API
        self.sock = self._ssh_session.open_command(
            self._dial_command, timeout=self._channel_timeout
        )


class _DialStdioPool(urllib3.HTTPConnectionPool):
    """Channels kept open between requests; extra keyword arguments reach each connection."""

    ConnectionCls = _DialStdioConnection


class _SessionAdapter(requests.adapters.HTTPAdapter):
    """A requests adapter whose connections are channels of one SSH session.

    The docker SDK lacks this: its ssh:// transport makes its own paramiko login (reading
    ~/.ssh/config and ~/.ssh/known_hosts) or shells out to ``ssh``, and cannot use a
    connection we hold and whose host key we verified. The workaround, all of it here: the
    SDK's APIClient is a ``requests.Session``, so ``open_docker`` mounts this adapter on it
    with the public ``Session.mount``. Streams that need the raw socket (attach, exec with
    ``socket=True``) are not supported over it, and the ports do not offer them.
    """

    def __init__(
        self, session: SSHSession, socket_path: str, timeout: float, max_pool_size: int
    ) -> None:
        super().__init__(pool_connections=1, pool_maxsize=max_pool_size)
        self._pool = _DialStdioPool(
            "localhost",
            maxsize=max_pool_size,
            timeout=timeout,
            ssh_session=session,
            dial_command=dial_stdio_command(socket_path),
            channel_timeout=timeout,
        )
        self._lock = threading.Lock()

    def get_connection_with_tls_context(
        self,
        request: requests.PreparedRequest,
        verify: bool | str | None,
        proxies: Mapping[str, str] | None = None,
        cert: Any = None,
    ) -> urllib3.HTTPConnectionPool:
        return self._pool

    def get_connection(
        self, url: str | bytes, proxies: Mapping[str, str] | None = None
    ) -> urllib3.HTTPConnectionPool:
        return self._pool  # requests before 2.32.2 asks here

    def close(self) -> None:
        super().close()
        with self._lock:
            self._pool.close()


def dial_stdio_command(socket_path: str) -> str:
    """The host-side end of the Docker API tunnel (the docker CLI, 18.09 or newer)."""
    return f"docker -H {shlex.quote('unix://' + socket_path)} system dial-stdio"


def open_docker(
    session: SSHSession, socket_path: str, *, timeout: float = 120.0, max_pool_size: int = 8
) -> tuple[docker.DockerClient, dict[str, Any]]:
    """A DockerClient bound to ``session`` and the Engine's ``/version`` answer.

    The API version is negotiated: the Engine's own, capped at what this SDK speaks; an Engine
    older than Docker 1.13 raises ``DockerError``, one that does not answer
    ``DockerUnreachable``.
    """
    host = session.target.address
    adapter = _SessionAdapter(session, socket_path, timeout, max_pool_size)
    try:
        # /version is the one call that needs no API version: ask it on the adapter itself
        answer = adapter.send(requests.Request("GET", _VERSION_URL).prepare(), timeout=timeout)
        answer.raise_for_status()
        version: dict[str, Any] = answer.json()
        api_version = negotiate_api_version(version, host=host)
    except DockerError:
        adapter.close()
        raise
    except (requests.exceptions.RequestException, ValueError) as exc:
        adapter.close()
        raise _diagnose(session, socket_path) from exc
    # The socket path only satisfies the constructor (it opens nothing with a version given);
    # mounting our adapter on the same route replaces the unix-socket one before any use.
    client = docker.DockerClient(
        base_url="unix://" + socket_path,
        version=api_version,
        timeout=timeout,
        max_pool_size=max_pool_size,
    )
    client.api.mount(_ROUTE, adapter)
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
