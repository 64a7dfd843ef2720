"""Test double: an in-memory host behind the ports (engine/ports.py), for unit tests.

``FakeHost`` is a ``HostConnection``; ``FakeDocker`` a ``DockerHost``. They keep files,
containers and images in dictionaries and answer as the real adapter does on a real node
(tests/test_ports_contract.py runs the same calls against both). Commands cannot run here:
a test scripts their answers with ``FakeHost.on``; an unscripted one exits 127 as sh does.
Never used outside tests.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import posixpath
import tarfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pulumi_pyrke.engine.ports import (
    DEFAULT_READ_LIMIT,
    CommandResult,
    ConnectionInfo,
    ContainerState,
    DockerHost,
    HostConnection,
    Progress,
    RegistryAuth,
    check_file_path,
    file_too_large,
)
from pulumi_pyrke.errors import DockerError, DockerUnreachable, SSHError, TransportError
from pulumi_pyrke.model.facts import ContainerFacts
from pulumi_pyrke.model.plan import ContainerSpec
from pulumi_pyrke.model.secret import reveal

Handler = Callable[[bytes | None], tuple[int, str, str]]  # stdin -> exit code, stdout, stderr

FAKE_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFake"


@dataclass(frozen=True, kw_only=True, slots=True)
class FakeFile:
    """A file the fake host holds."""

    content: bytes
    mode: int
    owner: str  # user:group


def normalize_image(image: str) -> str:
    """``busybox`` -> ``busybox:latest``, as Docker names an image without a tag."""
    last = image.rsplit("/", 1)[-1]
    return image if ":" in last or "@" in last else f"{image}:latest"


@dataclass
class FakeDocker:
    """A Docker Engine in memory. ``registry`` holds what ``pull_image`` can fetch (name -> id);
    ``output`` what a container prints once started (name -> text); ``exit_codes`` how it ends
    when stopped (default 0)."""

    host: str = "fake-host"
    version: dict[str, Any] = field(
        default_factory=lambda: {"Version": "20.10.24", "ApiVersion": "1.41", "Os": "linux"}
    )
    info: dict[str, Any] = field(
        default_factory=lambda: {
            "Name": "fake-host",
            "DockerRootDir": "/var/lib/docker",
            "CgroupDriver": "cgroupfs",
            "OSType": "linux",
            "NCPU": 2,
            "MemTotal": 2**31,
        }
    )
    images: dict[str, str] = field(default_factory=dict)  # name:tag -> sha256:id
    image_configs: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> its config
    registry: dict[str, str] = field(default_factory=dict)
    containers: dict[str, ContainerState] = field(default_factory=dict)
    output: dict[str, str] = field(default_factory=dict)
    exit_codes: dict[str, int] = field(default_factory=dict)
    pulls: list[tuple[str, RegistryAuth | None]] = field(default_factory=list)
    closed: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1), repr=False)
    _clock: Iterator[int] = field(default_factory=lambda: itertools.count(1), repr=False)

    # -- DockerHost --------------------------------------------------------------------------
    @property
    def engine_version(self) -> Mapping[str, Any]:
        return self.version

    def engine_info(self) -> Mapping[str, Any]:
        return dict(self.info)

    def close(self) -> None:
        self.closed = True

    def has_image(self, image: str) -> bool:
        with self._lock:
            return normalize_image(image) in self.images or image in self.images.values()

    def pull_image(self, image: str, *, auth: RegistryAuth | None = None) -> None:
        name = normalize_image(image)
        with self._lock:
            self.pulls.append((name, auth))
            if name not in self.registry:
                raise DockerError(
                    f"[docker] host {self.host}: cannot pull image {image}: not found in its "
                    "registry. Check the image name, the registry and its credentials "
                    "(private_registries), then run again."
                )
            self.images[name] = self.registry[name]

    def load_image(
        self, chunks: Iterable[bytes], *, progress: Progress | None = None
    ) -> tuple[str, ...]:
        buffer = io.BytesIO()
        for chunk in chunks:
            buffer.write(chunk)
            if progress is not None:
                progress(buffer.tell())
        buffer.seek(0)
        try:
            with tarfile.open(fileobj=buffer, mode="r:") as tar:
                manifest = _tar_json(tar, "manifest.json")
                configs = {str(e["Config"]): _tar_json(tar, str(e["Config"])) for e in manifest}
        except (tarfile.TarError, KeyError, TypeError, ValueError) as exc:
            raise DockerError(
                f"[docker] host {self.host}: cannot load an image stream: not a docker save "
                f"archive ({exc}). Give the output of `docker save`, then run again."
            ) from exc
        loaded = []
        with self._lock:
            for entry in manifest:
                name = posixpath.basename(str(entry["Config"])).removesuffix(".json")
                image_id = "sha256:" + name
                self.image_configs[image_id] = dict(
                    configs[str(entry["Config"])].get("config") or {}
                )
                tags = entry.get("RepoTags") or []
                for tag in tags:
                    self.images[tag] = image_id
                    loaded.append(tag)
                if not tags:
                    self.images[image_id] = image_id
                    loaded.append(image_id)
        return tuple(loaded)

    def inspect_container(self, name: str) -> ContainerState | None:
        with self._lock:
            return self._find(name)

    def list_containers(
        self, *, labels: Mapping[str, str] | None = None
    ) -> tuple[ContainerFacts, ...]:
        wanted = set((labels or {}).items())
        with self._lock:
            return tuple(
                ContainerFacts(name=c.name, image=c.image, state=c.status, labels=c.labels)
                for c in sorted(self.containers.values(), key=lambda c: c.name)
                if wanted <= set(c.labels)
            )

    def create_container(self, spec: ContainerSpec) -> str:
        with self._lock:
            if spec.name in self.containers:
                raise self._error(
                    "create", spec.name, "the name is taken by another container", "remove it"
                )
            image = normalize_image(spec.image)
            image_id = self.images.get(image) or (
                spec.image if spec.image in self.images.values() else None
            )
            if image_id is None:
                raise self._error(
                    "create", spec.name, f"no such image {spec.image}", "pull or load it first"
                )
            image_config = self.image_configs.get(image_id, {})
            number = next(self._ids)
            container_id = hashlib.sha256(f"{self.host}/{number}".encode()).hexdigest()
            self.containers[spec.name] = ContainerState(
                id=container_id,
                name=spec.name,
                image=spec.image,
                image_id=image_id,
                entrypoint=spec.entrypoint or tuple(image_config.get("Entrypoint") or ()),
                args=spec.args or tuple(image_config.get("Cmd") or ()),
                env=_merge_env(
                    image_config.get("Env") or (),
                    [f"{e.name}={reveal(e.value)}" for e in spec.env],
                ),
                binds=spec.binds,
                labels=tuple(sorted(spec.labels)),
                network_mode=spec.network_mode or "default",
                pid_mode=spec.pid_mode,
                privileged=spec.privileged,
                restart_policy=spec.restart_policy,
                user=spec.user,
                volumes_from=spec.volumes_from,
            )
            return container_id

    def start_container(self, name: str) -> None:
        with self._lock:
            state = self._need("start", name)
            if not state.running:
                self._put(
                    replace(
                        state,
                        status="running",
                        running=True,
                        exit_code=0,
                        started_at=f"2026-01-01T00:00:{next(self._clock):02d}Z",
                    )
                )

    def stop_container(self, name: str, *, timeout: float = 10.0) -> None:
        with self._lock:
            state = self._need("stop", name)
            if state.running:
                code = self.exit_codes.get(state.name, 0)
                self._put(replace(state, status="exited", running=False, exit_code=code))

    def remove_container(self, name: str, *, force: bool = False) -> bool:
        with self._lock:
            state = self._find(name)
            if state is None:
                return False
            if state.running and not force:
                raise self._error(
                    "remove", name, "it is running", "stop it first or remove it with force"
                )
            del self.containers[state.name]
            return True

    def rename_container(self, name: str, new_name: str) -> None:
        with self._lock:
            state = self._need("rename", name)
            if new_name in self.containers:
                raise self._error(
                    "rename", name, f"the name {new_name} is taken", f"remove {new_name} first"
                )
            del self.containers[state.name]
            self._put(replace(state, name=new_name))
            if state.name in self.output:
                self.output[new_name] = self.output.pop(state.name)
            if state.name in self.exit_codes:
                self.exit_codes[new_name] = self.exit_codes.pop(state.name)

    def container_logs(self, name: str, *, tail: int = 50) -> str:
        with self._lock:
            state = self._need("read the logs of", name)
            if not state.started_at:
                return ""
            lines = self.output.get(state.name, "").splitlines(keepends=True)
            return "".join(lines[-tail:] if tail > 0 else [])

    # -- helpers -----------------------------------------------------------------------------
    def _find(self, name: str) -> ContainerState | None:
        found = self.containers.get(name.lstrip("/"))
        if found is None:
            found = next((c for c in self.containers.values() if c.id.startswith(name)), None)
        return found

    def _need(self, action: str, name: str) -> ContainerState:
        found = self._find(name)
        if found is None:
            raise self._error(action, name, "there is no such container", "create it first")
        return found

    def _put(self, state: ContainerState) -> None:
        self.containers[state.name] = state

    def _error(self, action: str, name: str, why: str, todo: str) -> DockerError:
        return DockerError(
            f"[docker] host {self.host}: cannot {action} container {name}: {why}. "
            f"{todo[0].upper()}{todo[1:]} and run again."
        )


def _tar_json(tar: tarfile.TarFile, name: str) -> Any:
    member = tar.extractfile(name)
    if member is None:
        raise KeyError(name)
    return json.loads(member.read())


def _merge_env(image: Iterable[str], given: Iterable[str]) -> tuple[str, ...]:
    """As Docker's daemon merges them: the given variables, then the image's own whose names
    were not given."""
    merged = list(given)
    names = {item.partition("=")[0] for item in merged}
    merged += [item for item in image if item.partition("=")[0] not in names]
    return tuple(merged)


@dataclass
class FakeHost:
    """A host in memory: a ``HostConnection`` with files, scripted commands and Docker
    Engines by socket path. ``users``/``groups`` are the owners ``put_file`` accepts."""

    address: str = "10.0.0.1"
    login_user: str = "root"
    files: dict[str, FakeFile] = field(default_factory=dict)
    users: set[str] = field(default_factory=lambda: {"root", "nobody"})
    groups: set[str] = field(default_factory=lambda: {"root", "nogroup"})
    engines: dict[str, FakeDocker] = field(default_factory=dict)
    docker_failures: list[DockerError] = field(default_factory=list)  # raised by docker(), in turn
    commands: list[str] = field(default_factory=list)  # every command run, in order
    host_key: str = FAKE_HOST_KEY
    closed: bool = False
    _handlers: dict[str, Handler] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if not self.engines:
            self.engines["/var/run/docker.sock"] = FakeDocker(host=self.address)

    @property
    def engine(self) -> FakeDocker:
        """The Engine at the default socket."""
        return self.engines["/var/run/docker.sock"]

    def on(
        self,
        command: str,
        handler: Handler | None = None,
        *,
        exit_code: int = 0,
        stdout: str = "",
        stderr: str = "",
    ) -> None:
        """Script the answer to ``command``: a handler of its stdin, or a fixed result."""
        self._handlers[command] = handler or (lambda _stdin: (exit_code, stdout, stderr))

    # -- HostConnection ----------------------------------------------------------------------
    @property
    def info(self) -> ConnectionInfo:
        return ConnectionInfo(address=self.address, host_key=self.host_key, ssh_connections=1)

    def run(
        self, command: str, *, stdin: bytes | None = None, timeout: float = 120.0
    ) -> CommandResult:
        self._check_open()
        with self._lock:
            self.commands.append(command)
            handler = self._handlers.get(command)
        if handler is None:
            word = command.split()[0] if command.split() else command
            code, out, err = 127, "", f"sh: 1: {word}: not found\n"
        else:
            code, out, err = handler(stdin)
        return CommandResult(command=command, exit_code=code, stdout=out, stderr=err)

    def put_file(
        self,
        path: str,
        content: bytes,
        *,
        mode: int = 0o600,
        owner: str | None = None,
        timeout: float = 300.0,
    ) -> None:
        self._check_open()
        check_file_path(self.address, path)
        user, _, group = (owner or self.login_user).partition(":")
        if user not in self.users or (group and group not in self.groups):
            raise TransportError(
                f"[files] host {self.address}: cannot write {path}: no owner {owner!r} on the "
                "host. Create that user and group first, or choose an existing owner."
            )
        with self._lock:
            self.files[path] = FakeFile(
                content=bytes(content), mode=mode & 0o7777, owner=f"{user}:{group or user}"
            )

    def read_file(self, path: str, *, max_bytes: int = DEFAULT_READ_LIMIT) -> bytes | None:
        self._check_open()
        check_file_path(self.address, path)
        with self._lock:
            found = self.files.get(path)
        if found is None:
            return None
        if len(found.content) > max_bytes:
            raise file_too_large(self.address, path, max_bytes)
        return found.content

    def docker(
        self, socket_path: str = "/var/run/docker.sock", *, timeout: float = 120.0
    ) -> FakeDocker:
        self._check_open()
        with self._lock:
            if self.docker_failures:
                raise self.docker_failures.pop(0)
        engine = self.engines.get(socket_path)
        if engine is None:
            raise DockerUnreachable(f"the Docker Engine at {socket_path} did not answer")
        engine.closed = False
        return engine

    def close(self) -> None:
        self.closed = True

    def _check_open(self) -> None:
        if self.closed:
            raise SSHError(
                f"[ssh] connection to {self.login_user}@{self.address}:22 was closed; "
                "run the operation again"
            )


def _conforms(host: FakeHost) -> tuple[HostConnection, DockerHost]:
    """Never called: mypy checks here that the fakes satisfy the ports."""
    return host, host.engine
