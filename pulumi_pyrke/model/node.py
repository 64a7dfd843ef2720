"""One node, whichever door it comes in by: cluster.yml's ``nodes[]`` and ``bastion_host`` (with
RKE's spellings ``role`` and ``ssh_key``) and the Node resource's inputs share these types, their
validators and their messages.

Pure: pydantic and the standard library only. What a door adds (RKE's required ``user``, the
Node's default user ``root``, Pulumi's unknowns) lives with that door.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from pulumi_pyrke.errors import Problem
from pulumi_pyrke.model.base import Port, RkeModel, Text
from pulumi_pyrke.model.secret import Secret

ROLES = ("controlplane", "etcd", "worker")
TAINT_EFFECTS = ("NoExecute", "NoSchedule", "PreferNoSchedule")

DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock"
DEFAULT_READY_TIMEOUT = 300
MAX_READY_TIMEOUT = 86400

RKE_SPELLINGS = {"roles": "role", "ssh_private_key": "ssh_key"}
"""Fields that cluster.yml spells RKE's way (field -> cluster.yml key); both spellings are read."""

_DNS_LABEL = r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_DNS_NAME = re.compile(rf"^(?=.{{1,253}}\.?$){_DNS_LABEL}(\.{_DNS_LABEL})*\.?$")
_DNS_1123 = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
"""A lowercase DNS-1123 subdomain: Kubernetes node names and label-key prefixes."""
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$")


def check_address(value: str) -> str:
    """An IP address or a DNS name, else ValueError saying what would be valid."""
    if not value:
        raise ValueError("is empty; give the host's IP address or DNS name")
    try:
        ipaddress.ip_address(value)
    except ValueError:
        if not value.isascii():
            raise ValueError(_not_ascii(value)) from None
        if not _DNS_NAME.match(value):
            raise ValueError(
                f"{value!r} is not an IP address or DNS name; give one like 10.0.0.5 or node1.example.com"
            ) from None
    return value


def _not_ascii(value: str) -> str:
    """The refusal of an internationalised name, with its IDNA (ASCII) form when it has one."""
    try:
        ascii_form = value.encode("idna").decode("ascii")
    except UnicodeError:
        return f"{value!r} is not an IP address or DNS name; host names are ASCII"
    return f"{value!r} is not ASCII; write its IDNA form {ascii_form!r}"


def check_node_name(value: str) -> str:
    """A Kubernetes node name (lowercase DNS-1123), else ValueError; empty means "not set"."""
    if value and not _DNS_1123.match(value):
        raise ValueError(
            f"{value!r} is not a Kubernetes node name; use lowercase letters, digits, '-' and '.'"
        )
    return value


def _optional_address(value: str) -> str:
    return check_address(value) if value else value


def _user(value: str) -> str:
    if value and not _USER.match(value):
        raise ValueError(f"{value!r} is not a login name; give the SSH user, like root or ubuntu")
    return value


def _absent_if_empty(value: Any) -> Any:
    """cluster.yml writes an unset path as "": that is the same as leaving it out."""
    return None if value == "" else value


def _path(value: str) -> str:
    if not value.strip():
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
    if (slash and not _DNS_1123.match(prefix)) or not _LABEL_NAME.match(name):
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


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _sorted_roles(value: list[str]) -> list[str]:
    return sorted(set(value))  # a role named twice is still one role


def _effect(value: str) -> str:
    if value not in TAINT_EFFECTS:
        raise ValueError(f"{value!r} is not a taint effect; use {', '.join(TAINT_EFFECTS)}")
    return value


Address = Annotated[str, AfterValidator(check_address)]
OptionalAddress = Annotated[str, AfterValidator(_optional_address)]
NodeName = Annotated[
    str,
    BeforeValidator(lambda v: v.lower() if isinstance(v, str) else v),
    AfterValidator(check_node_name),
]
"""A Kubernetes node name; lowercased first, as RKE does with ``hostname_override``."""
User = Annotated[str, AfterValidator(_user)]
FilePath = Annotated[
    str | None,
    BeforeValidator(_absent_if_empty),
    AfterValidator(lambda v: v if v is None else _path(v)),
]
OptionalText = Annotated[str | None, BeforeValidator(_absent_if_empty)]
LabelKey = Annotated[str, AfterValidator(_label_key)]
LabelValue = Annotated[Text, AfterValidator(_label_value)]
Role = Annotated[str, AfterValidator(_role)]
Roles = Annotated[list[Role], BeforeValidator(_one_or_many), AfterValidator(_sorted_roles)]
Effect = Annotated[str, AfterValidator(_effect)]
Socket = Annotated[str, AfterValidator(_socket)]

# The login's fields, described once for a node and for a bastion (the description is the hint
# a problem ends with).
PortField = Annotated[Port, Field(description="give a TCP port, 1..65535")]
UserField = Annotated[User, Field(description="give the SSH login name, like root or ubuntu")]
PrivateKey = Annotated[
    Secret | None, Field(description="give the private key text (PEM or OpenSSH format)")
]
KeyPath = Annotated[FilePath, Field(description="give the path of a private key file")]
Passphrase = Annotated[Secret | None, Field(description="give the passphrase text")]
Certificate = Annotated[
    OptionalText,
    Field(description="give the OpenSSH certificate text (a *-cert.pub file's content)"),
]
CertificatePath = Annotated[
    FilePath, Field(description="give the path of an OpenSSH certificate file")
]
Flag = Annotated[bool, Field(description="give true or false")]
HostKey = Annotated[
    OptionalText,
    Field(description="give the public host key as 'type base64', like 'ssh-ed25519 AAAAC3...'"),
]


