"""`pyrke validate` on hostile and huge input: a 510-byte alias bomb and a 50 MB cluster.yml
(refused at the default 16 MB limit, then read with the limit raised). Each run is a fresh
process; prints JSON with its wall time, peak memory (ru_maxrss) and exit status."""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LOL = '"lolololololololololol"'
ALIAS_BOMB = f"a: &a [{','.join([LOL] * 9)}]\n" + "".join(
    f"{n}: &{n} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
    for p, n in zip("abcdefgh", "bcdefghi", strict=True)
)


def big_cluster(path: Path, size: int) -> None:
    """A valid cluster.yml of about ``size`` bytes: three control-plane nodes, then workers
    with labels and taints, as a generator would write them."""
    head = "kubernetes_version: v1.31.14-rancher1-1\nnodes:\n"
    parts = [head]
    total = len(head)
    i = 0
    while total < size:
        role = "[controlplane, etcd]" if i < 3 else "[worker]"
        node = (
            f"  - address: 10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}\n"
            f"    hostname_override: node-{i}\n"
            f"    user: ubuntu\n    role: {role}\n"
            f"    labels: {{zone: zone-{i % 3}, rack: r{i % 40}, release: 1.10}}\n"
            "    taints: [{key: dedicated, value: batch, effect: NoSchedule}]\n"
        )
        parts.append(node)
        total += len(node)
        i += 1
    path.write_text("".join(parts))


def one(argv: list[str]) -> None:
    """Run pyrke in this process and print its time and peak memory (the child side)."""
    from pulumi_pyrke.cli.main import main

    start = time.perf_counter()
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = main(argv)
    elapsed = time.perf_counter() - start
    print(json.dumps({"exit": code, "seconds": round(elapsed, 3), "peak_mb": _peak_mb()}))


def _peak_mb() -> float:
    """This process's peak resident memory: VmHWM (ru_maxrss survives exec on Linux, so it
    would report the parent's peak for a small run)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def measure(*argv: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, __file__, "--one", *argv],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--one", nargs=argparse.REMAINDER)
    parser.add_argument("--mb", type=int, default=50, help="size of the big cluster.yml")
    args = parser.parse_args()
    if args.one is not None:
        one(args.one)
        return
    with tempfile.TemporaryDirectory() as tmp:
        bomb = Path(tmp) / "bomb.yml"
        bomb.write_text(ALIAS_BOMB)
        big = Path(tmp) / "big.yml"
        big_cluster(big, args.mb * 1024 * 1024)
        out = {
            "alias_bomb": {"bytes": bomb.stat().st_size, **measure("validate", "-c", str(bomb))},
            f"cluster_yml_{args.mb}mb_default_limit": {
                "bytes": big.stat().st_size,
                **measure("validate", "-c", str(big)),
            },
            f"cluster_yml_{args.mb}mb_limit_raised": {
                "bytes": big.stat().st_size,
                **measure("validate", "-c", str(big), "--max-input-mb", str(args.mb + 8)),
            },
        }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
