"""EC2 through boto3: find images, check a template, launch idempotently, wait, tag, terminate.

The only module that speaks EC2. Every botocore error is translated here, once, into a
``NodeSourceError`` that names the input at fault and what to do, and keeps AWS's error code
and message. Credentials come from boto3's usual chain (environment, profile, container or
instance role), the endpoint from AWS_ENDPOINT_URL_EC2 / AWS_ENDPOINT_URL when set.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ReadTimeoutError,
)

from pulumi_pyrke.deadline import Deadline, Retry, wait_until
from pulumi_pyrke.errors import NodeSourceError
from pulumi_pyrke.model.ec2_facts import InstanceFacts, newest_image, parse_instance
from pulumi_pyrke.model.instance import TAG_LAUNCH, InstanceSpec, client_token
from pulumi_pyrke.model.user_data import build_user_data


def client_config() -> Config:
    """Standard retries (5 attempts) unless AWS_MAX_ATTEMPTS / AWS_RETRY_MODE say otherwise."""
    attempts = int(os.environ.get("AWS_MAX_ATTEMPTS") or 5)
    mode = os.environ.get("AWS_RETRY_MODE") or "standard"
    return Config(
        retries={"mode": mode, "max_attempts": attempts},
        connect_timeout=10,
        read_timeout=60,
    )


PREFLIGHT_TTL = 300.0
"""Seconds a template that passed its checks is trusted in this process (one `pulumi up`)."""
MAX_GENERATIONS = 8

_CREDENTIAL_CODES = {
    "AuthFailure",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
}
_PERMISSION_CODES = {"UnauthorizedOperation", "AccessDenied", "AccessDeniedException"}

# AWS error code -> (input at fault, what is wrong and what to do); {placeholders} from context
_FIELD_ERRORS: dict[str, tuple[str, str]] = {
    "InvalidAMIID.NotFound": (
        "ami",
        "image {ami} does not exist in region {region} or is not shared with this account; "
        "AMI ids differ per region: give one of region {region}, or ami_owner and ami_name "
        "to use the newest match",
    ),
    "InvalidAMIID.Malformed": (
        "ami",
        "{ami} is not an AMI id; give one like ami-0abcdef1234567890",
    ),
    "InvalidAMIID.Unavailable": (
        "ami",
        "image {ami} is not available in region {region} (deregistered or still being made); "
        "give an available image",
    ),
    "InvalidSubnetID.NotFound": (
        "subnet_id",
        "subnet {subnet_id} does not exist in region {region}; give a subnet of this region "
        "(a NodePool's template.subnet_ids)",
    ),
    "InvalidSubnetID.Malformed": ("subnet_id", "{subnet_id} is not a subnet id"),
    "InvalidGroup.NotFound": (
        "security_group_ids",
        "a security group of {security_group_ids} does not exist in region {region}; give "
        "groups of the subnet's VPC",
    ),
    "InvalidGroupId.Malformed": ("security_group_ids", "{security_group_ids} holds a malformed id"),
    "InvalidKeyPair.NotFound": (
        "key_name",
        "key pair {key_name!r} does not exist in region {region}; import the public key of "
        "ssh_private_key there (aws ec2 import-key-pair) or give the name of one that exists",
    ),
    "InsufficientInstanceCapacity": (
        "instance_type",
        "EC2 has no capacity for {instance_type} in {zone} right now; try another instance "
        "type, a subnet in another availability zone, or again later",
    ),
    "InstanceLimitExceeded": (
        "instance_type",
        "the account's instance limit in region {region} is reached; ask for a higher quota "
        "(Service Quotas, EC2) or lower the pool's quantity",
    ),
    "VcpuLimitExceeded": (
        "instance_type",
        "the account's vCPU limit for {instance_type} in region {region} is reached; ask for a "
        "higher quota (Service Quotas: EC2 'Running On-Demand instances') or lower the quantity",
    ),
    "Unsupported": (
        "instance_type",
        "EC2 does not offer {instance_type} with these settings in {zone}; pick a subnet in "
        "another availability zone or another instance type",
    ),
    "MaxSpotInstanceCountExceeded": (
        "spot_price",
        "the account's spot instance limit in region {region} is reached; ask for a higher "
        "quota, or leave spot_price out for on-demand machines",
    ),
    "SpotMaxPriceTooLow": (
        "spot_price",
        "{spot_price} is below the spot price of {instance_type} in {zone}; raise spot_price",
    ),
    "InsufficientFreeAddressesInSubnet": (
        "subnet_id",
        "subnet {subnet_id} has no free addresses; give a larger subnet or another one",
    ),
    "InvalidParameterValue": ("", "EC2 refused a value of the template; check the AWS message"),
    "InvalidParameterCombination": (
        "",
        "EC2 refused this combination of template values; check the AWS message",
    ),
}

_lock = threading.Lock()
_loader = botocore.loaders.create_loader()
"""EC2's API model, read from disk once per process instead of once per client."""
_checked: dict[tuple[Any, ...], tuple[float, Checked]] = {}


