"""The pure half of EC2 machines: input checks (every problem, unknowns accepted), the diff,
the default user data, the launch identity and the parser of EC2's instance records."""

from __future__ import annotations

import base64
from typing import Any

from pulumi.output import Unknown

from pulumi_pyrke.model.ec2_facts import newest_image, parse_instance
from pulumi_pyrke.model.instance import InstanceSpec, client_token
from pulumi_pyrke.model.instance_check import check_instance_inputs, diff_instance
from pulumi_pyrke.model.user_data import BOUNDARY, build_user_data, default_user_data
from pulumi_pyrke.providers._wire import is_unknown

BASE: dict[str, Any] = {
    "region": "eu-west-1",
    "ami": "ami-0abcdef1234567890",
    "instance_type": "t3.large",
    "subnet_id": "subnet-0abc1234def567890",
    "name": "pool-0",
}


def problems(**inputs: Any) -> dict[str, str]:
    result = check_instance_inputs({**BASE, **inputs}, is_unknown=is_unknown)
    return {p.path: p.message for p in result.problems}


def test_defaults_are_filled() -> None:
    result = check_instance_inputs(BASE, is_unknown=is_unknown)
    assert result.problems == () and result.spec is not None
    assert result.inputs["ssh_user"] == "ubuntu" and result.inputs["wait_timeout"] == 600
    assert result.inputs["security_group_ids"] == [] and result.inputs["index"] == 0


def test_every_problem_at_once_with_its_field() -> None:
    found = problems(
        region="Europe",
        ami="image-1",
        instance_type="large",
        subnet_id="sub-1",
        security_group_ids=["sg-1"],
        root_volume_type="ssd",
        root_volume_size=0,
        spot_price="cheap",
        tags={"aws:owner": "me"},
        roles=["boss"],
        wait_timeout=-1,
        ssh_user="root; rm -rf /",
        colour="blue",
    )
    assert set(found) == {
        "region",
        "ami",
        "instance_type",
        "subnet_id",
        "security_group_ids[0]",
        "root_volume_type",
        "root_volume_size",
        "spot_price",
        'tags["aws:owner"]',
        "roles[0]",
        "wait_timeout",
        "ssh_user",
        "colour",
    }
    assert "eu-west-1" in found["region"] and "ami-0abcdef1234567890" in found["ami"]
    assert "gp3" in found["root_volume_type"] and "reserved" in found['tags["aws:owner"]']


def test_an_image_is_an_id_or_a_pattern_with_its_owner() -> None:
    assert "ami_owner" in problems(ami=None, ami_name="ubuntu/*")
    assert "not both" in problems(ami_name="ubuntu/*", ami_owner="099720109477")["ami"]
    assert "is required" in problems(ami=None)["ami"]
    assert problems(ami=None, ami_name="ubuntu/*", ami_owner="099720109477") == {}


def test_user_data_over_16k_is_refused_before_aws() -> None:
    found = problems(user_data="#!/bin/sh\n" + "x" * 17000)
    assert "16384" in found["user_data"]


def test_the_private_key_is_never_echoed() -> None:
    found = problems(ssh_private_key=["SENTINEL-KEY"])
    assert "SENTINEL-KEY" not in str(found) and "ssh_private_key" in found


def test_unknowns_are_accepted_and_kept() -> None:
    unknown = Unknown()
    raw = {**BASE, "subnet_id": unknown, "ami": unknown, "tags": {"team": unknown}}
    result = check_instance_inputs(raw, is_unknown=is_unknown)
    assert result.problems == () and result.spec is None
    assert result.inputs["subnet_id"] is unknown and result.inputs["tags"]["team"] is unknown


def test_diff_replaces_on_the_template_and_updates_tags_in_place() -> None:
    olds = {**check_instance_inputs(BASE, is_unknown=is_unknown).inputs, "instance_id": "i-1"}
    olds["wait_timeout"] = 600.0  # wire numbers are floats
    news = check_instance_inputs(BASE, is_unknown=is_unknown).inputs
    assert diff_instance(olds, news, is_unknown=is_unknown).changes == ()
    retyped = diff_instance(olds, {**news, "instance_type": "t3.xlarge"}, is_unknown=is_unknown)
    assert retyped.replaces == ("instance_type",)
    tagged = diff_instance(olds, {**news, "tags": {"team": "a"}}, is_unknown=is_unknown)
    assert tagged.changes == ("tags",) and tagged.replaces == ()
    relabelled = diff_instance(olds, {**news, "labels": {"a": "b"}}, is_unknown=is_unknown)
    assert relabelled.replaces == ()
    preview = diff_instance(olds, {**news, "subnet_id": Unknown()}, is_unknown=is_unknown)
    assert preview.replaces == ("subnet_id",)
    regrouped = diff_instance(
        {**olds, "security_group_ids": ["sg-0000000b", "sg-0000000a"]},
        {**news, "security_group_ids": ["sg-0000000a", "sg-0000000b"]},
        is_unknown=is_unknown,
    )
    assert regrouped.changes == ()


