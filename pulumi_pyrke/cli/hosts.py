"""`pyrke hosts`: reach every node of a cluster.yml over SSH, in parallel, and report its facts.

The check RKE users wanted before `rke up`: which hosts answer, whose key is refused, whose
Docker is down or not theirs to use. Host keys are pinned in pyrke's own known_hosts file
beside cluster.yml (first contact records, later contacts enforce). Nothing on a host changes.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from pulumi_pyrke.engine.pool import HostEvent, HostPool, HostTask
from pulumi_pyrke.errors import ConfigError, Problem, PyrkeError
from pulumi_pyrke.model.cluster import ClusterConfig
from pulumi_pyrke.model.node import NodeSpec
from pulumi_pyrke.transport import (
    HostObservation,
    SSHTarget,
    key_problems,
    observe_host,
    parse_host_key,
)
from pulumi_pyrke.transport.known_hosts import KnownHosts
from pulumi_pyrke.transport.targets import node_target, record_host_keys
from pulumi_pyrke.versions.docker_policy import docker_version_warning


@dataclass(frozen=True, kw_only=True, slots=True)
class HostReport:
    """What became of one node: its observation, or the error that stopped it."""

    node: NodeSpec
    seconds: float
    observation: HostObservation | None = None
    error: PyrkeError | None = None


def default_known_hosts(config_path: str) -> str:
    """``cluster.yml`` -> ``cluster.known_hosts`` in the same directory."""
    return str(Path(config_path).with_suffix(".known_hosts"))


def check_hosts(
    config: ClusterConfig,
    *,
    known_hosts: str,
    timeout: float,
    parallel: int,
    progress: TextIO | None = None,
) -> list[HostReport]:
    """Observe every node at once (bounded by ``parallel``), printing progress as they finish."""
    out = progress if progress is not None else sys.stderr
    known = KnownHosts.load(known_hosts)
    targets = [
        node_target(node, config.bastion_host, known, path=f"nodes[{i}]")
        for i, node in enumerate(config.nodes)
    ]
    problems = _key_problems(config, targets)
    if problems:
        raise ConfigError(problems)  # before any host is touched
    total = len(targets)

    def show(event: HostEvent) -> None:
        if event.phase == "progress":
            print(f"  {event.message}", file=out, flush=True)
        elif event.phase in ("done", "failed"):
            state = "ok" if event.phase == "done" else "FAILED"
            print(
                f"  [{event.finished}/{total}] {event.host}: {state} ({event.seconds:.1f}s)",
                file=out,
                flush=True,
            )

    def one(pair: tuple[NodeSpec, SSHTarget], task: HostTask) -> HostObservation:
        node, target = pair
        return observe_host(
            target, docker_socket=node.docker_socket, ready_timeout=timeout, log=task.say
        )

    print(f"pyrke hosts: {total} node{'s' if total != 1 else ''}", file=out, flush=True)
    pairs = list(zip(config.nodes, targets, strict=True))
    pool = HostPool(size=parallel, timeout=timeout, on_event=show, plane="ssh")
    outcomes = pool.run(pairs, one, name=lambda pair: pair[0].address)
    reports = [
        HostReport(node=node, seconds=o.seconds, observation=o.value, error=o.error)
        for (node, _), o in zip(pairs, outcomes, strict=True)
    ]
    for report in reports:
        seen = report.observation
        if seen is None:
            continue
        record_host_keys(known, report.node, config.bastion_host, seen)
    known.save()
    return reports


def _key_problems(config: ClusterConfig, targets: list[SSHTarget]) -> list[Problem]:
    """Key material that does not load, named with cluster.yml's own fields (ssh_key, ...)."""
    checks = [(t, f"nodes[{i}].") for i, t in enumerate(targets)]
    if targets and targets[0].bastion is not None:
        checks.append((targets[0].bastion, "bastion_host."))
    found: list[Problem] = []
    for target, prefix in checks:
        for problem in key_problems(
            private_key=target.private_key,
            key_path=target.key_path,
            passphrase=None,
            certificate=target.certificate,
            field_prefix=prefix,
        ):
            path = problem.path.replace("ssh_private_key", "ssh_key")
            message = problem.message
            if path.endswith("ssh_key_passphrase"):  # cluster.yml has no passphrase field
                path = path.replace(
                    "ssh_key_passphrase", "ssh_key_path" if target.key_path else "ssh_key"
                )
                message = (
                    "the private key is encrypted; as with RKE, load it into an SSH agent "
                    "(ssh-add) and set ssh_agent_auth: true"
                )
            found.append(Problem(path=path, message=message))
    return found


def docker_warnings(config: ClusterConfig, reports: list[HostReport]) -> list[str]:
    """RKE's Docker version check: a version outside the validated list, unless ignored."""
    found = []
    for report in reports:
        if report.observation is None:
            continue
        warning = docker_version_warning(
            report.observation.facts.docker_version,
            config.kubernetes_version,
            ignore=bool(config.ignore_docker_version),
        )
        if warning is not None:
            found.append(f"{report.node.address}: {warning}")
    return found


def render_hosts_text(reports: list[HostReport]) -> str:
    """One block per node: its facts and host key, or the error and what to do."""
    lines = []
    for report in reports:
        seen = report.observation
        if seen is None:
            lines.append(f"{report.node.address}: FAILED\n  {report.error}")
            continue
        f = seen.facts
        lines.append(
            f"{report.node.address}: ok\n"
            f"  hostname {f.hostname}, {f.os}, kernel {f.kernel}, {f.architecture}\n"
            f"  Docker {f.docker_version}, cgroup driver {f.cgroup_driver or 'unknown'}, "
            f"{len(f.containers)} containers\n"
            f"  {f.cpus} CPUs, {f.memory_bytes // 2**20} MiB memory, {f.swap_bytes // 2**20} MiB swap\n"
            f"  host key {parse_host_key(seen.host_key).fingerprint()}"
        )
    return "\n".join(lines) + "\n"


def render_hosts_json(reports: list[HostReport]) -> str:
    """Facts by address, as ``pyrke plan --facts`` reads them (failed hosts are left out)."""
    data = {
        r.node.address: r.observation.facts.to_dict() for r in reports if r.observation is not None
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