@dataclass(frozen=True, kw_only=True, slots=True)
class Checked:
    """What a template's preflight learnt: the image (and its root device) and the zone."""

    image_id: str
    root_device_name: str
    zone: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Launched:
    """A machine this resource launched (or adopted), running, with its addresses known."""

    facts: InstanceFacts
    image_id: str
    client_token: str
    adopted: bool


def clear_preflight_cache() -> None:
    """Forget every template checked in this process (tests that change AWS underneath)."""
    with _lock:
        _checked.clear()


class Ec2:
    """One EC2 client of one region, with every error translated (build with ``connect``)."""

    def __init__(
        self, client: Any, *, region: str, credential_source: str = "", endpoint: str = ""
    ) -> None:
        self.client = client
        self.region = region
        self.credential_source = credential_source
        self.endpoint = endpoint or str(getattr(client.meta, "endpoint_url", ""))

    @classmethod
    def connect(cls, region: str) -> Ec2:
        """A client from boto3's usual credential chain; refuses before any call if it is empty."""
        core = botocore.session.get_session()
        core.register_component("data_loader", _loader)
        session = boto3.session.Session(region_name=region, botocore_session=core)
        try:
            credentials = session.get_credentials()
        except (PartialCredentialsError, BotoCoreError) as exc:
            raise NodeSourceError(f"[ec2] credentials: {exc}. {_where_boto3_looked()}") from exc
        if credentials is None:
            raise NodeSourceError(
                f"[ec2] credentials: boto3 found no AWS credentials. {_where_boto3_looked()}",
                field="credentials",
            )
        try:
            client = session.client("ec2", config=client_config())
        except NoRegionError as exc:
            raise NodeSourceError("[ec2] region: not set; give the template's region") from exc
        return cls(client, region=region, credential_source=str(credentials.method))

    # --- calls ---------------------------------------------------------------------------------

    def call(self, operation: str, context: Mapping[str, Any], **kwargs: Any) -> dict[str, Any]:
        """One EC2 API call; any botocore error leaves as a NodeSourceError naming the field."""
        try:
            return dict(getattr(self.client, operation)(**kwargs))
        except ClientError as exc:
            raise self._client_error(exc, context) from exc
        except (NoCredentialsError, PartialCredentialsError) as exc:
            raise NodeSourceError(
                f"[ec2] credentials: {exc}. {_where_boto3_looked()}", field="credentials"
            ) from exc
        except (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError) as exc:
            raise NodeSourceError(
                f"[ec2] could not reach EC2 at {self.endpoint} (region {self.region}): {exc}. "
                "Check the network and the region, and AWS_ENDPOINT_URL_EC2/AWS_ENDPOINT_URL "
                "if one is set"
            ) from exc
        except BotoCoreError as exc:
            raise NodeSourceError(f"[ec2] {operation} in region {self.region}: {exc}") from exc

    def _client_error(self, exc: ClientError, context: Mapping[str, Any]) -> NodeSourceError:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        aws = f"(AWS {code}: {error.get('Message', '')})"
        who = f"[ec2] instance {context['name']}: " if context.get("name") else "[ec2] "
        if code in _CREDENTIAL_CODES:
            return NodeSourceError(
                f"{who}credentials: AWS refused the credentials boto3 found "
                f"({self.credential_source or 'unknown source'}) for region {self.region}; "
                f"they are wrong, expired or of another partition. {_where_boto3_looked()} {aws}",
                field="credentials",
                code=code,
            )
        if code in _PERMISSION_CODES:
            return NodeSourceError(
                f"{who}credentials: the credentials ({self.credential_source}) may not call "
                f"ec2:{exc.operation_name}; allow it in their IAM policy {aws}",
                field="credentials",
                code=code,
            )
        field, what = _FIELD_ERRORS.get(code, ("", ""))
        if not what:
            what = f"EC2 refused {exc.operation_name} in region {self.region}"
        values = {"region": self.region, "zone": "its zone", **context}
        text = what.format_map(_Missing(values))
        return NodeSourceError(
            f"{who}{field + ': ' if field else ''}{text} {aws}", field=field, code=code
        )

    # --- images and preflight ------------------------------------------------------------------

    def find_image(self, owner: str, pattern: str, context: Mapping[str, Any]) -> dict[str, Any]:
        """The newest available image of ``owner`` whose name matches ``pattern``."""
        images = self.call(
            "describe_images",
            context,
            Owners=[owner],
            Filters=[
                {"Name": "name", "Values": [pattern]},
                {"Name": "state", "Values": ["available"]},
            ],
        ).get("Images", [])
        found = newest_image(images)
        if found is None:
            raise NodeSourceError(
                f"[ec2] instance {context.get('name')}: ami_name: no available image of owner "
                f"{owner!r} matches {pattern!r} in region {self.region}; check the pattern "
                "(wildcards * and ?) and ami_owner",
                field="ami_name",
            )
        return dict(found)

    def preflight(self, spec: InstanceSpec, context: Mapping[str, Any]) -> Checked:
        """Check the template before any launch: image, subnet, groups, key pair, offering.

        A template that passed is trusted for PREFLIGHT_TTL seconds in this process, so a pool
        of fifty checks it once, not fifty times.
        """
        key = (
            self.endpoint,
            self.region,
            spec.ami,
            spec.ami_owner,
            spec.ami_name,
            spec.subnet_id,
            tuple(spec.security_group_ids),
            spec.key_name,
            spec.instance_type,
        )
        with _lock:
            hit = _checked.get(key)
        if hit is not None and time.monotonic() - hit[0] < PREFLIGHT_TTL:
            return hit[1]
        if spec.ami:
            images = self.call("describe_images", context, ImageIds=[spec.ami]).get("Images", [])
            if not images:  # AWS answers an image not shared with the account with no images
                raise self._client_error(
                    _not_found("InvalidAMIID.NotFound", "DescribeImages"), context
                )
            image = dict(images[0])
            if image.get("State", "available") != "available":
                raise NodeSourceError(
                    f"[ec2] instance {context.get('name')}: ami: image {spec.ami} is "
                    f"{image.get('State')}, not available; give an available image",
                    field="ami",
                )
        else:
            assert spec.ami_owner is not None and spec.ami_name is not None
            image = self.find_image(spec.ami_owner, spec.ami_name, context)
        subnets = self.call("describe_subnets", context, SubnetIds=[spec.subnet_id])["Subnets"]
        if not subnets:
            raise self._client_error(
                _not_found("InvalidSubnetID.NotFound", "DescribeSubnets"), context
            )
        zone, vpc = str(subnets[0]["AvailabilityZone"]), str(subnets[0].get("VpcId", ""))
        if spec.security_group_ids:
            groups = self.call(
                "describe_security_groups", context, GroupIds=list(spec.security_group_ids)
            )["SecurityGroups"]
            elsewhere = sorted(str(g["GroupId"]) for g in groups if vpc and g.get("VpcId") != vpc)
            if elsewhere:
                raise NodeSourceError(
                    f"[ec2] instance {context.get('name')}: security_group_ids: "
                    f"{', '.join(elsewhere)} belong to another VPC than subnet {spec.subnet_id} "
                    f"({vpc}); give groups of {vpc}",
                    field="security_group_ids",
                )
        if spec.key_name:
            self.call("describe_key_pairs", context, KeyNames=[spec.key_name])
        offered = self.call(
            "describe_instance_type_offerings",
            context,
            LocationType="availability-zone",
            Filters=[
                {"Name": "location", "Values": [zone]},
                {"Name": "instance-type", "Values": [spec.instance_type]},
            ],
        ).get("InstanceTypeOfferings", [])
        if not offered:
            raise NodeSourceError(
                f"[ec2] instance {context.get('name')}: instance_type: {spec.instance_type} is "
                f"not offered in {zone}, the zone of subnet {spec.subnet_id}; give a subnet in a "
                "zone that has it or another type (aws ec2 describe-instance-type-offerings "
                f"--location-type availability-zone --filters Name=instance-type,Values="
                f"{spec.instance_type} lists the zones)",
                field="instance_type",
            )
        checked = Checked(
            image_id=str(image["ImageId"]),
            root_device_name=str(image.get("RootDeviceName") or "/dev/sda1"),
            zone=zone,
        )
        with _lock:
            _checked[key] = (time.monotonic(), checked)
        return checked

    # --- machines ------------------------------------------------------------------------------

    def find_launched(self, identity: str, context: Mapping[str, Any]) -> list[InstanceFacts]:
        """Every machine (any state) tagged with this launch identity, oldest first."""
        found: list[InstanceFacts] = []
        token: str | None = None
        while True:
            page = self.call(
                "describe_instances",
                context,
                Filters=[{"Name": f"tag:{TAG_LAUNCH}", "Values": [identity]}],
                **({"NextToken": token} if token else {}),
            )
            for reservation in page.get("Reservations", []):
                found.extend(parse_instance(i) for i in reservation.get("Instances", []))
            token = page.get("NextToken")
            if not token:
                return sorted(found, key=lambda f: (f.launch_time, f.instance_id))

    def run(
        self, spec: InstanceSpec, checked: Checked, token: str, context: Mapping[str, Any]
    ) -> InstanceFacts:
        """RunInstances for one machine with ``token`` as EC2's idempotency token."""
        tags = [{"Key": k, "Value": v} for k, v in sorted(spec.instance_tags().items())]
        kwargs: dict[str, Any] = {
            "ImageId": checked.image_id,
            "InstanceType": spec.instance_type,
            "MinCount": 1,
            "MaxCount": 1,
            "ClientToken": token,
            "UserData": build_user_data(spec.ssh_user, spec.user_data, spec.extra_user_data),
            "TagSpecifications": [
                {"ResourceType": "instance", "Tags": tags},
                {"ResourceType": "volume", "Tags": tags},
            ],
        }
        if spec.associate_public_ip_address is None:
            kwargs["SubnetId"] = spec.subnet_id
            if spec.security_group_ids:
                kwargs["SecurityGroupIds"] = list(spec.security_group_ids)
        else:
            interface: dict[str, Any] = {
                "DeviceIndex": 0,
                "SubnetId": spec.subnet_id,
                "AssociatePublicIpAddress": spec.associate_public_ip_address,
                "DeleteOnTermination": True,
            }
            if spec.security_group_ids:
                interface["Groups"] = list(spec.security_group_ids)
            kwargs["NetworkInterfaces"] = [interface]
        if spec.key_name:
            kwargs["KeyName"] = spec.key_name
        if spec.root_volume_size or spec.root_volume_type:
            ebs: dict[str, Any] = {"DeleteOnTermination": True}
            if spec.root_volume_size:
                ebs["VolumeSize"] = spec.root_volume_size
            if spec.root_volume_type:
                ebs["VolumeType"] = spec.root_volume_type
            kwargs["BlockDeviceMappings"] = [{"DeviceName": checked.root_device_name, "Ebs": ebs}]
        if spec.iam_instance_profile:
            profile = spec.iam_instance_profile
            kwargs["IamInstanceProfile"] = (
                {"Arn": profile} if profile.startswith("arn:") else {"Name": profile}
            )
        if spec.spot_price:
            kwargs["InstanceMarketOptions"] = {
                "MarketType": "spot",
                "SpotOptions": {
                    "MaxPrice": spec.spot_price,
                    "SpotInstanceType": "one-time",
                    "InstanceInterruptionBehavior": "terminate",
                },
            }
        answer = self.call("run_instances", {**context, "zone": checked.zone}, **kwargs)
        return parse_instance(answer["Instances"][0])

    def describe(self, instance_id: str, context: Mapping[str, Any]) -> InstanceFacts | None:
        """The machine as EC2 sees it now, or None when EC2 does not know it (any more)."""
        try:
            page = self.call("describe_instances", context, InstanceIds=[instance_id])
        except NodeSourceError as exc:
            if exc.code in ("InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed"):
                return None
            raise
        for reservation in page.get("Reservations", []):
            for record in reservation.get("Instances", []):
                return parse_instance(record)
        return None

    def wait_running(
        self,
        instance_id: str,
        deadline: Deadline,
        *,
        want_public: bool,
        context: Mapping[str, Any],
    ) -> InstanceFacts:
        """Until EC2 says running and the address is known (public too when asked for)."""

        def running() -> InstanceFacts:
            facts = self.describe(instance_id, context)
            if facts is None:  # EC2 is eventually consistent right after a launch
                raise Retry(f"EC2 does not list {instance_id} yet")
            if facts.state == "pending":
                raise Retry(f"{instance_id} is pending")
            if facts.state != "running":
                reason = self._state_reason(instance_id, context)
                raise NodeSourceError(
                    f"[ec2] instance {context.get('name')}: {instance_id} went {facts.state} "
                    f"while starting{': ' + reason if reason else ''}. Check the template "
                    "(image, volume, instance profile) and the account's limits, then run again",
                    code=reason.split(":", 1)[0] if reason else "",
                )
            if not facts.private_ip or (want_public and not facts.public_ip):
                raise Retry(f"{instance_id} is running but its address is not known yet")
            return facts

        return wait_until(
            running,
            deadline,
            what=f"[ec2] instance {context.get('name')} ({instance_id}) to run",
            hint="Raise wait_timeout, or look at the instance's state reason in the EC2 console.",
        )

    def _state_reason(self, instance_id: str, context: Mapping[str, Any]) -> str:
        page = self.call("describe_instances", context, InstanceIds=[instance_id])
        for reservation in page.get("Reservations", []):
            for record in reservation.get("Instances", []):
                reason = record.get("StateReason") or {}
                return f"{reason.get('Code', '')}: {reason.get('Message', '')}".strip(": ")
        return ""

    def set_tags(
        self,
        instance_id: str,
        old: Mapping[str, str],
        new: Mapping[str, str],
        context: Mapping[str, Any],
    ) -> None:
        """Tags in place: set what is new or changed, remove what was ours and is gone."""
        changed = {k: v for k, v in new.items() if old.get(k) != v}
        removed = sorted(k for k in old if k not in new)
        if changed:
            self.call(
                "create_tags",
                context,
                Resources=[instance_id],
                Tags=[{"Key": k, "Value": v} for k, v in sorted(changed.items())],
            )
        if removed:
            self.call(
                "delete_tags",
                context,
                Resources=[instance_id],
                Tags=[{"Key": k} for k in removed],
            )

    def terminate(self, instance_id: str, deadline: Deadline, context: Mapping[str, Any]) -> None:
        """Terminate and wait until EC2 says terminated; an instance already gone is done."""
        try:
            self.call("terminate_instances", context, InstanceIds=[instance_id])
        except NodeSourceError as exc:
            if exc.code in ("InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed"):
                return
            raise

        def gone() -> None:
            facts = self.describe(instance_id, context)
            if facts is not None and facts.state != "terminated":
                raise Retry(f"{instance_id} is {facts.state}")

        wait_until(
            gone,
            deadline,
            what=f"[ec2] instance {context.get('name')} ({instance_id}) to terminate",
            hint="Look at the instance in the EC2 console (termination protection?).",
        )


