"""InstanceProvider against moto's server (a real HTTP endpoint speaking EC2's API on
127.0.0.1): launch, adopt after a create that raised, read, tag in place, terminate, and
every error a template can meet, each naming the field and what to do.

Stand-ins, each named beside its test: moto does not model capacity or account limits, so
those two answers are injected at the boto3 client's edge (a botocore ``before-call``
handler answering RunInstances as EC2 does); a lost RunInstances answer is an ``after-call``
handler raising botocore's ReadTimeoutError after moto has launched the machine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError
from harness.aws import World

from pulumi_pyrke.errors import NodeSourceError
from pulumi_pyrke.providers.aws import InstanceProvider
from pulumi_pyrke.sources.ec2 import Ec2

KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nSENTINEL-instance-key\n-----END OPENSSH PRIVATE KEY-----\n"


class Hooked(InstanceProvider):
    """An InstanceProvider whose real client carries botocore event handlers (the edge)."""

    def __init__(self, hooks: list[tuple[str, Callable[..., Any]]]) -> None:
        self.hooks = hooks

    def connect(self, region: str) -> Ec2:
        ec2 = super().connect(region)
        for event, handler in self.hooks:
            ec2.client.meta.events.register(event, handler)
        return ec2


def inputs(world: World, **extra: Any) -> dict[str, Any]:
    news = {
        "region": world.region,
        "ami": world.ami,
        "instance_type": "t3.micro",
        "subnet_id": world.subnets[0],
        "security_group_ids": [world.group],
        "key_name": world.key_name,
        "ssh_private_key": KEY,
        "name": f"{world.pool}-0",
        "pool": world.pool,
        "index": 0,
        "project": "proj",
        "stack": "dev",
        "roles": ["worker"],
        **extra,
    }
    checked = InstanceProvider().check({}, news)
    assert checked.failures == [], checked.failures
    return dict(checked.inputs)


def create_error(
    world: World, provider: InstanceProvider | None = None, **extra: Any
) -> NodeSourceError:
    with pytest.raises(NodeSourceError) as err:
        (provider or InstanceProvider()).create(inputs(world, **extra))
    assert KEY not in str(err.value) and "SENTINEL" not in str(err.value)
    return err.value


def test_create_read_update_delete(ec2: World) -> None:
    provider = InstanceProvider()
    props = inputs(
        ec2, tags={"team": "a", "cost": "x"}, root_volume_size=30, root_volume_type="gp3"
    )
    created = provider.create(props)
    outs = created.outs
    assert created.id.startswith("i-") and outs["state"] == "running"
    assert outs["availability_zone"] == ec2.zones[0] and outs["image_id"] == ec2.ami
    assert outs["address"] == outs["public_ip"] and outs["internal_address"] == outs["private_ip"]
    assert outs["node"] == {
        "address": outs["public_ip"],
        "internal_address": outs["private_ip"],
        "user": "ubuntu",
        "roles": ["worker"],
        "labels": {},
        "taints": [],
        "ssh_private_key": KEY,
    }
    (machine,) = ec2.pool_instances()
    tags = {t["Key"]: t["Value"] for t in machine["Tags"]}
    assert tags["Name"] == f"{ec2.pool}-0" and tags["pyrke:stack"] == "proj/dev"
    assert tags["pyrke:pool"] == ec2.pool and tags["pyrke:index"] == "0" and tags["team"] == "a"
    assert machine["KeyName"] == ec2.key_name and machine["InstanceType"] == "t3.micro"
    assert [g["GroupId"] for g in machine["SecurityGroups"]] == [ec2.group]
    user_data = ec2.client.describe_instance_attribute(InstanceId=created.id, Attribute="userData")
    assert user_data["UserData"]["Value"]  # the default script went along (base64)

    read = provider.read(created.id, outs)
    assert read.id == created.id and read.outs["private_ip"] == outs["private_ip"]
    assert read.inputs is not None and "state" not in read.inputs

    retagged = inputs(
        ec2, tags={"team": "b"}, labels={"zone": "a"}, root_volume_size=30, root_volume_type="gp3"
    )
    diff = provider.diff(created.id, outs, retagged)
    assert diff.changes and diff.replaces == []
    updated = provider.update(created.id, outs, retagged)
    assert updated.outs is not None and updated.outs["node"]["labels"] == {"zone": "a"}
    (machine,) = ec2.pool_instances()
    tags = {t["Key"]: t["Value"] for t in machine["Tags"]}
    assert (
        tags["team"] == "b"
        and "cost" not in tags
        and tags["pyrke:launch"] == outs["launch_identity"]
    )

    resized = {**retagged, "instance_type": "t3.small"}
    assert provider.diff(created.id, outs, resized).replaces == ["instance_type"]

    provider.delete(created.id, updated.outs)
    assert ec2.pool_instances() == []
    provider.delete(created.id, updated.outs)  # already terminated: done
    assert provider.read(created.id, updated.outs).id == ""


def test_read_sees_a_terminate_or_stop_behind_our_back(ec2: World) -> None:
    provider = InstanceProvider()
    created = provider.create(inputs(ec2))
    ec2.client.stop_instances(InstanceIds=[created.id])
    stopped = provider.read(created.id, created.outs)
    assert stopped.id == created.id and stopped.outs["state"] == "stopped"
    ec2.client.terminate_instances(InstanceIds=[created.id])
    assert provider.read(created.id, created.outs).id == ""  # gone: Pulumi drops it on refresh
    with pytest.raises(NodeSourceError, match="pulumi refresh"):
        provider.update(created.id, created.outs, inputs(ec2, tags={"a": "b"}))


def test_a_create_that_raised_after_the_launch_adopts_that_machine(ec2: World) -> None:
    """Stand-in: the answer to RunInstances is lost (ReadTimeoutError raised after moto has
    launched the machine), as a dropped connection would lose it."""

    def lose_answer(**_: Any) -> None:
        raise ReadTimeoutError(endpoint_url=ec2.endpoint)

    props = inputs(ec2)
    with pytest.raises(NodeSourceError, match="could not reach EC2"):
        Hooked([("after-call.ec2.RunInstances", lose_answer)]).create(props)
    (launched,) = ec2.pool_instances()  # the launch did happen

    again = InstanceProvider().create(props)
    assert again.id == launched["InstanceId"]
    assert len(ec2.pool_instances()) == 1  # no second machine
    assert InstanceProvider().create(props).id == launched["InstanceId"]


def test_a_machine_terminated_earlier_is_not_the_answer_of_a_new_create(ec2: World) -> None:
    """A pool scaled down and up again: the same resource and template launch a new machine."""
    provider = InstanceProvider()
    first = provider.create(inputs(ec2))
    provider.delete(first.id, first.outs)
    second = provider.create(inputs(ec2))
    assert second.id != first.id and len(ec2.pool_instances()) == 1
    tokens = {i["ClientToken"] for i in ec2.pool_instances(live=False)}
    assert len(tokens) == 2  # a new idempotency token for the new launch


def test_ami_by_owner_and_name_pattern_newest_first(ec2: World) -> None:
    provider = InstanceProvider()
    builder = provider.create(inputs(ec2, name="builder", pool=f"{ec2.pool}-images"))
    old = ec2.client.create_image(InstanceId=builder.id, Name="pyrke-node-2024.01")["ImageId"]
    new = ec2.client.create_image(InstanceId=builder.id, Name="pyrke-node-2025.06")["ImageId"]
    ec2.client.create_image(InstanceId=builder.id, Name="other-2026.01")
    owner = ec2.client.describe_images(ImageIds=[old])["Images"][0]["OwnerId"]
    created = provider.create(inputs(ec2, ami=None, ami_owner=owner, ami_name="pyrke-node-*"))
    assert created.outs["image_id"] == new != old
    (machine,) = ec2.pool_instances()
    assert machine["ImageId"] == new
    err = create_error(ec2, ami=None, ami_owner=owner, ami_name="nothing-like-this-*", name="x")
    assert err.field == "ami_name" and "nothing-like-this-*" in str(err)


def test_an_image_that_does_not_exist(ec2: World) -> None:
    err = create_error(ec2, ami="ami-0123456789abcdef0")
    assert err.field == "ami" and err.code == "InvalidAMIID.NotFound"
    assert "ami-0123456789abcdef0" in str(err) and "region eu-west-1" in str(err)
    assert "AWS InvalidAMIID.NotFound" in str(err)  # AWS's code and message are kept


def test_an_image_of_another_region(ec2: World) -> None:
    other = boto3.client("ec2", region_name="us-west-2")
    subnet = other.describe_subnets()["Subnets"][0]["SubnetId"]
    ami = other.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    machine = other.run_instances(ImageId=ami, MinCount=1, MaxCount=1, SubnetId=subnet)
    image = other.create_image(InstanceId=machine["Instances"][0]["InstanceId"], Name="west-only")
    err = create_error(ec2, ami=image["ImageId"])
    assert err.field == "ami" and "AMI ids differ per region" in str(err)


def test_a_subnet_that_does_not_exist(ec2: World) -> None:
    err = create_error(ec2, subnet_id="subnet-0123456789abcdef0")
    assert err.field == "subnet_id" and err.code == "InvalidSubnetID.NotFound"
    assert "subnet-0123456789abcdef0" in str(err)


def test_a_security_group_that_does_not_exist(ec2: World) -> None:
    err = create_error(ec2, security_group_ids=["sg-0123456789abcdef0"])
    assert err.field == "security_group_ids" and err.code == "InvalidGroup.NotFound"


def test_a_key_pair_that_does_not_exist(ec2: World) -> None:
    err = create_error(ec2, key_name="nobody-has-this")
    assert err.field == "key_name" and err.code == "InvalidKeyPair.NotFound"
    assert "import-key-pair" in str(err) and "'nobody-has-this'" in str(err)


def test_an_instance_type_not_offered_in_the_subnets_zone(ec2: World) -> None:
    def offered(location_type: str, location: str) -> set[str]:
        pages = ec2.client.get_paginator("describe_instance_type_offerings").paginate(
            LocationType=location_type, Filters=[{"Name": "location", "Values": [location]}]
        )
        return {o["InstanceType"] for page in pages for o in page["InstanceTypeOfferings"]}

    missing = sorted(offered("region", ec2.region) - offered("availability-zone", ec2.zones[0]))
    assert missing, "moto's offering data has every type in every zone"
    err = create_error(ec2, instance_type=missing[0])
    assert err.field == "instance_type" and ec2.zones[0] in str(err) and missing[0] in str(err)
    assert ec2.pool_instances() == []  # refused before any launch


def _refuse(code: str, message: str) -> Callable[..., Any]:
    class Http:
        status_code = 400
        headers: dict[str, str] = {}

    def answer(**_: Any) -> tuple[Any, dict[str, Any]]:
        return Http(), {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {}}

    return answer


@pytest.mark.parametrize(
    ("code", "message", "says"),
    [
        (
            "InsufficientInstanceCapacity",
            "We currently do not have sufficient t3.micro capacity in the Availability Zone you requested (eu-west-1a).",
            "another availability zone",
        ),
        (
            "VcpuLimitExceeded",
            "You have requested more vCPU capacity than your current vCPU limit of 32 allows.",
            "Service Quotas",
        ),
        (
            "InstanceLimitExceeded",
            "Your quota allows for 0 more running instance(s).",
            "lower the pool's quantity",
        ),
    ],
)
def test_no_capacity_or_a_limit_reached(ec2: World, code: str, message: str, says: str) -> None:
    """Stand-in: moto does not model capacity or account limits; RunInstances is answered at
    the boto3 client's edge with EC2's own error code and message."""
    hooked = Hooked([("before-call.ec2.RunInstances", _refuse(code, message))])
    err = create_error(ec2, hooked)
    assert err.code == code and err.field == "instance_type"
    assert message in str(err) and says in str(err) and f"{ec2.pool}-0" in str(err)


def test_missing_credentials_say_where_boto3_looked(
    ec2: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    err = create_error(ec2)
    assert err.field == "credentials" and "found no AWS credentials" in str(err)
    for where in ("AWS_ACCESS_KEY_ID", "/nonexistent/pyrke-test-credentials", "instance role"):
        assert where in str(err)


def test_invalid_credentials_are_refused_by_name(
    ec2: World, moto_with_auth: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real refusal: a moto server that authenticates every request against its IAM."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_with_auth)
    err = create_error(ec2)
    assert err.field == "credentials" and err.code == "AuthFailure"
    assert "(env)" in str(err) and "AWS was not able to validate" in str(err)


def test_the_endpoint_comes_from_the_environment(
    ec2: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """boto3 honours AWS_ENDPOINT_URL_EC2 over AWS_ENDPOINT_URL natively (no code of ours)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # boto3 would retry a refused connection ~20 s
    monkeypatch.setenv("AWS_ENDPOINT_URL_EC2", ec2.endpoint)
    assert Ec2.connect(ec2.region).endpoint == ec2.endpoint
    monkeypatch.delenv("AWS_ENDPOINT_URL_EC2")
    err = create_error(ec2)
    assert "could not reach EC2 at http://127.0.0.1:9" in str(err)
