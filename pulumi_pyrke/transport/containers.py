"""The DockerHost port over the docker SDK: containers and images of one host's Engine.

Built by ``SSHHost.docker`` on the host's one SSH connection (transport/docker_host.py). Every
docker/requests error is translated here, once, into a ``DockerError`` that names the host,
the container or image and what to do, chained to its cause. Registry credentials go to
Docker in its auth header only, never into a message or a log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

import docker
import requests

from pulumi_pyrke.engine.ports import ContainerState, Progress, RegistryAuth
from pulumi_pyrke.errors import DockerError
from pulumi_pyrke.model.facts import ContainerFacts
from pulumi_pyrke.model.plan import ContainerSpec
from pulumi_pyrke.model.secret import reveal
from pulumi_pyrke.transport.facts import parse_containers

T = TypeVar("T")

_HINTS = {
    "create": "Check the spec's image, binds and modes against the host",
    "pull": "Check the image name, the registry and its credentials (private_registries)",
    "load": "Give the output of `docker save`, and check the disk space of the host",
}


class SSHDocker:
    """A ``DockerHost`` bound to one Engine through an open DockerClient."""

    def __init__(self, client: docker.DockerClient, version: Mapping[str, Any], *, host: str):
        self._api = client.api
        self._client = client
        self._version = dict(version)
        self.host = host

    @property
    def engine_version(self) -> Mapping[str, Any]:
        return self._version

    def engine_info(self) -> Mapping[str, Any]:
        info: dict[str, Any] = self._call("read the state of", "the Engine", self._api.info)
        return info

    def close(self) -> None:
        self._client.close()

    # -- containers --------------------------------------------------------------------------
    def inspect_container(self, name: str) -> ContainerState | None:
        attrs = self._call(
            "inspect", f"container {name}", lambda: self._api.inspect_container(name), missing=None
        )
        return None if attrs is None else parse_container_state(attrs)

    def list_containers(
        self, *, labels: Mapping[str, str] | None = None
    ) -> tuple[ContainerFacts, ...]:
        filters = {"label": [f"{k}={v}" for k, v in sorted(labels.items())]} if labels else None
        listing = self._call(
            "list", "containers", lambda: self._api.containers(all=True, filters=filters)
        )
        return parse_containers(listing)

    def create_container(self, spec: ContainerSpec) -> str:
        def create() -> str:
            host_config = self._api.create_host_config(
                binds=list(spec.binds) or None,
                network_mode=spec.network_mode or None,
                pid_mode=spec.pid_mode or None,
                privileged=spec.privileged,
                restart_policy={"Name": spec.restart_policy} if spec.restart_policy else None,
                volumes_from=list(spec.volumes_from) or None,
            )
            created = self._api.create_container(
                spec.image,
                command=list(spec.args) or None,
                entrypoint=list(spec.entrypoint) or None,
                environment=[f"{e.name}={reveal(e.value)}" for e in spec.env] or None,
                labels=dict(spec.labels) or None,
                user=spec.user or None,
                name=spec.name,
                host_config=host_config,
                # the SDK would add proxy variables from *this* machine's ~/.docker/config.json
                use_config_proxy=False,
            )
            return str(created["Id"])

        return self._call("create", f"container {spec.name}", create)

    def start_container(self, name: str) -> None:
        self._call("start", f"container {name}", lambda: self._api.start(name))

    def stop_container(self, name: str, *, timeout: float = 10.0) -> None:
        seconds = max(0, round(timeout))
        self._call("stop", f"container {name}", lambda: self._api.stop(name, timeout=seconds))

    def remove_container(self, name: str, *, force: bool = False) -> bool:
        def remove() -> bool:
            self._api.remove_container(name, v=True, force=force)
            return True

        return self._call("remove", f"container {name}", remove, missing=False)

    def rename_container(self, name: str, new_name: str) -> None:
        self._call(
            "rename", f"container {name} to {new_name}", lambda: self._api.rename(name, new_name)
        )

    def container_logs(self, name: str, *, tail: int = 50) -> str:
        def logs() -> str:
            data = self._api.logs(name, stdout=True, stderr=True, tail=max(0, tail))
            return bytes(data).decode(errors="replace")

        return self._call("read the logs of", f"container {name}", logs)

    # -- images ------------------------------------------------------------------------------
    def has_image(self, image: str) -> bool:
        def inspect() -> bool:
            self._api.inspect_image(image)
            return True

        return self._call("inspect", f"image {image}", inspect, missing=False)

    def pull_image(self, image: str, *, auth: RegistryAuth | None = None) -> None:
        # Always an explicit auth: without one the SDK would send credentials of *this*
        # machine's ~/.docker/config.json to the host's Engine.
        credentials: dict[str, str] = {}
        if auth is not None:
            credentials = {
                "username": auth.username,
                "password": auth.password.reveal(),
                "serveraddress": auth.server,
            }

        def pull() -> None:
            for line in self._api.pull(image, stream=True, decode=True, auth_config=credentials):
                _raise_stream_error(line)

        self._call("pull", f"image {image}", pull)

    def load_image(
        self, chunks: Iterable[bytes], *, progress: Progress | None = None
    ) -> tuple[str, ...]:
        def counted() -> Iterator[bytes]:
            sent = 0
            for chunk in chunks:
                yield chunk
                sent += len(chunk)
                if progress is not None:
                    progress(sent)

        def load() -> tuple[str, ...]:
            names = []
            for line in self._api.load_image(counted()):
                _raise_stream_error(line)
                said = str(line.get("stream", "")).strip()
                for prefix in ("Loaded image: ", "Loaded image ID: "):
                    if said.startswith(prefix):
                        names.append(said[len(prefix) :])
            return tuple(names)

        return self._call("load", "an image stream", load)

    # -- the one place foreign errors become ours ----------------------------------------------
    def _call(self, action: str, what: str, call: Callable[[], T], **fallback: Any) -> T:
        """Run one SDK call; ``missing=`` is returned instead when Docker answers 404."""
        try:
            return call()
        except docker.errors.NotFound as exc:
            if "missing" in fallback:
                value: T = fallback["missing"]
                return value
            raise self._refused(action, what, exc) from exc
        except _StreamError as exc:
            raise self._refused(action, what, exc) from exc
        except docker.errors.APIError as exc:
            raise self._refused(action, what, exc) from exc
        except (requests.exceptions.RequestException, docker.errors.DockerException) as exc:
            raise DockerError(
                f"[docker] host {self.host}: Docker stopped answering while trying to {action} "
                f"{what} ({type(exc).__name__}: {exc}). Check dockerd's log on the host "
                "(journalctl -u docker) and run again."
            ) from exc

    def _refused(self, action: str, what: str, exc: Exception) -> DockerError:
        said = getattr(exc, "explanation", None) or str(exc)
        hint = _HINTS.get(action.split()[0], "Check the container on the host (docker ps -a)")
        return DockerError(
            f"[docker] host {self.host}: cannot {action} {what}: {str(said).rstrip('.')}. "
            f"{hint}, then run again."
        )


def parse_container_state(attrs: Mapping[str, Any]) -> ContainerState:
    """The Engine's ``GET /containers/<name>/json`` answer as a ``ContainerState``.

    Pure; here rather than in facts.py because ContainerState is a value of the ports."""
    config = attrs.get("Config") or {}
    host = attrs.get("HostConfig") or {}
    state = attrs.get("State") or {}
    started = str(state.get("StartedAt") or "")
    return ContainerState(
        id=str(attrs.get("Id", "")),
        name=str(attrs.get("Name", "")).lstrip("/"),
        image=str(config.get("Image", "")),
        image_id=str(attrs.get("Image", "")),
        entrypoint=_strings(config.get("Entrypoint")),
        args=_strings(config.get("Cmd")),
        env=_strings(config.get("Env")),
        binds=_strings(host.get("Binds")),
        labels=tuple(sorted((str(k), str(v)) for k, v in (config.get("Labels") or {}).items())),
        network_mode=str(host.get("NetworkMode") or ""),
        pid_mode=str(host.get("PidMode") or ""),
        privileged=bool(host.get("Privileged")),
        restart_policy=str((host.get("RestartPolicy") or {}).get("Name") or ""),
        user=str(config.get("User") or ""),
        volumes_from=_strings(host.get("VolumesFrom")),
        status=str(state.get("Status", "")),
        running=bool(state.get("Running")),
        exit_code=int(state.get("ExitCode") or 0),
        # Docker's zero time for a container that never started
        started_at="" if started.startswith("0001-01-01") else started,
    )


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):  # an Entrypoint given as a shell string
        return (value,)
    return tuple(str(v) for v in value)


class _StreamError(Exception):
    """An error Docker reported inside a 200 answer's JSON stream (pull, load)."""


def _raise_stream_error(line: Mapping[str, Any]) -> None:
    if line.get("error") or line.get("errorDetail"):
        detail = line.get("errorDetail") or {}
        raise _StreamError(str(line.get("error") or detail.get("message") or "failed"))
