"""The inputs of a pyrke EC2 Instance: schema, defaults, names, tags and launch identity.

Pure: pydantic and the standard library only (no boto3, pulumi, socket). Each field's
description is the hint its problems end with (model/problems.py). Pulumi's side (unknowns,
check, diff, the replace and secret lists) is providers/aws_check.py; what EC2 reports back is
model/ec2_facts.py.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from pulumi_pyrke.model.node import LabelsField, PrivateKey, RolesField, TaintsField, User

DEFAULT_SSH_USER = "ubuntu"
DEFAULT_WAIT_TIMEOUT = 600
MAX_WAIT_TIMEOUT = 86400
MAX_ROOT_VOLUME_SIZE = 65536
MAX_USER_DATA_BYTES = 16384
"""EC2 refuses user data over 16 KB (before base64)."""

VOLUME_TYPES = ("gp2", "gp3", "io1", "io2", "sc1", "st1", "standard")

LAUNCH_TEMPLATE = (
    "region",
    "ami",
    "ami_owner",
    "ami_name",
    "instance_type",
    "subnet_id",
    "security_group_ids",
    "key_name",
    "ssh_user",
    "user_data",
    "extra_user_data",
    "root_volume_size",
    "root_volume_type",
    "iam_instance_profile",
    "associate_public_ip_address",
    "spot_price",
)
"""What a machine is launched from: EC2 cannot change these on a running machine, and the
launch identity is a digest of them."""

TAG_PREFIX = "pyrke:"
TAG_STACK = "pyrke:stack"
TAG_POOL = "pyrke:pool"
TAG_INDEX = "pyrke:index"
TAG_LAUNCH = "pyrke:launch"
"""The launch identity: machines launched for the same resource and template carry the same."""

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_AMI = re.compile(r"^ami-[0-9a-f]{8,17}$")
_SUBNET = re.compile(r"^subnet-[0-9a-f]{8,17}$")
_GROUP = re.compile(r"^sg-[0-9a-f]{8,17}$")
_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$")
_SPOT_PRICE = re.compile(r"^\d+(\.\d+)?$")
_PROFILE = re.compile(r"^(arn:aws[a-z-]*:iam::\d{12}:instance-profile/)?[\w+=,.@/-]{1,128}$")


def _region(value: str) -> str:
    if not _REGION.match(value):
        raise ValueError(f"{value!r} is not an AWS region; give one like eu-west-1 or us-east-1")
    return value


def _pattern(regex: re.Pattern[str], what: str, example: str) -> Any:
    def check(value: str) -> str:
        if not regex.match(value):
            raise ValueError(f"{value!r} is not {what}; give one like {example}")
        return value

    return AfterValidator(check)


def _spot_price(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:g}"
    return value


def _check_spot_price(value: str) -> str:
    if not _SPOT_PRICE.match(value):
        raise ValueError(f"{value!r} is not a price; give US dollars per hour, like '0.05'")
    return value


def _volume_type(value: str) -> str:
    if value not in VOLUME_TYPES:
        raise ValueError(f"{value!r} is not an EBS volume type; use {', '.join(VOLUME_TYPES)}")
    return value


def _tag_key(value: str) -> str:
    if not 1 <= len(value) <= 128:
        raise ValueError(f"{value!r} is not a tag key; use 1 to 128 characters")
    if value.lower().startswith(("aws:", TAG_PREFIX)):
        raise ValueError(f"{value!r} is reserved (aws:* belongs to AWS, pyrke:* to pulumi_pyrke)")
    return value


def _tag_value(value: str) -> str:
    if len(value) > 256:
        raise ValueError("is longer than 256 characters, the most EC2 takes for a tag value")
    return value


def _text(value: Any) -> Any:
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


AmiId = Annotated[str, _pattern(_AMI, "an AMI id", "ami-0abcdef1234567890")]
SubnetId = Annotated[str, _pattern(_SUBNET, "a subnet id", "subnet-0abc1234def567890")]
GroupId = Annotated[str, _pattern(_GROUP, "a security group id", "sg-0abc1234def567890")]
InstanceType = Annotated[str, _pattern(_INSTANCE_TYPE, "an instance type", "t3.large")]
TagKey = Annotated[str, AfterValidator(_tag_key)]
TagValue = Annotated[str, BeforeValidator(_text), AfterValidator(_tag_value)]


class InstanceSpec(BaseModel):
    """An Instance's validated, defaulted inputs: the machine to launch and the node it becomes."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    region: Annotated[str, AfterValidator(_region)] = Field(
        description="give the AWS region, like eu-west-1"
    )
    ami: AmiId | None = Field(
        default=None, description="give an AMI id of the region, like ami-0abcdef1234567890"
    )
    ami_owner: str | None = Field(
        default=None,
        description="give the image owner's account id or alias, like 099720109477 or amazon",
    )
    ami_name: str | None = Field(
        default=None,
        description="give an image name pattern, like 'ubuntu/images/*ubuntu-jammy-22.04-amd64-server-*'",
    )
    instance_type: InstanceType = Field(description="give an EC2 instance type, like t3.large")
    subnet_id: SubnetId = Field(
        description="give the id of the subnet to launch in, like subnet-0abc1234def567890"
    )
    security_group_ids: list[GroupId] = Field(
        default_factory=list,
        description="give a list of security group ids, like ['sg-0abc1234def567890']",
    )
    key_name: str | None = Field(default=None, description="give the name of an EC2 key pair")
    ssh_private_key: PrivateKey = None
    ssh_user: User = Field(
        default=DEFAULT_SSH_USER,
        description="give the login name the image's cloud-init creates, like ubuntu or ec2-user",
    )
    user_data: str | None = Field(default=None, description="give the boot script as text")
    extra_user_data: str | None = Field(
        default=None, description="give a script or #cloud-config as text"
    )
    tags: dict[TagKey, TagValue] = Field(
        default_factory=dict, description="give a mapping of tag keys to text"
    )
    root_volume_size: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ROOT_VOLUME_SIZE,
        description=f"give whole GiB, 1..{MAX_ROOT_VOLUME_SIZE}",
    )
    root_volume_type: Annotated[str, AfterValidator(_volume_type)] | None = Field(
        default=None, description=f"use {', '.join(VOLUME_TYPES)}"
    )
    iam_instance_profile: (
        Annotated[str, _pattern(_PROFILE, "an instance profile", "pyrke-node")] | None
    ) = Field(default=None, description="give an instance profile's name or ARN")
    associate_public_ip_address: bool | None = Field(default=None, description="give true or false")
    spot_price: (
        Annotated[str, BeforeValidator(_spot_price), AfterValidator(_check_spot_price)] | None
    ) = Field(default=None, description="give US dollars per hour, like '0.05'")
    name: Annotated[str, Field(min_length=1, max_length=255)] = Field(
        description="give the machine's name (its Name tag)"
    )
    pool: str = Field(default="", description="give the pool's name as text")
    index: int = Field(default=0, ge=0, description="give a whole number, 0 or more")
    project: str = Field(default="", description="give the Pulumi project's name")
    stack: str = Field(default="", description="give the Pulumi stack's name")
    roles: RolesField = Field(default_factory=list)
    labels: LabelsField = Field(default_factory=dict)
    taints: TaintsField = Field(default_factory=list)
    wait_timeout: int = Field(
        default=DEFAULT_WAIT_TIMEOUT,
        ge=0,
        le=MAX_WAIT_TIMEOUT,
        description=f"give whole seconds, 0..{MAX_WAIT_TIMEOUT}",
    )

    @field_validator("security_group_ids")
    @classmethod
    def _sorted_groups(cls, value: list[str]) -> list[str]:
        return sorted(set(value))

    def instance_tags(self) -> dict[str, str]:
        """Every tag the machine carries: the user's, its Name, and what names stack, pool, index."""
        tags = dict(self.tags)
        tags["Name"] = tags.get("Name", self.name)
        tags[TAG_STACK] = f"{self.project}/{self.stack}"
        tags[TAG_POOL] = self.pool
        tags[TAG_INDEX] = str(self.index)
        tags[TAG_LAUNCH] = self.launch_identity()
        return tags

    def launch_identity(self) -> str:
        """A digest of the resource (project, stack, name) and of what was launched.

        The same resource and template give the same identity, so a create run again finds the
        machine it launched before; a changed template gives another, so a replacement is a new
        machine while the old one still runs.
        """
        what: dict[str, Any] = {"project": self.project, "stack": self.stack, "name": self.name}
        what.update(self.model_dump(include=set(LAUNCH_TEMPLATE), exclude_none=True))
        digest = hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()
        return digest[:32]


def client_token(identity: str, generation: int) -> str:
    """EC2's idempotency token (at most 64 characters) for one launch of one identity."""
    return f"{identity}-{generation}"
