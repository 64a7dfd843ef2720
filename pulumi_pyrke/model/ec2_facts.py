"""What EC2 reports about one machine, parsed from a DescribeInstances/RunInstances record.

Pure: a frozen value and its parser; tested with recorded responses, not AWS.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

LIVE_STATES = ("pending", "running", "stopping", "stopped")
GONE_STATES = ("shutting-down", "terminated")


@dataclass(frozen=True, kw_only=True, slots=True)
class InstanceFacts:
    """One EC2 machine as EC2 describes it."""

    instance_id: str
    state: str
    image_id: str = ""
    instance_type: str = ""
    subnet_id: str = ""
    availability_zone: str = ""
    private_ip: str = ""
    public_ip: str = ""
    private_dns: str = ""
    public_dns: str = ""
    launch_time: str = ""
    tags: tuple[tuple[str, str], ...] = ()

    @property
    def live(self) -> bool:
        return self.state in LIVE_STATES

    @property
    def tag_map(self) -> dict[str, str]:
        return dict(self.tags)


def parse_instance(record: Mapping[str, Any]) -> InstanceFacts:
    """An ``Instances[]`` element of DescribeInstances or RunInstances."""
    tags = tuple(sorted((str(t["Key"]), str(t.get("Value", ""))) for t in record.get("Tags", [])))
    placement = record.get("Placement") or {}
    return InstanceFacts(
        instance_id=str(record["InstanceId"]),
        state=str((record.get("State") or {}).get("Name", "")),
        image_id=str(record.get("ImageId", "")),
        instance_type=str(record.get("InstanceType", "")),
        subnet_id=str(record.get("SubnetId", "")),
        availability_zone=str(placement.get("AvailabilityZone", "")),
        private_ip=str(record.get("PrivateIpAddress") or ""),
        public_ip=str(record.get("PublicIpAddress") or ""),
        private_dns=str(record.get("PrivateDnsName") or ""),
        public_dns=str(record.get("PublicDnsName") or ""),
        launch_time=str(record.get("LaunchTime", "")),
        tags=tags,
    )


def newest_image(images: list[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The newest available image (CreationDate, then name), or None."""
    available = [i for i in images if i.get("State", "available") == "available"]
    if not available:
        return None
    return max(available, key=lambda i: (str(i.get("CreationDate", "")), str(i.get("Name", ""))))
