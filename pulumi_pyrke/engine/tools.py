"""Work done on a host by short-lived tool containers, as RKE did it with rke-tools.

Writing cluster files, reading their digests back and probing health endpoints all run inside
a ``docker run --rm`` of the tools image on the host itself: the SSH user needs only the
Docker socket (not root), nothing but Docker and its CLI must be installed on the host, and
no SSH forwarding is used (hardened sshd configurations turn it off). Secrets reach a tool
container on its stdin, never in its arguments or environment.
"""

from __future__ import annotations

import io
import posixpath
import shlex
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pulumi_pyrke.engine.ports import CommandResult, HostShell
from pulumi_pyrke.errors import TransportError

HOST_ROOT = "/host"
"""Where a tool container sees the host directories it was given."""

_OK = "pyrke-ok"


@dataclass(frozen=True, kw_only=True, slots=True)
class Probe:
    """One health endpoint to GET from the host; cert and key are container paths."""

    name: str
    url: str
    cert_path: str = ""
    key_path: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class ProbeResult:
    """What a probe got: curl's exit code (0: an answer came), the HTTP status, the body."""

    curl_exit: int
    status: int
    body: str = ""

    @property
    def healthy(self) -> bool:
        return self.curl_exit == 0 and self.status == 200

    def why(self) -> str:
        """In words, why the probe failed (curl's exit codes as curl documents them)."""
        if self.curl_exit == 7:
            return "connection refused"
        if self.curl_exit == 28:
            return "no answer in 5s"
        if self.curl_exit in (35, 53, 58, 59, 60, 77, 83, 90, 91):
            return f"TLS handshake failed (curl exit {self.curl_exit})"
        if self.curl_exit:
            return f"curl exit {self.curl_exit}"
        return f"HTTP {self.status}{': ' + self.body if self.body else ''}"


