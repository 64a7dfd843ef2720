"""Benchmark: `up` from nothing on 1, 3 and 6 real test nodes, a no-op `up`, and the baseline.

Prints JSON. For each node count: the wall time of the engine's `up` from nothing (connect,
observe, plan with certificates, preflight, images check, lock, files, etcd, control plane and
worker planes with their health checks, as `pyrke up` runs it, in-process) and of a second,
no-op `up`; the SSH logins per host per run (each node's sshd log, "Accepted publickey"); the
port calls per host per run (a counting wrapper around each HostConnection and its DockerHost:
`docker` = DockerHost methods, each one Docker API request or a stream; `shell` = commands,
`tools` = those that run a tool container). Then the baseline, on the same nodes after
`engine.remove`: the same containers in the same plane order, waiting for the same health
endpoints (polled every 0.5 s, the engine's first interval), made with the docker CLI inside
each node (`docker exec NODE docker create/start`, files in one tar: tests/harness/containers.py),
no SSH and no planning. Clusters: 1 node with every role; 3 and 6 nodes are one node with every
role (etcd, control plane, worker) and the rest workers. Images are loaded into the nodes first
(`docker save | docker exec -i NODE docker load`) and not counted. Nodes are started once and
reused: each cluster is removed (engine.remove, the baseline's containers by docker rm) before
the next run.
Times are medians of --runs samples (each sample: create, no-op, remove, baseline).
Run: python3 bench/provision.py [--counts 1,3,6] [--runs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from harness import containers, images, keys, nodes

from pulumi_pyrke.deadline import Deadline
from pulumi_pyrke.engine.cluster import Applied, apply_config, close_all, open_hosts
from pulumi_pyrke.engine.converge import plane_specs
from pulumi_pyrke.engine.remove import CLEANED, remove
from pulumi_pyrke.engine.up import PLANES
from pulumi_pyrke.model import parse_cluster_config
from pulumi_pyrke.model.cluster import ClusterConfig
from pulumi_pyrke.model.node import NodeSpec
from pulumi_pyrke.model.plan import ClusterPlan, HealthCheck, HostPlan
from pulumi_pyrke.plan import ClusterState, names
from pulumi_pyrke.transport import SSHTarget, observe_facts, open_host

T = TypeVar("T")
HEALTH_TIMEOUT = 180

# runs inside a node (python3-minimal: ssl and socket, no urllib, no json): GET every URL (TLS
# unverified, a client certificate where given) until all answer 200, every 0.5 s; exit 1
# naming what did not answer by the deadline. argv: timeout, then url|cert|key per probe
PROBE = r"""
import socket, ssl, sys, time
deadline, probes = time.monotonic() + float(sys.argv[1]), [a.split("|") for a in sys.argv[2:]]
def ok(url, cert, key):
    scheme, rest = url.split("://", 1)
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.rpartition(":")
    try:
        sock = socket.create_connection((host, int(port)), timeout=5)
        if scheme == "https":
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
            if cert:
                ctx.load_cert_chain(cert, key)
            sock = ctx.wrap_socket(sock)
        with sock:
            sock.sendall(f"GET /{path} HTTP/1.0\r\nHost: {hostport}\r\n\r\n".encode())
            return sock.recv(64).split(b" ")[1] == b"200"
    except (OSError, IndexError, ValueError):
        return False
while probes:
    probes = [p for p in probes if not ok(*p)]
    if probes and time.monotonic() > deadline:
        sys.exit("unhealthy: " + " ".join(p[0] for p in probes))
    if probes:
        time.sleep(0.5)
"""


class CountedDocker:
    """A DockerHost that counts its calls."""

    def __init__(self, inner: Any, calls: Counter[str]) -> None:
        self._inner, self._calls = inner, calls

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._inner, name)
        if not callable(found) or name == "close":
            return found

        def call(*args: Any, **kwargs: Any) -> Any:
            self._calls["docker"] += 1
            return found(*args, **kwargs)

        return call


class CountedHost:
    """A HostConnection that counts shell commands, tool containers and Docker calls."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.calls: Counter[str] = Counter()
        self.seconds: Counter[str] = Counter()  # time spent in commands and tool containers

    @property
    def info(self) -> Any:
        return self._inner.info

    def run(self, command: str, **kwargs: Any) -> Any:
        self.calls["shell"] += 1
        tool = command.startswith("docker -H") and " run " in command
        self.calls["tools"] += tool
        started = time.perf_counter()
        try:
            return self._inner.run(command, **kwargs)
        finally:
            self.seconds["tools_s" if tool else "shell_s"] += time.perf_counter() - started

    def put_file(self, *args: Any, **kwargs: Any) -> Any:
        self.calls["shell"] += 1
        return self._inner.put_file(*args, **kwargs)

    def read_file(self, *args: Any, **kwargs: Any) -> Any:
        self.calls["shell"] += 1
        return self._inner.read_file(*args, **kwargs)

    def docker(self, *args: Any, **kwargs: Any) -> Any:
        self.calls["docker"] += 1  # the Engine's /version, read when opened
        return CountedDocker(self._inner.docker(*args, **kwargs), self.calls)

    def close(self) -> None:
        self._inner.close()


