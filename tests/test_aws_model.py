"""The pure half of EC2 machines: the launch identity and tags, the default user data and the
parser of EC2's instance records (the inputs' check and diff: test_aws_check.py)."""

from __future__ import annotations

import base64

from harness.aws import MINIMAL_INSTANCE

from pulumi_pyrke.model.ec2_facts import newest_image, parse_instance
from pulumi_pyrke.model.instance import InstanceSpec, client_token
from pulumi_pyrke.model.user_data import BOUNDARY, build_user_data, default_user_data

BASE = MINIMAL_INSTANCE


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
