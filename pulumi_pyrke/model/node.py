"""The inputs of a pyrke Node resource: their schema, defaults and names, and the Node's id.

Pure: pydantic and the standard library only (no paramiko, pulumi, socket). Checking inputs
(every problem at once, unknowns accepted) is model/node_check.py; the diff is model/node_diff.py.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from pulumi_pyrke.model.base import Port, Text
from pulumi_pyrke.model.cluster import ROLES, TAINT_EFFECTS
from pulumi_pyrke.model.secret import Secret

IsUnknown = Callable[[Any], bool]
"""Tells a value the engine does not know yet (a preview's unresolved Output)."""

DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock"
DEFAULT_READY_TIMEOUT = 300
MAX_READY_TIMEOUT = 86400

REPLACE_ON = ("address", "port", "docker_socket")
"""Inputs that name the host itself: a change means another host, so a new Node."""

SECRET_INPUTS = ("ssh_private_key", "ssh_key_passphrase", "bastion")
"""Inputs (and outputs of the same name) that Pulumi must keep secret."""

FACT_OUTPUTS = (
    "hostname",
    "os",
    "kernel",
    "docker_version",
    "cgroup_driver",
    "cpus",
    "memory_bytes",
    "swap_bytes",
)
"""Outputs copied from the observed NodeFacts, besides `host_key` and the whole `facts`."""

_DNS_LABEL = r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_DNS_NAME = re.compile(rf"^(?=.{{1,253}}\.?$){_DNS_LABEL}(\.{_DNS_LABEL})*\.?$")
_NODE_NAME = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_PREFIX = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
_USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$")


def _address(value: str) -> str:
    if not value:
        raise ValueError("is empty; give the host's IP address or DNS name")
    try:
        ipaddress.ip_address(value)
    except ValueError:
        if not _DNS_NAME.match(value):
            raise ValueError(
                f"{value!r} is not an IP address or DNS name; give one like 10.0.0.5 or node1.example.com"
            ) from None
    return value


def _optional_address(value: str) -> str:
    return _address(value) if value else value


def _user(value: str) -> str:
    if not _USER.match(value):
        raise ValueError(f"{value!r} is not a login name; give the SSH user, like root or ubuntu")
    return value


def _node_name(value: str) -> str:
    if value and not _NODE_NAME.match(value):
        raise ValueError(
            f"{value!r} is not a Kubernetes node name; use lowercase letters, digits, '-' and '.'"
        )
    return value


def _path(value: str) -> str:
    if not value:
        raise ValueError("is empty; give a file path or leave it out")
    return value


def _socket(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError(
            f"{value!r} is not an absolute path; give the Docker socket on the host, like {DEFAULT_DOCKER_SOCKET}"
        )
    return value


def _label_key(value: str) -> str:
    prefix, slash, name = value.rpartition("/")
    if (slash and not _LABEL_PREFIX.match(prefix)) or not _LABEL_NAME.match(name):
        raise ValueError(
            f"{value!r} is not a label key; use [prefix/]name, the name up to 63 letters, digits, "
            "'-', '_' or '.' (starting and ending alphanumeric), the prefix a lowercase DNS name"
        )
    return value


def _label_value(value: str) -> str:
    if value and not _LABEL_NAME.match(value):
        raise ValueError(
            f"{value!r} is not a label value; use up to 63 letters, digits, '-', '_' or '.' "
            "(starting and ending alphanumeric), or leave it empty"
        )
    return value


def _role(value: str) -> str:
    if value not in ROLES:
        raise ValueError(f"{value!r} is not a role; use {', '.join(ROLES)}")
    return value


def _roles(value: list[str]) -> list[str]:
    return sorted(set(value))


def _effect(value: str) -> str:
    if value not in TAINT_EFFECTS:
        raise ValueError(f"{value!r} is not a taint effect; use {', '.join(TAINT_EFFECTS)}")
    return value


Address = Annotated[str, AfterValidator(_address)]
LabelKey = Annotated[str, AfterValidator(_label_key)]
LabelValue = Annotated[Text, AfterValidator(_label_value)]
User = Annotated[str, AfterValidator(_user)]
FilePath = Annotated[str, AfterValidator(_path)]


class _NodeModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class TaintSpec(_NodeModel):
    """taints[]: a Kubernetes taint the node gets."""

    key: LabelKey
    value: LabelValue = ""
    effect: Annotated[str, AfterValidator(_effect)] = "NoSchedule"


class BastionSpec(_NodeModel):
    """bastion: the jump host every SSH connection to the node goes through."""

    address: Address
    port: Port = 22
    user: User = "root"
    ssh_private_key: Secret | None = None
    ssh_key_path: FilePath | None = None
    ssh_agent_auth: bool = False
    ssh_key_passphrase: Secret | None = None
    host_key: str | None = None


class NodeSpec(_NodeModel):
    """A Node's validated, defaulted inputs: which host, how to reach it, what it will run."""

    address: Address
    port: Port = 22
    user: User = "root"
    internal_address: Annotated[str, AfterValidator(_optional_address)] = ""
    hostname_override: Annotated[str, AfterValidator(_node_name)] = ""
    roles: list[Annotated[str, AfterValidator(_role)]] = Field(default_factory=list)
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict)
    taints: list[TaintSpec] = Field(default_factory=list)
    ssh_private_key: Secret | None = None
    ssh_key_path: FilePath | None = None
    ssh_agent_auth: bool = False
    ssh_key_passphrase: Secret | None = None
    ssh_cert: str | None = None
    ssh_cert_path: FilePath | None = None
    bastion: BastionSpec | None = None
    host_key: str | None = None
    docker_socket: Annotated[str, AfterValidator(_socket)] = DEFAULT_DOCKER_SOCKET
    ready_timeout: int = Field(default=DEFAULT_READY_TIMEOUT, ge=0, le=MAX_READY_TIMEOUT)

    @field_validator("roles")
    @classmethod
    def _sorted_roles(cls, value: list[str]) -> list[str]:
        return _roles(value)

    def to_inputs(self) -> dict[str, Any]:
        """The plain mapping the provider hands Pulumi: defaults filled, secrets revealed.

        Only providers call this: the engine strips secrets on the way to a dynamic provider
        and marks them secret again by name on the way back, so they travel as plain text.
        """
        data = self.model_dump(exclude_none=True, exclude=set(SECRET_INPUTS))
        for name in ("ssh_private_key", "ssh_key_passphrase"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value.reveal()
        if self.bastion is not None:
            bastion = self.bastion.model_dump(
                exclude_none=True, exclude={"ssh_private_key", "ssh_key_passphrase"}
            )
            for name in ("ssh_private_key", "ssh_key_passphrase"):
                value = getattr(self.bastion, name)
                if value is not None:
                    bastion[name] = value.reveal()
            data["bastion"] = bastion
        return data


NODE_INPUTS = tuple(NodeSpec.model_fields)
"""Every input name of a Node, in declaration order."""

NODE_OUTPUTS = (*FACT_OUTPUTS, "facts", "bastion_host_key")
"""Outputs that are not inputs (`host_key` is both: the pinned input, the recorded output)."""


def node_id(address: str, port: int) -> str:
    """The Node's Pulumi id: where it is reached, `host:port` (IPv6 in brackets)."""
    host = f"[{address}]" if ":" in address else address
    return f"{host}:{port}"


def host_key_identity(text: str | None) -> str | None:
    """A host key without its comment ("type base64"), for comparing keys."""
    if not text:
        return None
    return " ".join(text.split()[:2])