def parallel(items: Sequence[T], work: Callable[[T], Any]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=max(1, len(items))) as pool:
        return list(pool.map(work, items))


def logins(node: nodes.TestNode) -> int:
    return len(re.findall(r"Accepted (publickey|certificate)", node.sshd_log()))


class Bench:
    def __init__(self, fleet: list[nodes.TestNode], key: Path, system_images: dict[str, str]):
        self.fleet, self.key, self.system_images = fleet, key, system_images

    def config(self, count: int) -> ClusterConfig:
        every = ["etcd", "controlplane", "worker"]
        return parse_cluster_config(
            {
                "cluster_name": "bench",
                "nodes": [
                    {"address": n.address, "user": "root", "role": every if i == 0 else ["worker"]}
                    for i, n in enumerate(self.fleet[:count])
                ],
                "system_images": self.system_images,
            }
        ).config

    def connect(self, node: NodeSpec | HostPlan, deadline: Deadline) -> Any:
        target = SSHTarget(address=node.address, user="root", key_path=str(self.key))
        return open_host(target, deadline=deadline)

    def up(self, config: ClusterConfig, state: ClusterState | None) -> dict[str, Any]:
        """One `up`, timed, with its logins and port calls per host."""
        used = self.fleet[: len(config.nodes)]
        before = parallel(used, logins)
        counted: dict[str, CountedHost] = {}

        def connect(node: NodeSpec, deadline: Deadline) -> Any:
            counted[node.address] = CountedHost(self.connect(node, deadline))
            return counted[node.address]

        started = time.perf_counter()
        hosts = open_hosts(config.nodes, connect, parallel=20, timeout=60)
        try:
            applied = apply_config(
                config,
                hosts,
                lambda conn, socket, deadline: observe_facts(
                    conn, docker_socket=socket, deadline=deadline
                ),
                state=state,
                timeout=300,
            )
        finally:
            close_all(hosts)
        seconds = time.perf_counter() - started
        after = parallel(used, logins)
        return {
            "seconds": seconds,
            "applied": applied,
            "logins": [a - b for a, b in zip(after, before, strict=True)],
            "calls": {
                n.address: {
                    **counted[n.address].calls,
                    **{k: round(v, 2) for k, v in counted[n.address].seconds.items()},
                }
                for n in used
            },
        }

    def remove(self, plan: ClusterPlan) -> float:
        started = time.perf_counter()
        report = remove(
            plan.nodes,
            lambda host, seconds: self.connect(host, Deadline.after(seconds)),
            cluster=plan.cluster_name,
            tools_image=plan.tools_image,
        )
        if not report.complete:
            raise SystemExit(f"remove failed: {report.summary()}")
        return time.perf_counter() - started

    def baseline(self, plan: ClusterPlan) -> float:
        """The plan's containers by the docker CLI inside each node, plane by plane, each
        plane's health endpoints answering before the next."""
        by_address = {n.address: n for n in self.fleet}
        made: dict[str, set[str]] = {h.address: set() for h in plan.nodes}
        started = time.perf_counter()
        parallel(list(plan.nodes), lambda h: containers.write_files(by_address[h.address], h))
        for plane in PLANES:
            hosts = [h for h in plan.nodes if any(c.plane == plane for c in h.containers)]

            def one(host: HostPlan, plane: str = plane) -> None:
                # one `docker exec` per host and plane: every create/start, then the probes
                specs = plane_specs(host, plane)
                needed = {n for s in specs for n in s.volumes_from}
                steps = []
                for spec in sorted(specs, key=lambda s: s.name not in needed):
                    if spec.name not in made[host.address]:
                        steps.append(shlex.join(containers.create_command(spec)) + " >/dev/null")
                        if spec.start:
                            steps.append(f"docker start {spec.name} >/dev/null")
                        made[host.address].add(spec.name)
                probes = [
                    "|".join((s.health_check.url, *self._client(host, s.health_check)))
                    for s in specs
                    if s.plane == plane and s.health_check is not None
                ]
                if probes:
                    steps.append(
                        f"python3 -c {shlex.quote(PROBE)} {HEALTH_TIMEOUT} {shlex.join(probes)}"
                    )
                if steps:
                    by_address[host.address].exec(" && ".join(steps), timeout=HEALTH_TIMEOUT + 30)

            parallel(hosts, one)
        return time.perf_counter() - started

    @staticmethod
    def _client(host: HostPlan, check: HealthCheck) -> tuple[str, str]:
        if not check.client_certificate:
            return "", ""
        return (
            names.on_host(host.prefix_path, names.ssl(check.client_certificate)),
            names.on_host(host.prefix_path, names.ssl_key(check.client_certificate)),
        )

    def clean_baseline(self, used: Iterable[nodes.TestNode]) -> None:
        dirs = " ".join(shlex.quote(d) for d in CLEANED)
        parallel(
            list(used),
            lambda n: n.exec(
                f'ids=$(docker ps -aq); [ -z "$ids" ] || docker rm -fv $ids >/dev/null; '
                f"rm -rf {dirs}"
            ),
        )


