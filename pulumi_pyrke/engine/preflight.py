"""Preflight: every host checked before anything changes, every problem reported at once.

One shell command per host reads what the checks need (hostname, machine-id, clock, the TCP
ports something listens on, free disk); the parsers and checks are pure, so a failing
preflight has changed nothing on any host.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pulumi_pyrke.engine.ports import HostShell
from pulumi_pyrke.errors import Problem
from pulumi_pyrke.model.plan import HostPlan
from pulumi_pyrke.plan import names

MAX_CLOCK_SKEW = 30.0  # seconds; certificates issued here must be valid there at once
MIN_FREE_BYTES = 512 * 2**20

# the ports each component listens on (rke-spec §7.3), by container name
PORTS: Mapping[str, tuple[int, ...]] = {
    names.ETCD: (2379, 2380),
    names.KUBE_APISERVER: (6443,),
    names.NGINX_PROXY: (6443,),
    names.KUBE_CONTROLLER_MANAGER: (10257,),
    names.KUBE_SCHEDULER: (10259,),
    names.KUBELET: (10248, 10250),
    names.KUBE_PROXY: (10256,),
}

PROBE = "; ".join(
    [
        "export LC_ALL=C",
        "echo @hostname; hostname",
        "echo @machine-id; cat /etc/machine-id 2>/dev/null || cat /var/lib/dbus/machine-id 2>/dev/null",
        "echo @clock; date +%s",
        "echo @tcp; cat /proc/net/tcp /proc/net/tcp6 2>/dev/null",
        "echo @disk; df -Pk /var/lib 2>/dev/null | tail -n 1",
        "echo @end",
    ]
)


@dataclass(frozen=True, kw_only=True, slots=True)
class HostCheck:
    """What preflight read on one host."""

    address: str
    hostname: str
    machine_id: str
    clock: float  # the host's time, seconds since the epoch
    listening: frozenset[int]
    free_bytes: int | None
    read_at: float  # this machine's time when the host answered


def read_host(shell: HostShell, address: str, *, timeout: float = 30.0) -> HostCheck:
    """Run the preflight probe on a host and parse its answer."""
    started = time.time()
    result = shell.run(PROBE, timeout=timeout)
    return parse_probe(address, result.stdout, read_at=(started + time.time()) / 2)


def parse_probe(address: str, text: str, *, read_at: float) -> HostCheck:
    """The pure parser of the probe's output."""
    sections: dict[str, list[str]] = defaultdict(list)
    current = ""
    for line in text.splitlines():
        if line.startswith("@"):
            current = line[1:].strip()
        elif current:
            sections[current].append(line)
    first = {k: (v[0].strip() if v else "") for k, v in sections.items()}
    clock = float(first["clock"]) if first.get("clock", "").isdigit() else read_at
    return HostCheck(
        address=address,
        hostname=first.get("hostname", ""),
        machine_id=first.get("machine-id", ""),
        clock=clock,
        listening=frozenset(_listening(sections.get("tcp", []))),
        free_bytes=_free(first.get("disk", "")),
        read_at=read_at,
    )


def _listening(lines: Iterable[str]) -> Iterable[int]:
    for line in lines:
        fields = line.split()
        # sl local_address rem_address st ...; st 0A is LISTEN
        if len(fields) > 3 and fields[3] == "0A" and ":" in fields[1]:
            yield int(fields[1].rsplit(":", 1)[1], 16)


def _free(line: str) -> int | None:
    fields = line.split()
    if len(fields) >= 4 and fields[3].isdigit():
        return int(fields[3]) * 1024
    return None


def check_hosts(
    checks: Sequence[HostCheck],
    plans: Mapping[str, HostPlan],
    ours: Mapping[str, frozenset[str]],
) -> list[Problem]:
    """Every preflight problem across hosts. ``ours`` names, per host, the containers pyrke
    already runs there: a port they hold is not taken by something else."""
    problems: list[Problem] = []
    for field, label in (("hostname", "hostname"), ("machine_id", "machine-id")):
        seen: dict[str, str] = {}
        for check in checks:
            value = getattr(check, field)
            if not value:
                continue
            if value in seen:
                problems.append(
                    Problem(
                        path=f"host {check.address}",
                        message=f"has the same {label} as host {seen[value]} ({value!r}); "
                        "hosts cloned from one image must each get their own (e.g. "
                        "systemd-machine-id-setup, hostnamectl set-hostname)",
                    )
                )
            else:
                seen[value] = check.address
    for check in checks:
        skew = check.clock - check.read_at
        if abs(skew) > MAX_CLOCK_SKEW:
            problems.append(
                Problem(
                    path=f"host {check.address}",
                    message=f"clock is {skew:+.0f}s off this machine's; certificates would not "
                    "be valid there yet or any more. Synchronise clocks (NTP) first",
                )
            )
        if check.free_bytes is not None and check.free_bytes < MIN_FREE_BYTES:
            problems.append(
                Problem(
                    path=f"host {check.address}",
                    message=f"has {check.free_bytes // 2**20} MiB free under /var/lib; at least "
                    f"{MIN_FREE_BYTES // 2**20} MiB are needed for etcd and images",
                )
            )
        plan = plans.get(check.address)
        if plan is None:
            continue
        running = ours.get(check.address, frozenset())
        for container in plan.containers:
            if container.name in running:
                continue
            for port in PORTS.get(container.name, ()):
                if port in check.listening:
                    problems.append(
                        Problem(
                            path=f"host {check.address}",
                            message=f"port {port} is taken by another program, but "
                            f"{container.name} must listen on it; stop that program or "
                            "use another host",
                        )
                    )
    return problems
