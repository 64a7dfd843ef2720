"""Ports: what the engine needs from a host, as small Protocols, and the values crossing them.

The real adapter (transport/: paramiko + the docker SDK over one SSH connection) and the
in-memory test double (engine/fake.py) both satisfy these. Imports no I/O library and nothing
from transport/; the errors an implementation raises are pulumi_pyrke.errors types.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from pulumi_pyrke.errors import TransportError
from pulumi_pyrke.model.facts import ContainerFacts
from pulumi_pyrke.model.plan import ContainerSpec
from pulumi_pyrke.model.secret import Secret

# read_file refuses more than this unless asked for more: files the engine reads back are
# certificates, kubeconfigs and state, all far smaller.
DEFAULT_READ_LIMIT = 4 * 2**20


@dataclass(frozen=True, kw_only=True, slots=True)
class CommandResult:
    """What a command printed and how it exited."""

    command: str
    exit_code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


@dataclass(frozen=True, kw_only=True, slots=True)
class RegistryAuth:
    """Credentials for one registry, handed to Docker for a pull and never logged."""

    server: str
    username: str
    password: Secret


@dataclass(frozen=True, kw_only=True, slots=True)
class ContainerState:
    """One container as Docker's inspect reports it: what the engine compares with its spec.

    ``env`` may hold secrets (a host's containers are not ours alone), so it stays out of repr.
    ``started_at`` is Docker's timestamp text; ``""`` when it never started.
    """

    id: str
    name: str
    image: str  # as asked for at create (Config.Image), e.g. "rancher/hyperkube:v1.28.15"
    image_id: str  # sha256:... of the image it runs
    entrypoint: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    env: tuple[str, ...] = field(default=(), repr=False)  # NAME=value
    binds: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()  # sorted
    network_mode: str = ""
    pid_mode: str = ""
    privileged: bool = False
    restart_policy: str = ""
    user: str = ""
    volumes_from: tuple[str, ...] = ()
    status: str = "created"  # created, running, exited, ...
    running: bool = False
    exit_code: int = 0
    started_at: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class ConnectionInfo:
    """Who answered at the other end of an open host connection, and what it cost."""

    address: str
    host_key: str  # "type base64" that the host presented and that was enforced
    ssh_connections: int  # SSH logins made: 1, or 2 through a bastion
    bastion_host_key: str | None = None


Progress = Callable[[int], None]  # bytes sent so far


class HostShell(Protocol):
    """Commands on a host."""

    def run(
        self, command: str, *, stdin: bytes | None = None, timeout: float = 120.0
    ) -> CommandResult:
        """Run ``command`` with ``sh -c`` semantics; a non-zero exit is a result, not an error.

        Raises ``TransportError`` when the command cannot be started or does not finish in
        ``timeout`` seconds."""
        ...


class HostFiles(Protocol):
    """Files on a host."""

    def put_file(
        self,
        path: str,
        content: bytes,
        *,
        mode: int = 0o600,
        owner: str | None = None,
        timeout: float = 300.0,
    ) -> None:
        """Write ``content`` to the absolute ``path``: parent directories are created, and a
        temporary file beside it is renamed over ``path`` only once complete, so a reader
        sees the old file or the new one, never a part. ``owner`` is ``user[:group]``."""
        ...

    def read_file(self, path: str, *, max_bytes: int = DEFAULT_READ_LIMIT) -> bytes | None:
        """The content of ``path``, or None when there is no such file; more than
        ``max_bytes`` raises ``TransportError``."""
        ...


class HostContainers(Protocol):
    """Containers of one Docker Engine. Names are the handles (RKE names every container)."""

    def inspect_container(self, name: str) -> ContainerState | None:
        """The container called ``name``, or None when there is none."""
        ...

    def list_containers(
        self, *, labels: Mapping[str, str] | None = None
    ) -> tuple[ContainerFacts, ...]:
        """Every container (running or not) carrying all of ``labels``, sorted by name."""
        ...

    def create_container(self, spec: ContainerSpec) -> str:
        """Create (not start) the container ``spec`` describes; return its id. A name taken
        already raises ``DockerError``."""
        ...

    def start_container(self, name: str) -> None:
        """Start it; a running container stays as it is."""
        ...

    def stop_container(self, name: str, *, timeout: float = 10.0) -> None:
        """Stop it (SIGTERM, then SIGKILL after ``timeout`` seconds); a stopped one stays."""
        ...

    def remove_container(self, name: str, *, force: bool = False) -> bool:
        """Remove it with its anonymous volumes; False when there was none to remove."""
        ...

    def rename_container(self, name: str, new_name: str) -> None:
        """Give the container ``name`` the name ``new_name``."""
        ...

    def container_logs(self, name: str, *, tail: int = 50) -> str:
        """The last ``tail`` lines the container wrote (stdout and stderr)."""
        ...


class HostImages(Protocol):
    """Images of one Docker Engine."""

    def has_image(self, image: str) -> bool:
        """Whether the Engine holds ``image`` (a name or an id)."""
        ...

    def pull_image(self, image: str, *, auth: RegistryAuth | None = None) -> None:
        """Pull ``image`` from its registry, with ``auth`` if given (and no other)."""
        ...

    def load_image(
        self, chunks: Iterable[bytes], *, progress: Progress | None = None
    ) -> tuple[str, ...]:
        """Load a ``docker save`` tar stream; return the image names it held.
        ``progress`` is called with the bytes sent so far as the stream goes out."""
        ...


class DockerHost(HostContainers, HostImages, Protocol):
    """The Docker Engine of a host: containers and images, plus what the Engine says of itself."""

    @property
    def engine_version(self) -> Mapping[str, Any]:
        """The Engine's ``/version`` answer, read when it was opened."""
        ...

    def engine_info(self) -> Mapping[str, Any]:
        """The Engine's ``/info`` answer."""
        ...

    def close(self) -> None:
        """Release what this handle holds (its channels); the host connection stays open."""
        ...


class HostConnection(HostShell, HostFiles, Protocol):
    """One open connection to a host: its shell and files, and its Docker through the same
    connection, so observing a host and converging it cost one login."""

    @property
    def info(self) -> ConnectionInfo:
        """Which host answered and with which key."""
        ...

    def docker(
        self, socket_path: str = "/var/run/docker.sock", *, timeout: float = 120.0
    ) -> DockerHost:
        """The Docker Engine at ``socket_path`` on this host, its API version negotiated.

        Raises ``DockerUnreachable`` while the Engine does not answer (worth waiting for) and
        ``DockerError`` when it refuses or is too old (final)."""
        ...

    def close(self) -> None:
        """Close the connection (and its Docker handles)."""
        ...


# -- checks every implementation makes, so that the real adapter and the fake refuse alike --


def check_file_path(host: str, path: str) -> None:
    """Refuse what is not an absolute path to a file (``TransportError``), before any I/O."""
    if not path.startswith("/") or "\x00" in path or path.endswith("/"):
        raise TransportError(
            f"[files] host {host}: {path!r} is not an absolute file path. Give the full path."
        )


def file_too_large(host: str, path: str, max_bytes: int) -> TransportError:
    """The refusal of a file read beyond its bound."""
    return TransportError(
        f"[files] host {host}: {path} is larger than {max_bytes} bytes; refusing to read it. "
        "Raise max_bytes if the file is meant to be that large."
    )
