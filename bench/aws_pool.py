"""Benchmark: what a pool of EC2 machines costs, against moto's EC2 server on 127.0.0.1.

Prints JSON: for pools of 10 and 50, the EC2 API calls (counted at the server, by action) and
the wall time to create the pool, scale it up by half, scale it back down, and delete it.
Creates and deletes go through the SDK's own dynamic-provider server (``python -m
pulumi.dynamic``, as the engine starts it) and are sent all at once, as the engine sends the
independent resources of a pool. ``in_process`` repeats the creates on the provider itself
with one thread per machine: it shows whether launches overlap when nothing caps them.

moto answers in a few milliseconds and is CPU-bound; EC2 answers in tens to hundreds. Each
request is therefore held ``--latency-ms`` (default 50) at moto's HTTP front, so the numbers
show what overlaps and what queues, not moto's own CPU.
Run: python3 bench/aws_pool.py [--latency-ms N]
"""

from __future__ import annotations

import argparse
import collections
import io
import json
import logging
import os
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import boto3
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server
from wire import plugin, to_struct, urn

REGION = "eu-west-1"
TYPE = "pulumi-python:dynamic/pyrke/aws:Instance"


class Front:
    """moto's WSGI app behind a counter of EC2 actions and an emulated API latency."""

    def __init__(self, latency: float) -> None:
        self.app = DomainDispatcherApplication(create_backend_app)
        self.latency = latency
        self.calls: collections.Counter[str] = collections.Counter()
        self.in_flight = 0
        self.max_in_flight: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        action = urllib.parse.parse_qs(body.decode(errors="replace")).get("Action", ["other"])[0]
        with self.lock:
            self.calls[action] += 1
            self.in_flight += 1
            self.max_in_flight[action] = max(self.max_in_flight[action], self.in_flight)
        try:
            time.sleep(self.latency)  # bench only: EC2's answer time (the library never sleeps)
            return self.app(environ, start_response)
        finally:
            with self.lock:
                self.in_flight -= 1

    def take(self) -> dict[str, int]:
        with self.lock:
            counted = dict(sorted(self.calls.items()))
            self.calls.clear()
        return counted


def start_moto(front: Front) -> str:
    server = make_server("127.0.0.1", 0, front, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}"


def instance_inputs(world: dict[str, Any], pool: str, index: int) -> dict[str, Any]:
    from wire import provider_blob

    from pulumi_pyrke.providers.aws import InstanceProvider

    subnet = world["subnets"][index % len(world["subnets"])]
    return {
        "region": REGION,
        "ami": world["ami"],
        "instance_type": "t3.micro",
        "subnet_id": subnet,
        "security_group_ids": [world["group"]],
        "key_name": "bench",
        "name": f"{pool}-{index}",
        "pool": pool,
        "index": index,
        "project": "bench",
        "stack": "dev",
        "__provider": provider_blob(InstanceProvider()),
    }


def timed(work: Any, items: list[Any]) -> float:
    """Send every item at once, as the engine sends independent resources."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, len(items))) as pool:
        list(pool.map(work, items))
    return time.perf_counter() - started


def run_pool(wire: Any, front: Front, world: dict[str, Any], size: int) -> dict[str, Any]:
    pool = f"bench-{size}"
    created: dict[int, tuple[str, Any]] = {}
    lock = threading.Lock()

    def create(index: int) -> None:
        where = urn(TYPE, f"{pool}-{index}", project="bench")
        checked = wire.check(where, to_struct(instance_inputs(world, pool, index)))
        assert checked.failures == [], checked.failures
        done = wire.create(where, checked.struct)
        with lock:
            created[index] = (done.id, done.struct)

    def delete(index: int) -> None:
        id_, outs = created.pop(index)
        wire.delete(urn(TYPE, f"{pool}-{index}", project="bench"), id_, outs)

    front.take()
    front.max_in_flight.clear()
    result: dict[str, Any] = {"machines": size}
    result["create_s"] = round(timed(create, list(range(size))), 3)
    result["create_calls"] = front.take()
    result["create_max_run_instances_in_flight"] = front.max_in_flight["RunInstances"]
    more = list(range(size, size + size // 2))
    result["scale_up_s"] = round(timed(create, more), 3)
    result["scale_up_calls"] = front.take()
    result["scale_down_s"] = round(timed(delete, sorted(more, reverse=True)), 3)
    result["scale_down_calls"] = front.take()
    result["delete_s"] = round(timed(delete, list(range(size))), 3)
    result["delete_calls"] = front.take()
    return result


def run_in_process(front: Front, world: dict[str, Any], size: int) -> float:
    from pulumi_pyrke.providers.aws import InstanceProvider

    provider = InstanceProvider()
    pool = f"direct-{size}"

    def create(index: int) -> None:
        inputs = instance_inputs(world, pool, index)
        inputs.pop("__provider")
        provider.create(provider.check({}, inputs).inputs)

    front.take()
    return round(timed(create, list(range(size))), 3)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    front = Front(args.latency_ms / 1000)
    endpoint = start_moto(front)
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
        AWS_CONFIG_FILE="/nonexistent",
    )
    client = boto3.client("ec2", region_name=REGION)
    subnets = sorted(client.describe_subnets()["Subnets"], key=lambda s: s["AvailabilityZone"])
    client.create_key_pair(KeyName="bench")
    group = client.create_security_group(
        GroupName="bench", Description="bench", VpcId=subnets[0]["VpcId"]
    )
    world = {
        "subnets": [s["SubnetId"] for s in subnets],
        "group": group["GroupId"],
        "ami": client.describe_images(Owners=["amazon"])["Images"][0]["ImageId"],
    }
    report: dict[str, Any] = {"emulated_api_latency_ms": args.latency_ms, "pools": []}
    with plugin(project="bench") as wire:
        run_pool(
            wire, front, world, 2
        )  # warm: moto's region, the plugin's imports, the template check
        for size in (10, 50):
            report["pools"].append(run_pool(wire, front, world, size))
    ten, fifty = report["pools"]
    report["through_plugin_create_ratio_50_vs_10"] = round(fifty["create_s"] / ten["create_s"], 2)
    run_in_process(front, world, 2)  # warm: this process's imports and template check
    direct = {size: run_in_process(front, world, size) for size in (10, 50)}
    report["in_process_create_s"] = direct
    report["in_process_create_ratio_50_vs_10"] = round(direct[50] / direct[10], 2)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
