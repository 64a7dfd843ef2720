"""Check and diff an Instance's inputs: every problem at once with its field path; which
changes launch a new machine. Pure: no I/O. Unknown values (a preview) are accepted anywhere.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from pulumi_pyrke.errors import ConfigError, Problem
from pulumi_pyrke.model.instance import (
    INSTANCE_INPUTS,
    MAX_USER_DATA_BYTES,
    REPLACE_ON,
    InstanceSpec,
)
from pulumi_pyrke.model.user_data import build_user_data

IsUnknown = Callable[[Any], bool]

# stand-ins for unknown required values while the rest is validated
_PLACEHOLDERS = {
    "region": "us-east-1",
    "instance_type": "t3.micro",
    "subnet_id": "subnet-00000000",
    "name": "unknown",
}

_HINTS = {
    "region": "give the AWS region, like eu-west-1",
    "instance_type": "give an EC2 instance type, like t3.large",
    "subnet_id": "give the id of the subnet to launch in, like subnet-0abc1234def567890",
    "security_group_ids": "give a list of security group ids, like ['sg-0abc1234def567890']",
    "ssh_user": "give the login name the image's cloud-init creates, like ubuntu or ec2-user",
    "tags": "give a mapping of tag keys to text",
    "root_volume_size": "give whole GiB, 1..65536",
    "index": "give a whole number, 0 or more",
    "wait_timeout": "give whole seconds, 0..86400",
    "name": "give the machine's name (its Name tag)",
    "roles": "give a list of roles from controlplane, etcd, worker",
    "labels": "give a mapping of label keys to text values",
    "taints": "give a list of {key, value, effect}",
    "associate_public_ip_address": "give true or false",
}

_KINDS = {
    "int_parsing": "is not a whole number",
    "int_type": "is not a whole number",
    "int_from_float": "is not a whole number",
    "bool_parsing": "is not true or false",
    "bool_type": "is not true or false",
    "string_type": "is not text",
    "list_type": "is not a list",
    "dict_type": "is not a mapping",
    "greater_than_equal": "is too small",
    "less_than_equal": "is too large",
    "string_too_short": "is empty",
}


@dataclass(frozen=True, kw_only=True, slots=True)
class InstanceCheck:
    """What checking found: problems, the defaulted inputs, and the spec when all is known."""

    problems: tuple[Problem, ...]
    inputs: dict[str, Any]
    spec: InstanceSpec | None


def check_instance_inputs(raw: Mapping[str, Any], *, is_unknown: IsUnknown) -> InstanceCheck:
    """Validate an Instance's inputs, returning every problem with its field path."""
    unknown = {name for name, value in raw.items() if _contains_unknown(value, is_unknown)}
    data = {k: v for k, v in raw.items() if k not in unknown}
    data.update({k: v for k, v in _PLACEHOLDERS.items() if k in unknown})
    problems: list[Problem] = []
    spec: InstanceSpec | None = None
    try:
        spec = InstanceSpec.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc = tuple(p for p in err["loc"] if p != "[key]")
            if loc and loc[0] not in unknown:
                problems.append(_problem(loc, err))
    problems.extend(_cross_field_problems(raw, unknown, is_unknown))
    problems = sorted({str(p): p for p in problems}.values(), key=_order)
    if problems or spec is None:
        return InstanceCheck(problems=tuple(problems), inputs=dict(raw), spec=None)
    inputs = spec.to_inputs()
    inputs.update({k: raw[k] for k in unknown})  # unknown stays as it came
    return InstanceCheck(problems=(), inputs=inputs, spec=None if unknown else spec)


def parse_instance_inputs(raw: Mapping[str, Any]) -> InstanceSpec:
    """Validate fully known inputs; raise ConfigError listing every problem."""
    known = {k: v for k, v in raw.items() if k in INSTANCE_INPUTS and v is not None}
    result = check_instance_inputs(known, is_unknown=lambda _: False)
    if result.spec is None:
        raise ConfigError(result.problems)
    return result.spec