class _SpelledModel(RkeModel):
    """A model some of whose fields cluster.yml spells RKE's way; both spellings are read."""

    RKE_SPELLINGS: ClassVar[dict[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _rke_spellings(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        renamed = dict(data)
        for field, rke in cls.RKE_SPELLINGS.items():
            if rke in renamed:
                if field in renamed:
                    raise ValueError(f"gives both {rke!r} and {field!r}; give one of them")
                renamed[field] = renamed.pop(rke)
        return renamed


class Taint(RkeModel):
    """A Kubernetes taint a node gets (cluster.yml ``nodes[].taints[]``, a Node's ``taints``)."""

    key: LabelKey = Field(description="give a label-style key, like example.com/dedicated")
    value: LabelValue = Field(default="", description="give text")
    effect: Effect = Field(default="NoSchedule", description=f"use {', '.join(TAINT_EFFECTS)}")
    timeAdded: str | None = None  # set by Kubernetes; accepted and ignored, as RKE does


# What a node runs in the cluster, described once for a node and for an EC2 Instance.
RolesField = Annotated[Roles, Field(description=f"give a list of roles from {', '.join(ROLES)}")]
LabelsField = Annotated[
    dict[LabelKey, LabelValue], Field(description="give a mapping of label keys to text values")
]
TaintsField = Annotated[
    list[Taint],
    Field(
        description=f"give a list of {{key, value, effect}}, effect one of {', '.join(TAINT_EFFECTS)}"
    ),
]


class Bastion(_SpelledModel):
    """The jump host every SSH connection to the nodes goes through (cluster.yml's
    ``bastion_host``, a Node's ``bastion``). An empty ``user`` means not given."""

    RKE_SPELLINGS: ClassVar[dict[str, str]] = {"ssh_private_key": "ssh_key"}

    address: Address = Field(description="give the bastion's IP address or DNS name")
    port: PortField = 22
    user: UserField = ""
    ssh_private_key: PrivateKey = None
    ssh_key_path: KeyPath = None
    ssh_key_passphrase: Passphrase = None
    ssh_cert: Certificate = None
    ssh_cert_path: CertificatePath = None
    ssh_agent_auth: Flag = False
    host_key: HostKey = None
    ignore_proxy_env_vars: Flag = False


class NodeSpec(_SpelledModel):
    """One host: where it is, how to log in, and what it runs in the cluster.

    Empty ``user``, ``internal_address`` and ``hostname_override`` mean not given: each door
    says what they become (cluster.yml: user required, the others default to ``address``).
    """

    RKE_SPELLINGS: ClassVar[dict[str, str]] = RKE_SPELLINGS

    address: Address = Field(description="give the host's IP address or DNS name")
    port: PortField = 22
    user: UserField = ""
    internal_address: OptionalAddress = Field(
        default="", description="give the IP address or DNS name hosts use among themselves"
    )
    hostname_override: NodeName = Field(
        default="", description="give a Kubernetes node name (lowercase letters, digits, '-', '.')"
    )
    roles: RolesField = Field(default_factory=list)
    labels: LabelsField = Field(default_factory=dict)
    taints: TaintsField = Field(default_factory=list)
    ssh_private_key: PrivateKey = None
    ssh_key_path: KeyPath = None
    ssh_agent_auth: Flag = False
    ssh_key_passphrase: Passphrase = None
    ssh_cert: Certificate = None
    ssh_cert_path: CertificatePath = None
    bastion: Bastion | None = Field(
        default=None, description="give a mapping with address, port, user and a way to log in"
    )
    host_key: HostKey = None
    docker_socket: Socket = Field(
        default=DEFAULT_DOCKER_SOCKET,
        description=f"give the Docker socket's absolute path on the host, like {DEFAULT_DOCKER_SOCKET}",
    )
    ready_timeout: int = Field(
        default=DEFAULT_READY_TIMEOUT,
        ge=0,
        le=MAX_READY_TIMEOUT,
        description=f"give whole seconds, 0..{MAX_READY_TIMEOUT}",
    )
    nodeName: str = ""  # Rancher's node reference; accepted and ignored, as RKE does


def login_problems(node: NodeSpec | Bastion, *, at: str = "") -> list[Problem]:
    """The login's cross-field rule, for both doors: a certificate given as text and as a path
    is taken from the text (as RKE does, and as RKE's own example writes it), with a warning.

    ``at`` is the path of ``node`` (``nodes[2].``, ``bastion.``), with its trailing dot.
    """
    if node.ssh_cert and node.ssh_cert_path:
        return [
            Problem(
                path=f"{at}ssh_cert_path",
                message="is ignored: ssh_cert gives the certificate text; leave one of them out",
                severity="warning",
            )
        ]
    return []


def host_key_identity(text: str | None) -> str | None:
    """A host key without its comment ("type base64"), for comparing keys."""
    if not text:
        return None
    return " ".join(text.split()[:2])
