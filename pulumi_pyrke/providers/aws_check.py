"""An Instance's inputs on Pulumi's wire: check (every problem at once, unknowns accepted), diff
(which changes launch a new machine), and the lists Pulumi keeps: replace-on and secrets.

Validation, wording (model/problems.py), unknowns and wire numbers go through _wire.py, as the
Node's do; the schema and its validators are model/instance.py.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_pyrke.errors import ConfigError, Problem
from pulumi_pyrke.model.instance import (
    DEFAULT_SSH_USER,
    LAUNCH_TEMPLATE,
    MAX_USER_DATA_BYTES,
    InstanceSpec,
)
from pulumi_pyrke.model.user_data import build_user_data
from pulumi_pyrke.providers._wire import (
    InputCheck,
    InputDiff,
    IsUnknown,
    Path,
    changed_inputs,
    input_check,
    is_unknown,
    plain,
    unknown_paths,
    validate_known,
    without_unknowns,
)

INSTANCE_INPUTS = tuple(InstanceSpec.model_fields)
"""Every input name of an Instance, in declaration order."""

REPLACE_ON = LAUNCH_TEMPLATE
"""Inputs a running machine cannot take on: a change launches a new machine first. The same
names make the launch identity, so a replacement never adopts the machine it replaces."""

SECRET_INPUTS = ("ssh_private_key",)
SECRET_OUTPUTS = ("ssh_private_key", "node")
"""Outputs Pulumi must keep secret (`node` carries the private key)."""

# stand-ins for unknown required values while the rest is validated (so defaults are filled)
_STAND_INS: dict[Path, Any] = {
    ("region",): "us-east-1",
    ("instance_type",): "t3.micro",
    ("subnet_id",): "subnet-00000000",
    ("name",): "unknown",
}


def _stand_in(path: Path) -> Any | None:
    if len(path) == 3 and path[0] == "taints" and path[2] == "key":
        return "unknown"
    return _STAND_INS.get(path)


def check_instance_inputs(
    raw: Mapping[str, Any], *, is_unknown: IsUnknown = is_unknown
) -> InputCheck[InstanceSpec]:
    """Validate an Instance's inputs, returning every problem with its field path (none raised).

    Unknown values are accepted anywhere: what depends on them is not checked.
    """
    unknown = list(unknown_paths(raw, is_unknown))
    spec, problems = validate_known(
        InstanceSpec, without_unknowns(raw, unknown, _stand_in), unknown
    )
    problems.extend(_cross_field_problems(raw, {path[0] for path in unknown}))
    return input_check(InstanceSpec, raw, unknown, spec, problems, instance_inputs)


def parse_instance_inputs(raw: Mapping[str, Any]) -> InstanceSpec:
    """Validate fully known inputs; raise ConfigError listing every problem."""
    known = {k: v for k, v in raw.items() if k in INSTANCE_INPUTS and v is not None}
    result = check_instance_inputs(known, is_unknown=lambda _: False)
    if result.spec is None:
        raise ConfigError(result.problems)
    return result.spec


def instance_inputs(spec: InstanceSpec) -> dict[str, Any]:
    """The plain mapping the provider hands Pulumi: defaults filled, the key revealed (the
    engine marks it secret again by name)."""
    data = spec.model_dump(exclude_none=True, exclude=set(SECRET_INPUTS))
    if spec.ssh_private_key is not None:
        data["ssh_private_key"] = spec.ssh_private_key.reveal()
    return data


def _cross_field_problems(raw: Mapping[str, Any], unknown: set[str]) -> Iterator[Problem]:
    """An image is an id or a name pattern with its owner; the user data fits EC2's limit."""

    def given(name: str) -> bool:
        return name in unknown or raw.get(name) not in (None, "")

    if given("ami") and (given("ami_name") or given("ami_owner")):
        yield Problem(
            path="ami",
            message="ami_name/ami_owner are given too; give an AMI id or a name pattern, not both",
        )
    elif not given("ami") and not given("ami_name"):
        yield Problem(
            path="ami",
            message="is required; give an AMI id of the region, or ami_owner and ami_name "
            "(a name pattern like 'ubuntu/images/*ubuntu-jammy-22.04-amd64-server-*') to use the newest match",
        )
    elif given("ami_name") and not given("ami_owner"):
        yield Problem(
            path="ami_owner",
            message="is required with ami_name (anyone can publish an image of any name); "
            "give the owner's account id or alias, like 099720109477 (Canonical) or amazon",
        )
    names = ("ssh_user", "user_data", "extra_user_data")
    if any(n in unknown for n in names):
        return
    user = raw.get("ssh_user") or DEFAULT_SSH_USER
    texts = [raw.get(n) for n in ("user_data", "extra_user_data")]
    if not isinstance(user, str) or not all(isinstance(t, str | None) for t in texts):
        return  # a wrong type is reported by the schema
    size = len(build_user_data(user, raw.get("user_data"), raw.get("extra_user_data")).encode())
    if size > MAX_USER_DATA_BYTES:
        which = "extra_user_data" if raw.get("extra_user_data") else "user_data"
        yield Problem(
            path=which,
            message=f"makes {size} bytes of user data; EC2 takes at most {MAX_USER_DATA_BYTES}. "
            "Fetch the larger part from S3 or a URL in the script",
        )


def diff_instance(
    olds: Mapping[str, Any], news: Mapping[str, Any], *, is_unknown: IsUnknown = is_unknown
) -> InputDiff:
    """Compare an Instance's old outputs with its new checked inputs."""
    changes = changed_inputs(INSTANCE_INPUTS, olds, news, _canonical, is_unknown=is_unknown)
    return InputDiff.of(changes, REPLACE_ON)


def _canonical(name: str, value: Any) -> Any:
    if value is None:
        value = InstanceSpec.model_fields[name].get_default(call_default_factory=True)
    value = plain(value)
    if name in ("roles", "security_group_ids") and isinstance(value, list):
        return sorted({str(v) for v in value})
    if name == "spot_price" and value is not None:
        return f"{float(value):g}"
    if name == "taints" and isinstance(value, list):
        return [
            {"value": "", "effect": "NoSchedule", **t} if isinstance(t, dict) else t for t in value
        ]
    return value
