"""Benchmark: what creating a Node costs on real test nodes (Docker-in-Docker, real sshd/dockerd).

Prints JSON: seconds per ``NodeProvider.create`` (median of several), the SSH logins each
create makes (counted in the node's own sshd log), and the time to observe 1 versus 6 hosts
in parallel (DESIGN.md §6: N hosts should cost about the slowest one, not the sum).
Needs Docker; builds the test node image on first use (about 45 s).
Run: python3 bench/node_create.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from harness import keys, nodes

from pulumi_pyrke.engine.pool import HostPool
from pulumi_pyrke.providers.node import NodeProvider
from pulumi_pyrke.transport import SSHTarget, observe_host


def logins(node: nodes.TestNode) -> int:
    return len(re.findall(r"Accepted (publickey|certificate)", node.sshd_log()))


def create_once(node: nodes.TestNode, key_text: str) -> tuple[float, int]:
    provider = NodeProvider()
    inputs = provider.check({}, {"address": node.address, "ssh_private_key": key_text}).inputs
    before = logins(node)
    started = time.perf_counter()
    provider.create(inputs)
    elapsed = time.perf_counter() - started
    return elapsed, logins(node) - before


def observe_all(targets: list[SSHTarget]) -> float:
    started = time.perf_counter()
    outcomes = HostPool(size=len(targets), timeout=60).run(
        targets,
        lambda t, task: observe_host(t, ready_timeout=task.deadline.remaining()),
        name=lambda t: t.address,
    )
    elapsed = time.perf_counter() - started
    failed = [f"{o.host}: {o.error}" for o in outcomes if not o.ok]
    if failed:
        raise SystemExit("observing failed:\n" + "\n".join(failed))
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    nodes.ensure_image()
    prefix = f"bench{os.getpid()}-"
    with tempfile.TemporaryDirectory() as tmp:
        key = keys.make_keys(Path(tmp))["ed25519"]
        key_text = Path(key.private_path).read_text()
        try:
            started = time.perf_counter()
            fleet = nodes.start_nodes(6, prefix=prefix, authorized_keys=[key.public_text])
            boot = time.perf_counter() - started
            first = fleet[0]
            create_once(first, key_text)  # warm: imports, first key exchange
            samples = [create_once(first, key_text) for _ in range(args.runs)]
            targets = [SSHTarget(address=n.address, key_path=str(key.private_path)) for n in fleet]
            one = statistics.median(observe_all(targets[:1]) for _ in range(3))
            six = statistics.median(observe_all(targets) for _ in range(3))
        finally:
            nodes.stop_nodes(prefix)
    result: dict[str, Any] = {
        "nodes_started_until_ssh_and_docker_answer_s": round(boot, 2),
        "node_create_s": {
            "median": round(statistics.median(s for s, _ in samples), 3),
            "min": round(min(s for s, _ in samples), 3),
            "max": round(max(s for s, _ in samples), 3),
            "runs": len(samples),
        },
        "ssh_logins_per_create": sorted({n for _, n in samples}),
        "observe_parallel_s": {
            "1_host": round(one, 3),
            "6_hosts": round(six, 3),
            "ratio": round(six / one, 2),
        },
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
