"""Benchmark: the ports over one SSH connection to a real test node (Docker-in-Docker).

Prints JSON: put_file and read_file throughput (MB/s) for a few sizes, load_image throughput
for a locally built FROM-scratch image (busybox-static plus a random blob), inspect calls per
second, and the SSH logins all of it cost (counted in the node's sshd log: one).
Needs Docker and busybox-static; builds the test node image on first use (about 45 s).
Run: python3 bench/ports.py [--blob-mb N]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from harness import keys, nodes

from pulumi_pyrke.deadline import Deadline
from pulumi_pyrke.model.plan import ContainerSpec
from pulumi_pyrke.transport import SSHTarget, open_host

TAG = "pyrke-bench/blob:1"


def logins(node: nodes.TestNode) -> int:
    return len(re.findall(r"Accepted (publickey|certificate)", node.sshd_log()))


def image_tar(blob_mb: int) -> bytes:
    """`docker save` of FROM scratch + busybox + ``blob_mb`` MB of random bytes."""
    with tempfile.TemporaryDirectory() as context:
        shutil.copy("/bin/busybox", Path(context) / "busybox")
        (Path(context) / "blob").write_bytes(os.urandom(blob_mb * 2**20))
        (Path(context) / "Dockerfile").write_text(
            'FROM scratch\nCOPY busybox /bin/busybox\nCOPY blob /blob\nENTRYPOINT ["/bin/busybox"]\n'
        )
        subprocess.run(
            ["docker", "build", "-q", "-t", TAG, context],
            env={"DOCKER_BUILDKIT": "0", "PATH": os.environ["PATH"]},
            check=True,
            capture_output=True,
        )
    data = subprocess.run(["docker", "save", TAG], check=True, capture_output=True).stdout
    subprocess.run(["docker", "rmi", TAG], check=False, capture_output=True)
    return data


def mb_per_s(size: int, seconds: float) -> float:
    return round(size / 2**20 / seconds, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blob-mb", type=int, default=64)
    parser.add_argument("--inspects", type=int, default=200)
    args = parser.parse_args()
    nodes.ensure_image()
    prefix = f"benchports{os.getpid()}-"
    tar = image_tar(args.blob_mb)
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        key = keys.make_keys(Path(tmp))["ed25519"]
        try:
            (node,) = nodes.start_nodes(1, prefix=prefix, authorized_keys=[key.public_text])
            before = logins(node)
            target = SSHTarget(address=node.address, key_path=str(key.private_path))
            with open_host(target, deadline=Deadline.after(60)) as host:
                files: dict[str, Any] = {}
                for size_mb in (1, 16, 64):
                    data = os.urandom(size_mb * 2**20)
                    put, read = [], []
                    for _ in range(3):
                        started = time.perf_counter()
                        host.put_file(f"/tmp/bench/{size_mb}.bin", data)
                        put.append(time.perf_counter() - started)
                        started = time.perf_counter()
                        back = host.read_file(f"/tmp/bench/{size_mb}.bin", max_bytes=len(data))
                        read.append(time.perf_counter() - started)
                        assert back == data
                    files[f"{size_mb}_MB"] = {
                        "put_MB_s": mb_per_s(len(data), statistics.median(put)),
                        "read_MB_s": mb_per_s(len(data), statistics.median(read)),
                    }
                result["files"] = files
                engine = host.docker()
                chunks = [tar[i : i + 2**20] for i in range(0, len(tar), 2**20)]
                started = time.perf_counter()
                loaded = engine.load_image(chunks)
                load_s = time.perf_counter() - started
                assert loaded == (TAG,), loaded
                result["load_image"] = {
                    "MB": round(len(tar) / 2**20, 1),
                    "seconds": round(load_s, 2),
                    "MB_s": mb_per_s(len(tar), load_s),
                }
                engine.create_container(
                    ContainerSpec(name="bench", plane="worker", image=TAG, args=("true",))
                )
                started = time.perf_counter()
                for _ in range(args.inspects):
                    assert engine.inspect_container("bench") is not None
                inspect_s = time.perf_counter() - started
                result["inspect"] = {
                    "calls": args.inspects,
                    "per_s": round(args.inspects / inspect_s),
                    "ms_each": round(1000 * inspect_s / args.inspects, 2),
                }
                engine.remove_container("bench", force=True)
            result["ssh_logins"] = logins(node) - before
        finally:
            nodes.stop_nodes(prefix)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
