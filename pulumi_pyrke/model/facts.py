"""Observed host state as values: what the planner may know about a host.

Facts are produced by pure parsers (transport/) from recorded command output; here they are
only data. Nothing in this module performs I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi_pyrke.errors import ConfigError, Problem


@dataclass(frozen=True, kw_only=True, slots=True)
class ContainerFacts:
    """One container found on a host."""

    name: str
    image: str
    state: str = "running"  # docker's State.Status: created, running, exited, ...
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class NodeFacts:
    """What was observed on one host. Defaults are what a planner assumes when it cannot know."""

    hostname: str = ""
    os: str = ""
    os_type: str = "linux"
    kernel: str = ""
    architecture: str = "x86_64"
    docker_version: str = ""
    docker_root_dir: str = "/var/lib/docker"
    cgroup_driver: str = ""  # unknown until observed; the planner then leaves the flag out
    cpus: int = 0
    memory_bytes: int = 0
    swap_bytes: int = 0
    containers: tuple[ContainerFacts, ...] = field(default_factory=tuple)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, path: str = "facts") -> NodeFacts:
        """Build facts from a JSON-like mapping (as stored in golden cases and state)."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                Problem(
                    path=f"{path}.{k}", message=f"unknown fact; known: {', '.join(sorted(known))}"
                )
                for k in unknown
            )
        values = dict(data)
        values["containers"] = tuple(
            ContainerFacts(
                name=str(c["name"]),
                image=str(c.get("image", "")),
                state=str(c.get("state", "running")),
                labels=tuple(
                    sorted((str(k), str(v)) for k, v in dict(c.get("labels", {})).items())
                ),
            )
            for c in data.get("containers", ())
        )
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-like form of these facts."""
        out: dict[str, Any] = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["containers"] = [
            {"name": c.name, "image": c.image, "state": c.state, "labels": dict(c.labels)}
            for c in self.containers
        ]
        return out