def _cross_field_problems(
    raw: Mapping[str, Any], unknown: set[str], is_unknown: IsUnknown
) -> Iterator[Problem]:
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
    if not any(n in unknown for n in names):
        user = raw.get("ssh_user") or "ubuntu"
        if isinstance(user, str) and all(
            isinstance(raw.get(n), str | None) for n in ("user_data", "extra_user_data")
        ):
            size = len(
                build_user_data(user, raw.get("user_data"), raw.get("extra_user_data")).encode()
            )
            if size > MAX_USER_DATA_BYTES:
                which = "extra_user_data" if raw.get("extra_user_data") else "user_data"
                yield Problem(
                    path=which,
                    message=f"makes {size} bytes of user data; EC2 takes at most {MAX_USER_DATA_BYTES}. "
                    "Fetch the larger part from S3 or a URL in the script",
                )


def _problem(loc: tuple[Any, ...], err: Mapping[str, Any]) -> Problem:
    path = _format_path(loc)
    kind = err["type"]
    field = str(loc[0])
    hint = _HINTS.get(field, "")
    secret = field == "ssh_private_key"
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(field, INSTANCE_INPUTS, 1, 0.6)
        what = f"did you mean {close[0]!r}?" if close else f"valid: {', '.join(INSTANCE_INPUTS)}"
        return Problem(path=path, message=f"is not an input; {what}")
    if kind == "missing":
        return Problem(path=path, message=f"is required; {hint}" if hint else "is required")
    if kind == "value_error" and not secret:
        return Problem(path=path, message=str(err["msg"]).removeprefix("Value error, "))
    shown = "" if secret else f"{_show(err.get('input'))} "
    what = _KINDS.get(kind, "is not valid")
    return Problem(path=path, message=f"{shown}{what}; {hint}" if hint else f"{shown}{what}")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _format_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for index, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        elif index > 0 and loc[0] in ("labels", "tags"):
            out += f'["{part}"]'
        else:
            out += f".{part}" if out else str(part)
    return out


def _order(problem: Problem) -> tuple[int, str]:
    head = re.split(r"[.\[]", problem.path, maxsplit=1)[0]
    order = {name: i for i, name in enumerate(INSTANCE_INPUTS)}
    return (order.get(head, len(order)), problem.path)


def _contains_unknown(value: Any, is_unknown: IsUnknown) -> bool:
    if is_unknown(value):
        return True
    if isinstance(value, Mapping):
        return any(_contains_unknown(v, is_unknown) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_contains_unknown(v, is_unknown) for v in value)
    return False


@dataclass(frozen=True, kw_only=True, slots=True)
class InstanceDiff:
    """Which inputs changed and which of them need a new machine (empty: no change)."""

    changes: tuple[str, ...] = ()
    replaces: tuple[str, ...] = ()


def diff_instance(
    olds: Mapping[str, Any], news: Mapping[str, Any], *, is_unknown: IsUnknown
) -> InstanceDiff:
    """Compare an Instance's old outputs with its new checked inputs."""
    changes: list[str] = []
    for name in INSTANCE_INPUTS:
        new = news.get(name)
        if _contains_unknown(new, is_unknown):
            changes.append(name)
            continue
        default = InstanceSpec.model_fields[name].get_default(call_default_factory=True)
        if _canonical(name, olds.get(name), default) != _canonical(name, new, default):
            changes.append(name)
    return InstanceDiff(
        changes=tuple(changes), replaces=tuple(n for n in changes if n in REPLACE_ON)
    )


def _canonical(name: str, value: Any, default: Any) -> Any:
    value = default if value is None else value
    value = _plain(value)
    if name in ("roles", "security_group_ids") and isinstance(value, list):
        return sorted({str(v) for v in value})
    if name == "spot_price" and value is not None:
        return f"{float(value):g}"
    if name == "taints" and isinstance(value, list):
        return [
            {"value": "", "effect": "NoSchedule", **t} if isinstance(t, dict) else t for t in value
        ]
    return value


def _plain(value: Any) -> Any:
    """Wire numbers are floats: 22.0 and 22 are the same input."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "model_dump"):
        return _plain(value.model_dump())
    return value
