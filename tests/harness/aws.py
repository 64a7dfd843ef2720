"""pytest plugin for EC2 tests: moto's server on 127.0.0.1 (a real HTTP endpoint speaking EC2's
API) started once per session, boto3 pointed at it through AWS_ENDPOINT_URL with fake
credentials, and for each test that asks for ``ec2`` a pool name of its own. Loaded by
tests/conftest.py."""

from __future__ import annotations

import dataclasses
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from pulumi_pyrke.sources.ec2 import clear_preflight_cache

REGION = "eu-west-1"
ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/pyrke-test-credentials",
    "AWS_CONFIG_FILE": "/nonexistent/pyrke-test-config",
}

MINIMAL_INSTANCE: dict[str, Any] = {
    "region": REGION,
    "ami": "ami-0abcdef1234567890",
    "instance_type": "t3.large",
    "subnet_id": "subnet-0abc1234def567890",
    "name": "pool-0",
}
"""The fewest inputs a valid Instance takes (checked offline; no such AMI or subnet exists)."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's server on a free loopback port; the environment points boto3 (and every plugin
    the tests start, which inherits it) at it."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    saved = {k: os.environ.get(k) for k in (*ENV, "AWS_ENDPOINT_URL", "AWS_PROFILE")}
    os.environ.update(ENV, AWS_ENDPOINT_URL=endpoint)
    os.environ.pop("AWS_PROFILE", None)
    try:
        yield endpoint
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()


@dataclass(frozen=True)
class World:
    """One EC2 region on moto: a client for the test's own look, the default VPC's subnets in
    three zones, an image, a key pair, a security group, and a pool name of the test's own
    (moto is shared by the session; names keep tests apart, a reset would cost seconds)."""

    endpoint: str
    client: Any
    region: str
    subnets: list[str]
    zones: list[str]
    vpc: str
    ami: str
    key_name: str
    group: str
    pool: str = "pool"

    def pool_instances(self, pool: str | None = None, *, live: bool = True) -> list[dict[str, Any]]:
        """Every machine tagged with pool ``pool`` (the test's own by default; live ones only)."""
        filters = [{"Name": "tag:pyrke:pool", "Values": [pool or self.pool]}]
        if live:
            states = ["pending", "running", "stopping", "stopped"]
            filters.append({"Name": "instance-state-name", "Values": states})
        pages = self.client.describe_instances(Filters=filters)["Reservations"]
        return [i for r in pages for i in r["Instances"]]


@pytest.fixture(scope="session")
def ec2_region(moto_endpoint: str) -> World:
    """The session's region: a key pair and a security group in the default VPC."""
    client = boto3.client("ec2", region_name=REGION)
    subnets = sorted(client.describe_subnets()["Subnets"], key=lambda s: s["AvailabilityZone"])
    vpc = subnets[0]["VpcId"]
    client.create_key_pair(KeyName="pyrke-test")
    group = client.create_security_group(GroupName="pyrke-nodes", Description="n", VpcId=vpc)
    ami = client.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    return World(
        endpoint=moto_endpoint,
        client=client,
        region=REGION,
        subnets=[s["SubnetId"] for s in subnets],
        zones=[s["AvailabilityZone"] for s in subnets],
        vpc=vpc,
        ami=ami,
        key_name="pyrke-test",
        group=group["GroupId"],
    )


@pytest.fixture
def ec2(ec2_region: World, request: pytest.FixtureRequest) -> World:
    """The session's region with a pool name no other test uses, and no template trusted yet."""
    clear_preflight_cache()
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[-40:]
    return dataclasses.replace(ec2_region, pool=f"p-{name}")


@pytest.fixture(scope="session")
def moto_with_auth() -> Iterator[str]:
    """A second moto server (its own process) that checks credentials as AWS does: every
    request is authenticated against moto's IAM, so made-up keys are refused (AuthFailure)."""
    port = free_port()
    env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="0")
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.05)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=30)
