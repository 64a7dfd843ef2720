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
        """Build facts from a JSON-like mapping (as stored in golden cases and state); every
        value of the wrong shape is a Problem naming its path."""
        if not isinstance(data, Mapping):
            raise ConfigError([Problem(path=path, message="must be a mapping of facts")])
        known = set(cls.__dataclass_fields__)
        problems = [
            Problem(path=f"{path}.{k}", message=f"unknown fact; known: {', '.join(sorted(known))}")
            for k in sorted(set(data) - known, key=str)
        ]
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name not in known or name == "containers":
                continue
            want = int if cls.__dataclass_fields__[name].type == "int" else str
            if type(value) is not want or (isinstance(value, int) and value < 0):
                kind = "a whole number, 0 or more" if want is int else "a string"
                problems.append(Problem(path=f"{path}.{name}", message=f"must be {kind}"))
            values[name] = value
        containers = data.get("containers", [])
        if not isinstance(containers, list):
            problems.append(Problem(path=f"{path}.containers", message="must be a list"))
            containers = []
        parsed = []
        for i, c in enumerate(containers):
            where = f"{path}.containers[{i}]"
            if not isinstance(c, Mapping) or not isinstance(c.get("name"), str):
                problems.append(
                    Problem(path=where, message="must be a mapping with a name (a string)")
                )
                continue
            labels = c.get("labels", {})
            texts = [c.get("image", ""), c.get("state", "running")]
            if not isinstance(labels, Mapping) or not all(
                isinstance(v, str) for v in [*labels.values(), *texts]
            ):
                problems.append(
                    Problem(path=where, message="image, state and labels must hold strings")
                )
                continue
            parsed.append(
                ContainerFacts(
                    name=c["name"],
                    image=texts[0],
                    state=texts[1],
                    labels=tuple(sorted((str(k), v) for k, v in labels.items())),
                )
            )
        if problems:
            raise ConfigError(problems)
        values["containers"] = tuple(parsed)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-like form of these facts."""
        out: dict[str, Any] = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["containers"] = [
            {"name": c.name, "image": c.image, "state": c.state, "labels": dict(c.labels)}
            for c in self.containers
        ]
        return out


def facts_from_json(data: Any) -> dict[str, NodeFacts]:
    """Facts by node address from a parsed facts file (`pyrke hosts -o json`); ConfigError
    naming every value of the wrong shape as ``facts[ADDRESS].field``."""
    if not isinstance(data, Mapping):
        raise ConfigError([Problem(path="facts", message="must map node addresses to facts")])
    problems: list[Problem] = []
    out: dict[str, NodeFacts] = {}
    for address, value in data.items():
        try:
            out[str(address)] = NodeFacts.from_dict(value, path=f"facts[{address}]")
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    return out