def test_launch_identity_follows_resource_and_template_only() -> None:
    spec = InstanceSpec.model_validate({**BASE, "project": "p", "stack": "dev"})
    same = InstanceSpec.model_validate({**BASE, "project": "p", "stack": "dev", "tags": {"a": "b"}})
    other = InstanceSpec.model_validate(
        {**BASE, "project": "p", "stack": "dev", "instance_type": "m5.large"}
    )
    elsewhere = InstanceSpec.model_validate({**BASE, "project": "p", "stack": "prod"})
    assert spec.launch_identity() == same.launch_identity()
    assert len({spec.launch_identity(), other.launch_identity(), elsewhere.launch_identity()}) == 3
    assert len(client_token(spec.launch_identity(), 12)) <= 64
    tags = spec.instance_tags()
    assert tags["Name"] == "pool-0" and tags["pyrke:stack"] == "p/dev"
    assert tags["pyrke:launch"] == spec.launch_identity()


def test_launch_identity_is_stable() -> None:
    """Machines already running carry this tag: a create run again finds them by it, so the
    digest of the same resource and template must never change."""
    spec = InstanceSpec.model_validate(
        {
            **BASE,
            "project": "p",
            "stack": "dev",
            "security_group_ids": ["sg-0000000b", "sg-0000000a"],
            "spot_price": 0.05,
            "root_volume_size": 30,
            "ssh_private_key": "K",
            "roles": ["worker", "etcd"],
        }
    )
    assert spec.launch_identity() == "5f6bf59df459368a96235c896292a489"


def test_default_user_data_installs_docker_and_adds_the_user() -> None:
    script = default_user_data("ec2-user")
    assert script.startswith("#!/bin/sh") and "apt-get install -y -q docker.io" in script
    assert "dnf install -y docker" in script and "usermod -aG docker ec2-user" in script
    assert build_user_data("ubuntu", None, None) == default_user_data("ubuntu")
    assert build_user_data("ubuntu", "#!/bin/sh\necho mine\n", None) == "#!/bin/sh\necho mine\n"


def test_extra_user_data_runs_after_as_a_second_mime_part() -> None:
    text = build_user_data("ubuntu", None, "#cloud-config\npackages: [jq]\n")
    assert text.startswith(f'Content-Type: multipart/mixed; boundary="{BOUNDARY}"')
    first, second = text.split(f"--{BOUNDARY}\n")[1:3]
    assert "text/x-shellscript" in first and "usermod -aG docker ubuntu" in first
    assert "text/cloud-config" in second and "packages: [jq]" in second
    assert text == build_user_data("ubuntu", None, "#cloud-config\npackages: [jq]\n")
    assert base64.b64encode(text.encode())  # plain text EC2 encodes itself


def test_parse_a_recorded_instance_record() -> None:
    record = {
        "InstanceId": "i-0abc",
        "State": {"Code": 16, "Name": "running"},
        "ImageId": "ami-1",
        "SubnetId": "subnet-1",
        "Placement": {"AvailabilityZone": "eu-west-1b"},
        "PrivateIpAddress": "10.0.1.5",
        "PublicIpAddress": "203.0.113.5",
        "Tags": [{"Key": "Name", "Value": "pool-0"}],
    }
    facts = parse_instance(record)
    assert facts.live and facts.availability_zone == "eu-west-1b"
    assert facts.public_ip == "203.0.113.5" and facts.tag_map == {"Name": "pool-0"}
    assert not parse_instance({"InstanceId": "i-1", "State": {"Name": "terminated"}}).live


def test_newest_image_by_creation_date() -> None:
    images = [
        {"ImageId": "ami-old", "Name": "b", "CreationDate": "2024-01-01T00:00:00.000Z"},
        {"ImageId": "ami-new", "Name": "a", "CreationDate": "2025-06-01T00:00:00.000Z"},
        {
            "ImageId": "ami-gone",
            "Name": "c",
            "CreationDate": "2026-01-01T00:00:00.000Z",
            "State": "deregistered",
        },
    ]
    assert newest_image(images) == images[1]
    assert newest_image([]) is None
