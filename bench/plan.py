"""Planning time for 10, 100 and 1000 nodes (goal: 100 nodes under 100 ms, linear). Prints JSON."""

from __future__ import annotations

import json
import statistics
import sys
import time

from pulumi_pyrke.model.load import parse_cluster_config
from pulumi_pyrke.plan import plan_cluster


def cluster(n: int) -> dict[str, object]:
    """A cluster of n nodes: 3 etcd, 2 controlplane, the rest workers."""
    nodes = []
    for i in range(n):
        role = ["etcd"] if i < 3 else ["controlplane"] if i < 5 else ["worker"]
        nodes.append(
            {
                "address": f"10.{i // 65536}.{i // 256 % 256}.{i % 256}",
                "user": "ubuntu",
                "role": role,
            }
        )
    return {"kubernetes_version": "v1.28.15-rancher1-1", "nodes": nodes}


def measure(n: int, repeat: int) -> dict[str, float | int]:
    """Best and median time to parse + default + validate, and to plan, for n nodes."""
    data = cluster(n)
    parse_times, plan_times = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        loaded = parse_cluster_config(data)
        t1 = time.perf_counter()
        plan = plan_cluster(loaded.config)
        t2 = time.perf_counter()
        assert len(plan.nodes) == n
        parse_times.append((t1 - t0) * 1000)
        plan_times.append((t2 - t1) * 1000)
    return {
        "nodes": n,
        "parse_ms_median": round(statistics.median(parse_times), 2),
        "plan_ms_median": round(statistics.median(plan_times), 2),
        "plan_ms_best": round(min(plan_times), 2),
        "total_ms_median": round(
            statistics.median(p + q for p, q in zip(parse_times, plan_times, strict=True)), 2
        ),
    }


def main() -> int:
    """Run the benchmark and print one JSON document."""
    plan_cluster(parse_cluster_config(cluster(5)).config)  # warm caches (version table)
    results = [measure(10, 30), measure(100, 15), measure(1000, 5)]
    per_node = [r["total_ms_median"] / r["nodes"] for r in results]
    print(
        json.dumps(
            {
                "benchmark": "plan",
                "results": results,
                "ms_per_node": [round(x, 3) for x in per_node],
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