def per_host(calls: dict[str, dict[str, int]]) -> dict[str, Any]:
    """Port calls per host: the etcd/control-plane host and the largest of the workers."""
    values = list(calls.values())
    out = {"first_host": values[0]}
    if len(values) > 1:
        out["worker_max"] = {k: max(v.get(k, 0) for v in values[1:]) for k in values[1]}
    return out


def one_run(bench: Bench, config: ClusterConfig, used: list[nodes.TestNode]) -> dict[str, Any]:
    """Create, no-op, remove, baseline, clean: one sample of every number."""
    create = bench.up(config, None)
    applied: Applied = create["applied"]
    noop = bench.up(config, applied.state)
    assert not noop["applied"].report.changed, noop["applied"].report.summary()
    remove_s = bench.remove(applied.plan)
    base = bench.baseline(applied.plan)
    bench.clean_baseline(used)
    return {
        "up_s": create["seconds"],
        "noop_up_s": noop["seconds"],
        "baseline_s": base,
        "remove_s": remove_s,
        "logins": {"up": create["logins"], "noop_up": noop["logins"]},
        "calls": {"up": per_host(create["calls"]), "noop_up": per_host(noop["calls"])},
        "containers_made": len(applied.report.containers),
    }


def summarize(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of the times (and every sample), ratios of the medians, the last run's calls."""
    median = {
        k: statistics.median(s[k] for s in samples)
        for k in ("up_s", "noop_up_s", "baseline_s", "remove_s")
    }
    return {
        **{k: round(v, 2) for k, v in median.items()},
        "samples": {
            k: [round(s[k], 2) for s in samples] for k in ("up_s", "noop_up_s", "baseline_s")
        },
        "up_over_baseline": round(median["up_s"] / median["baseline_s"], 2),
        "noop_over_up": round(median["noop_up_s"] / median["up_s"], 3),
        "ssh_logins_per_host": {
            run: sorted({n for s in samples for n in s["logins"][run]}) for run in ("up", "noop_up")
        },
        "port_calls_per_host": samples[-1]["calls"],
        "containers_made": samples[-1]["containers_made"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1,3,6", help="node counts (default %(default)s)")
    parser.add_argument("--runs", type=int, default=2, help="samples per count (median)")
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    total = time.perf_counter()
    nodes.ensure_image()
    system_images = images.system_images()
    prefix = f"benchprov{os.getpid()}-"
    result: dict[str, Any] = {
        "clusters": "1 node with every role; N>1: node 1 every role, the rest workers"
    }
    runs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        key = keys.make_keys(Path(tmp))["ed25519"]
        try:
            started = time.perf_counter()
            fleet = nodes.start_nodes(max(counts), prefix=prefix, authorized_keys=[key.public_text])
            parallel(fleet, lambda n: images.load(n.name, system_images.values()))
            result["nodes_started_and_images_loaded_s"] = round(time.perf_counter() - started, 1)
            bench = Bench(fleet, key.private_path, system_images)
            for count in counts:
                config = bench.config(count)
                samples = [one_run(bench, config, fleet[:count]) for _ in range(args.runs)]
                runs[str(count)] = summarize(samples)
        finally:
            nodes.stop_nodes(prefix)
    result["runs"] = runs
    first, last = str(counts[0]), str(counts[-1])
    result["goals"] = {
        "up_over_baseline_under_1.3": {c: r["up_over_baseline"] for c, r in runs.items()},
        "noop_over_up_under_0.2": {c: r["noop_over_up"] for c, r in runs.items()},
        "ssh_logins_per_host_exactly_1": sorted(
            {n for r in runs.values() for v in r["ssh_logins_per_host"].values() for n in v}
        ),
        f"up_{last}_over_up_{first}_under_1.5": round(runs[last]["up_s"] / runs[first]["up_s"], 2),
    }
    result["bench_total_s"] = round(time.perf_counter() - total, 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
