"""The HostConnection port over one SSH session: commands, files and Docker on one login.

Files travel as the stdin of a shell command (``cat`` into a temporary file beside the
target, size checked, mode and owner set, then renamed over it): that works on a stock sshd
without an sftp subsystem or forwarding, and costs one channel per file.
"""

from __future__ import annotations

import posixpath
import shlex
from types import TracebackType

from pulumi_pyrke.deadline import Deadline
from pulumi_pyrke.engine.ports import (
    DEFAULT_READ_LIMIT,
    CommandResult,
    ConnectionInfo,
    DockerHost,
    HostConnection,
    check_file_path,
    file_too_large,
)
from pulumi_pyrke.errors import TransportError
from pulumi_pyrke.transport.containers import SSHDocker
from pulumi_pyrke.transport.docker_host import open_docker
from pulumi_pyrke.transport.ssh import SSHSession, SSHTarget, connect

# read_file's command says this on stderr (and exits 44) when there is no such file
_NO_FILE = "pyrke:no-such-file"
_NO_FILE_EXIT = 44


class SSHHost:
    """A ``HostConnection`` on an open ``SSHSession``. Closing it closes the session."""

    def __init__(self, session: SSHSession) -> None:
        self.session = session
        self._engines: list[SSHDocker] = []

    @property
    def address(self) -> str:
        return self.session.target.address

    @property
    def info(self) -> ConnectionInfo:
        jump = self.session.jump
        return ConnectionInfo(
            address=self.address,
            host_key=self.session.host_key.line(),
            ssh_connections=self.session.connections,
            bastion_host_key=jump.host_key.line() if jump is not None else None,
        )

    def run(
        self, command: str, *, stdin: bytes | None = None, timeout: float = 120.0
    ) -> CommandResult:
        return self.session.run(command, stdin=stdin, timeout=timeout)

    def put_file(
        self,
        path: str,
        content: bytes,
        *,
        mode: int = 0o600,
        owner: str | None = None,
        timeout: float = 300.0,
    ) -> None:
        check_file_path(self.address, path)
        command = put_file_command(path, size=len(content), mode=mode, owner=owner)
        code, _, stderr = self.session.exec(command, stdin=bytes(content), timeout=timeout)
        if code != 0:
            said = " ".join(stderr.decode(errors="replace").split())[:300]
            raise TransportError(
                f"[files] host {self.address}: cannot write {path}: {said or f'exit {code}'}. "
                f"Check that user {self.session.target.user!r} may write to "
                f"{posixpath.dirname(path)} (or connect as root), that the owner exists and "
                "that the disk has room."
            )

    def read_file(self, path: str, *, max_bytes: int = DEFAULT_READ_LIMIT) -> bytes | None:
        check_file_path(self.address, path)
        code, stdout, stderr = self.session.exec(read_file_command(path, max_bytes), timeout=120)
        said = stderr.decode(errors="replace")
        if code == _NO_FILE_EXIT and _NO_FILE in said:
            return None
        if code != 0:
            raise TransportError(
                f"[files] host {self.address}: cannot read {path}: "
                f"{' '.join(said.split())[:300] or f'exit {code}'}. Check that user "
                f"{self.session.target.user!r} may read it (or connect as root)."
            )
        if len(stdout) > max_bytes:
            raise file_too_large(self.address, path, max_bytes)
        return stdout

    def docker(
        self, socket_path: str = "/var/run/docker.sock", *, timeout: float = 120.0
    ) -> DockerHost:
        client, version = open_docker(self.session, socket_path, timeout=timeout)
        engine = SSHDocker(client, version, host=self.address)
        self._engines.append(engine)
        return engine

    def close(self) -> None:
        for engine in self._engines:
            engine.close()
        self._engines.clear()
        self.session.close()

    def __enter__(self) -> SSHHost:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_host(target: SSHTarget, *, deadline: Deadline) -> SSHHost:
    """Connect to ``target`` (waiting until ``deadline`` while it boots) as a HostConnection."""
    return SSHHost(connect(target, deadline=deadline))


def put_file_command(path: str, *, size: int, mode: int, owner: str | None) -> str:
    """The shell side of ``put_file``: stdin into a temporary file beside ``path``, its size
    checked (a cut connection must not leave half a file), mode and owner set, then renamed."""
    directory = posixpath.dirname(path)
    template = posixpath.join(directory, f".{posixpath.basename(path)}.pyrke-XXXXXX")
    steps = [
        "set -e",
        f"mkdir -p -- {shlex.quote(directory)}",
        f"t=$(mktemp -- {shlex.quote(template)})",
        "trap 'rm -f -- \"$t\"' EXIT",
        'cat > "$t"',
        'n=$(wc -c < "$t")',
        f'[ "$n" -eq {size} ] || {{ echo "received $n of {size} bytes" >&2; exit 3; }}',
        f'chmod {mode & 0o7777:o} "$t"',
    ]
    if owner:
        steps.append(f'chown -- {shlex.quote(owner)} "$t"')
    steps += [f'mv -f -- "$t" {shlex.quote(path)}', "trap - EXIT"]
    return "; ".join(steps)


def read_file_command(path: str, max_bytes: int) -> str:
    """The shell side of ``read_file``: at most one byte more than allowed, to tell "too big"."""
    quoted = shlex.quote(path)
    return (
        f"if [ ! -e {quoted} ]; then echo {_NO_FILE} >&2; exit {_NO_FILE_EXIT}; fi; "
        f"exec head -c {max_bytes + 1} -- {quoted}"
    )


def _conforms(host: SSHHost, engine: SSHDocker) -> tuple[HostConnection, DockerHost]:
    """Never called: mypy checks here that the adapter satisfies the ports."""
    return host, engine