@dataclass(frozen=True, kw_only=True, slots=True)
class Tools:
    """The tool image on one host, reached through that host's shell and Docker CLI."""

    shell: HostShell
    host: str  # for messages
    image: str
    docker_socket: str = "/var/run/docker.sock"
    cert_mounts: tuple[str, ...] = ()  # host directories a probe needs (the certificates)
    timeout: float = 120.0  # the longest one tool container may take, unless a call says less

    def run(
        self,
        script: str,
        *,
        mounts: Iterable[str] = (),
        stdin: bytes | None = None,
        read_only: bool = True,
        timeout: float | None = None,
    ) -> CommandResult:
        """Run ``script`` (sh) in a tool container on the host network, each host directory
        of ``mounts`` seen under /host; returns what it printed."""
        # /tmp in memory: what a script keeps there (a key from stdin) never reaches a disk
        options = ["--rm", "--net=host", "--tmpfs", "/tmp:rw,mode=1777", "--entrypoint", "sh"]
        if stdin is not None:
            options.append("-i")
        suffix = ":ro" if read_only else ""
        for directory in sorted(set(mounts)):
            options += ["-v", f"{directory}:{HOST_ROOT}{directory}{suffix}"]
        command = " ".join(
            [
                "docker",
                "-H",
                shlex.quote("unix://" + self.docker_socket),
                "run",
                *(shlex.quote(o) for o in options),
                shlex.quote(self.image),
                "-c",
                shlex.quote(script),
            ]
        )
        return self.shell.run(
            command, stdin=stdin, timeout=min(timeout or self.timeout, self.timeout)
        )

    def digests(self, paths: Sequence[str], *, timeout: float | None = None) -> dict[str, str]:
        """sha256 of each host file in ``paths`` that exists ("sha256:<hex>"), by path."""
        if not paths:
            return {}
        quoted = " ".join(shlex.quote(HOST_ROOT + p) for p in paths)
        result = self.run(
            f'for f in {quoted}; do [ -f "$f" ] && sha256sum "$f"; done; echo {_OK}',
            mounts={posixpath.dirname(p) for p in paths if _exists_parent(p)},
            timeout=timeout,
        )
        self._need(result, "read the digests of the cluster files")
        found: dict[str, str] = {}
        for line in result.stdout.splitlines():
            digest, _, path = line.partition("  ")
            if path.startswith(HOST_ROOT):
                found[path[len(HOST_ROOT) :]] = "sha256:" + digest.strip()
        return found

    def write(
        self, files: Mapping[str, tuple[bytes, int]], *, timeout: float | None = None
    ) -> None:
        """Write host files (path -> content, mode), owned by root, from one tar stream. The
        stream is unpacked in the container's memory first, and each file then replaces its
        old self by a rename in its own directory: a cut stream never leaves half a file."""
        if not files:
            return
        stream = io.BytesIO()
        moves = []
        with tarfile.open(fileobj=stream, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            for index, (path, (content, mode)) in enumerate(sorted(files.items())):
                info = tarfile.TarInfo(name=f"{index}")
                info.size, info.mode, info.uid, info.gid = len(content), mode, 0, 0
                info.uname = info.gname = "root"
                tar.addfile(info, io.BytesIO(content))
                target = shlex.quote(HOST_ROOT + path)
                temporary = shlex.quote(f"{HOST_ROOT}{posixpath.dirname(path)}/.pyrke-{index}.tmp")
                moves.append(f"cp -p /tmp/stage/{index} {temporary} && mv -f {temporary} {target}")
        result = self.run(
            " && ".join(["mkdir /tmp/stage", "tar -x -f - -C /tmp/stage", *moves, f"echo {_OK}"]),
            mounts={posixpath.dirname(p) for p in files},
            stdin=stream.getvalue(),
            read_only=False,
            timeout=timeout,
        )
        self._need(result, f"write {len(files)} cluster file(s)")

    def read(self, path: str, *, timeout: float | None = None) -> bytes | None:
        """The content of one host file, or None when it does not exist."""
        inner = shlex.quote(HOST_ROOT + path)
        result = self.run(
            f"if [ -f {inner} ]; then echo {_OK}; cat {inner}; else echo absent; fi",
            mounts=[posixpath.dirname(path)],
            timeout=timeout,
        )
        if result.exit_code != 0:
            self._need(result, f"read {path}")
        head, _, body = result.stdout.partition("\n")
        return body.encode() if head == _OK else None

    def probe(
        self, checks: Sequence[Probe], *, timeout: float | None = None
    ) -> dict[str, ProbeResult]:
        """GET every probe's URL from the host (TLS unverified, as RKE's probes; a client
        certificate where the probe names one); one tool container for all of them."""
        lines = []
        for check in checks:
            cert = ""
            if check.cert_path:
                cert = f"--cert {shlex.quote(check.cert_path)} --key {shlex.quote(check.key_path)} "
            lines.append(
                f"code=$(curl -sk --max-time 5 {cert}-o /tmp/body -w '%{{http_code}}' "
                f"{shlex.quote(check.url)}); rc=$?; "
                f"echo \"{check.name} $rc $code $(head -c 300 /tmp/body 2>/dev/null | tr '\\n' ' ')\"; "
                "rm -f /tmp/body"
            )
        result = self.run(
            "; ".join([*lines, f"echo {_OK}"]), mounts=self.cert_mounts, timeout=timeout
        )
        self._need(result, "probe the health endpoints")
        found: dict[str, ProbeResult] = {}
        for line in result.stdout.splitlines():
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1].isdigit():
                code = int(parts[2]) if parts[2].isdigit() else 0
                body = parts[3].strip() if len(parts) > 3 else ""
                found[parts[0]] = ProbeResult(curl_exit=int(parts[1]), status=code, body=body)
        return found

    def _need(self, result: CommandResult, what: str) -> None:
        if result.exit_code != 0 or _OK not in result.stdout:
            # stderr only: stdout may be a file's content (the state holds the CA's key)
            said = " ".join(result.stderr.split())[-400:]
            raise TransportError(
                f"[files] host {self.host}: could not {what} with the tools image {self.image} "
                f"(exit {result.exit_code}: {said or 'no output'}). Check that the image is on "
                "the host (pyrke images load) and that Docker can run containers there."
            )


def _exists_parent(path: str) -> bool:
    return posixpath.dirname(path) not in ("", "/")
