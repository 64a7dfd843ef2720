"""Host facts: one shell probe run over SSH, and pure parsers for it and for Docker's answers.

The parsers take recorded text or JSON and return values; they never touch a host, so they
are tested with output recorded from real nodes (tests/recorded/).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_pyrke.model.facts import ContainerFacts, NodeFacts

SOCKET_MISSING = "missing"
SOCKET_NO_ACCESS = "no-access"
SOCKET_OK = "ok"


def host_probe_command(docker_socket: str) -> str:
    """The one command that reads everything the host itself can tell (not Docker's part)."""
    sock = shlex.quote(docker_socket)
    return "; ".join(
        [
            "export LC_ALL=C",
            "echo @hostname; hostname",
            "echo @kernel; uname -r",
            "echo @arch; uname -m",
            "echo @os-release; cat /etc/os-release 2>/dev/null",
            "echo @cpus; nproc 2>/dev/null || getconf _NPROCESSORS_ONLN",
            "echo @meminfo; grep -E '^(MemTotal|SwapTotal):' /proc/meminfo",
            "echo @user; id -un; id -u; id -Gn",
            f"echo @socket; if [ -S {sock} ]; then if [ -r {sock} ] && [ -w {sock} ]; "
            f"then echo {SOCKET_OK}; else echo {SOCKET_NO_ACCESS}; fi; ls -ln {sock}; "
            f"else echo {SOCKET_MISSING}; fi",
            "echo @docker-cli; command -v docker || true",
            "echo @end",
        ]
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class HostProbe:
    """What the probe command found, before Docker is asked anything."""

    hostname: str
    kernel: str
    architecture: str
    os: str
    os_id: str
    cpus: int
    memory_bytes: int
    swap_bytes: int
    user: str
    uid: int
    groups: tuple[str, ...]
    socket_state: str  # SOCKET_OK, SOCKET_NO_ACCESS or SOCKET_MISSING
    socket_owner: str  # the `ls -ln` line of the socket, for messages
    docker_cli: str  # path of the docker command, "" when absent


def _sections(text: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("@") and " " not in line.strip():
            current = sections.setdefault(line.strip()[1:], [])
        elif current is not None:
            current.append(line.rstrip())
    return sections


def _first(lines: list[str] | None, default: str = "") -> str:
    return next((line.strip() for line in lines or () if line.strip()), default)


def _int(text: str, default: int = 0) -> int:
    try:
        return int(text)
    except ValueError:
        return default


def parse_os_release(lines: Iterable[str]) -> dict[str, str]:
    """``/etc/os-release`` as a mapping, quotes removed."""
    values: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.partition("=")
        if sep and key.strip() and not key.startswith("#"):
            try:
                parsed = shlex.split(value)
            except ValueError:
                parsed = [value]
            values[key.strip()] = parsed[0] if parsed else ""
    return values


def parse_meminfo(lines: Iterable[str]) -> dict[str, int]:
    """``/proc/meminfo`` lines (``MemTotal:  16316412 kB``) as bytes per field."""
    values: dict[str, int] = {}
    for line in lines:
        key, sep, rest = line.partition(":")
        parts = rest.split()
        if sep and parts and parts[0].isdigit():
            factor = 1024 if len(parts) > 1 and parts[1].lower() == "kb" else 1
            values[key.strip()] = int(parts[0]) * factor
    return values


def parse_host_probe(text: str) -> HostProbe:
    """Parse the output of ``host_probe_command``."""
    s = _sections(text)
    release = parse_os_release(s.get("os-release", ()))
    memory = parse_meminfo(s.get("meminfo", ()))
    user = [line.strip() for line in s.get("user", ()) if line.strip()]
    socket_lines = [line for line in s.get("socket", ()) if line.strip()]
    return HostProbe(
        hostname=_first(s.get("hostname")),
        kernel=_first(s.get("kernel")),
        architecture=_first(s.get("arch")),
        os=release.get("PRETTY_NAME") or release.get("NAME", ""),
        os_id=release.get("ID", ""),
        cpus=_int(_first(s.get("cpus"), "0")),
        memory_bytes=memory.get("MemTotal", 0),
        swap_bytes=memory.get("SwapTotal", 0),
        user=user[0] if user else "",
        uid=_int(user[1], -1) if len(user) > 1 else -1,
        groups=tuple(user[2].split()) if len(user) > 2 else (),
        socket_state=socket_lines[0].strip() if socket_lines else SOCKET_MISSING,
        socket_owner=socket_lines[1].strip() if len(socket_lines) > 1 else "",
        docker_cli=_first(s.get("docker-cli")),
    )


def parse_containers(listing: Iterable[Mapping[str, Any]]) -> tuple[ContainerFacts, ...]:
    """The Engine's ``GET /containers/json?all=1`` answer as container facts, sorted by name."""
    found = []
    for item in listing:
        names = [str(n).lstrip("/") for n in item.get("Names") or ()]
        found.append(
            ContainerFacts(
                name=names[0] if names else str(item.get("Id", ""))[:12],
                image=str(item.get("Image", "")),
                state=str(item.get("State", "")),
                labels=tuple(
                    sorted((str(k), str(v)) for k, v in (item.get("Labels") or {}).items())
                ),
            )
        )
    return tuple(sorted(found, key=lambda c: c.name))


def build_node_facts(
    probe: HostProbe,
    info: Mapping[str, Any],
    version: Mapping[str, Any],
    containers: tuple[ContainerFacts, ...],
) -> NodeFacts:
    """Combine the probe and Docker's ``/info`` and ``/version`` answers into ``NodeFacts``."""
    return NodeFacts(
        hostname=probe.hostname or str(info.get("Name", "")),
        os=probe.os or str(info.get("OperatingSystem", "")),
        os_type=str(info.get("OSType") or version.get("Os") or "linux"),
        kernel=probe.kernel or str(info.get("KernelVersion", "")),
        architecture=probe.architecture or str(info.get("Architecture", "")),
        docker_version=str(version.get("Version") or info.get("ServerVersion") or ""),
        docker_root_dir=str(info.get("DockerRootDir") or "/var/lib/docker"),
        cgroup_driver=str(info.get("CgroupDriver", "")),
        cpus=probe.cpus or int(info.get("NCPU") or 0),
        memory_bytes=probe.memory_bytes or int(info.get("MemTotal") or 0),
        swap_bytes=probe.swap_bytes,
        containers=containers,
    )