def launch_instance(ec2: Ec2, spec: InstanceSpec) -> Launched:
    """Launch the machine of ``spec``, or adopt the one an earlier attempt launched.

    A create that raised after its launch (a timeout, a lost answer) and is run again finds
    the machine by its launch identity tag and waits for it instead of launching a second.
    EC2's ClientToken makes the launch call itself idempotent; a token whose machine has since
    been terminated (a pool scaled down and up again) moves on to the next generation.
    """
    context = error_context(spec)
    identity = spec.launch_identity()
    deadline = Deadline.after(spec.wait_timeout)
    earlier = ec2.find_launched(identity, context)
    live = [f for f in earlier if f.live]
    if live:
        facts, adopted = live[0], True
        token = ""
        image_id = facts.image_id
    else:
        checked = ec2.preflight(spec, context)
        adopted, image_id = False, checked.image_id
        generation = len(earlier)
        for _ in range(MAX_GENERATIONS):
            token = client_token(identity, generation)
            try:
                facts = ec2.run(spec, checked, token, context)
            except NodeSourceError as exc:
                if exc.code != "IdempotentParameterMismatch":
                    raise
                generation += 1
                continue
            if facts.live:
                break
            generation += 1  # EC2 answered with the terminated machine of an earlier launch
        else:
            raise NodeSourceError(
                f"[ec2] instance {spec.name}: {MAX_GENERATIONS} launch tokens from "
                f"{client_token(identity, len(earlier))} on name terminated machines; "
                "rename the resource or change the template"
            )
    running = ec2.wait_running(
        facts.instance_id,
        deadline,
        want_public=spec.associate_public_ip_address is True,
        context=context,
    )
    return Launched(facts=running, image_id=image_id, client_token=token, adopted=adopted)


def error_context(spec: InstanceSpec) -> dict[str, Any]:
    """The values a message may name: the machine and its template."""
    return {
        "name": spec.name,
        "ami": spec.ami or f"{spec.ami_owner}/{spec.ami_name}",
        "subnet_id": spec.subnet_id,
        "security_group_ids": ", ".join(spec.security_group_ids) or "(none)",
        "key_name": spec.key_name,
        "instance_type": spec.instance_type,
        "spot_price": spec.spot_price,
    }


def _not_found(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "not found"}}, operation)


def _where_boto3_looked() -> str:
    profile = os.environ.get("AWS_PROFILE") or os.environ.get("AWS_DEFAULT_PROFILE") or "default"
    shared = os.environ.get("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials")
    config = os.environ.get("AWS_CONFIG_FILE", "~/.aws/config")
    return (
        "boto3 looks in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, "
        f"AWS_SESSION_TOKEN), then profile {profile!r} of {shared} and {config} (keys, SSO, "
        "assume-role), then the container credentials endpoint and the EC2 instance role. "
        "Set credentials in one of those for the environment that runs Pulumi; they are never "
        "resource inputs."
    )


class _Missing(dict[str, Any]):
    """format_map that leaves an unknown {name} as it is."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
