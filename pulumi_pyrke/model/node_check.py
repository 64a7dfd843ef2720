"""Check a Node's inputs: every problem at once, each with its field path and what is valid.

Pure: no I/O. Values unknown in a preview are accepted anywhere and what depends on them is
not checked; key material and host key lines are checked by the provider (they need transport).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from pulumi_pyrke.errors import ConfigError, Problem
from pulumi_pyrke.model.cluster import ROLES, TAINT_EFFECTS
from pulumi_pyrke.model.node import (
    DEFAULT_DOCKER_SOCKET,
    MAX_READY_TIMEOUT,
    NODE_INPUTS,
    BastionSpec,
    IsUnknown,
    NodeSpec,
    TaintSpec,
)

_PLACEHOLDER = "unknown.invalid"  # stands in for an unknown required address while validating


@dataclass(frozen=True, kw_only=True, slots=True)
class NodeCheck:
    """What checking a Node's inputs found.

    ``inputs`` is the defaulted mapping to hand back to Pulumi (values that are unknown in a
    preview are kept as they came); ``spec`` is set only when every input is known and valid.
    """

    problems: tuple[Problem, ...]
    inputs: dict[str, Any]
    spec: NodeSpec | None


def check_node_inputs(raw: Mapping[str, Any], *, is_unknown: IsUnknown) -> NodeCheck:
    """Validate a Node's inputs, returning every problem with its field path (none raised).

    Unknown values are accepted anywhere: what depends on them is not checked.
    """
    unknown = list(_unknown_paths(raw, (), is_unknown))
    data = _without_unknowns(raw, unknown)
    problems: list[Problem] = []
    spec: NodeSpec | None = None
    try:
        spec = NodeSpec.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc = _clean_loc(err["loc"])
            if not any(loc[: len(u)] == u for u in unknown):
                problems.append(_problem(loc, err))
    problems.extend(_cross_field_problems(raw, is_unknown))
    problems = sort_node_problems(problems)
    if problems or spec is None:
        return NodeCheck(problems=tuple(problems), inputs=dict(raw), spec=None)
    inputs = spec.to_inputs()
    for key, value in raw.items():
        if any(u[0] == key for u in unknown):
            inputs[key] = value  # what the engine does not know yet stays as it came
    return NodeCheck(problems=(), inputs=inputs, spec=None if unknown else spec)


def parse_node_inputs(raw: Mapping[str, Any]) -> NodeSpec:
    """Validate fully known inputs; raise ConfigError listing every problem."""
    result = check_node_inputs(raw, is_unknown=lambda _: False)
    if result.spec is None:
        raise ConfigError(result.problems)
    return result.spec


def _unknown_paths(
    value: Any, at: tuple[Any, ...], is_unknown: IsUnknown
) -> Iterator[tuple[Any, ...]]:
    if is_unknown(value):
        yield at
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _unknown_paths(item, (*at, key), is_unknown)
    elif isinstance(value, list | tuple):
        if any(is_unknown(item) for item in value):
            yield at  # a list with an unknown element is unknown as a whole
        else:
            for index, item in enumerate(value):
                yield from _unknown_paths(item, (*at, index), is_unknown)


def _without_unknowns(raw: Mapping[str, Any], unknown: list[tuple[Any, ...]]) -> Any:
    """A copy to validate: unknown values left out, unknown required keys stood in for."""
    data: Any = _mutable_copy(raw)
    for path in unknown:
        parent = _at(data, path[:-1])
        if not isinstance(parent, dict):
            continue
        if path[-1] == "address" and path in (("address",), ("bastion", "address")):
            parent["address"] = _PLACEHOLDER
        elif len(path) == 3 and path[0] == "taints" and path[2] == "key":
            parent["key"] = "unknown"
        else:
            parent.pop(path[-1], None)
    return data


def _mutable_copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _mutable_copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mutable_copy(v) for v in value]
    return value


def _at(data: Any, path: tuple[Any, ...]) -> Any:
    node = data
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _clean_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    # pydantic marks a failing dict key with '[key]' after the key itself
    return tuple(p for p in loc if p != "[key]")


def _cross_field_problems(raw: Mapping[str, Any], is_unknown: IsUnknown) -> Iterator[Problem]:
    yield from _auth_problems(raw, "", is_unknown)
    bastion = raw.get("bastion")
    if isinstance(bastion, Mapping):
        yield from _auth_problems(bastion, "bastion.", is_unknown)
    if _given(raw.get("ssh_cert"), is_unknown) and _given(raw.get("ssh_cert_path"), is_unknown):
        yield Problem(
            path="ssh_cert_path",
            message="ssh_cert is given too; give the certificate text or its file path, not both",
        )


def _auth_problems(raw: Mapping[str, Any], prefix: str, is_unknown: IsUnknown) -> Iterator[Problem]:
    ways = ("ssh_private_key", "ssh_key_path", "ssh_agent_auth")
    if not any(_given(raw.get(w), is_unknown) for w in ways):
        yield Problem(
            path=f"{prefix}ssh_private_key",
            message=f"no way to log in; give {prefix}ssh_private_key (key text), "
            f"{prefix}ssh_key_path (a key file) or {prefix}ssh_agent_auth: true",
        )


def _given(value: Any, is_unknown: IsUnknown) -> bool:
    return is_unknown(value) or (value not in (None, "", False))


_HINTS = {
    "address": "give the host's IP address or DNS name",
    "port": "give a TCP port, 1..65535",
    "user": "give the SSH login name, like root or ubuntu",
    "internal_address": "give the IP address or DNS name hosts use among themselves",
    "hostname_override": "give a Kubernetes node name (lowercase letters, digits, '-', '.')",
    "roles": f"give a list of roles from {', '.join(ROLES)}",
    "labels": "give a mapping of label keys to text values",
    "taints": f"give a list of {{key, value, effect}} with effect one of {', '.join(TAINT_EFFECTS)}",
    "key": "give a label-style key, like example.com/dedicated",
    "value": "give text",
    "effect": f"use {', '.join(TAINT_EFFECTS)}",
    "ssh_private_key": "give the private key text (PEM or OpenSSH format)",
    "ssh_key_path": "give the path of a private key file",
    "ssh_agent_auth": "give true or false",
    "ssh_key_passphrase": "give the passphrase text",
    "ssh_cert": "give the OpenSSH certificate text (the contents of a *-cert.pub file)",
    "ssh_cert_path": "give the path of an OpenSSH certificate file",
    "bastion": "give a mapping with address, port, user and a way to log in",
    "host_key": "give the public host key as 'type base64', like 'ssh-ed25519 AAAAC3...'",
    "docker_socket": f"give the Docker socket's absolute path on the host, like {DEFAULT_DOCKER_SOCKET}",
    "ready_timeout": f"give whole seconds, 0..{MAX_READY_TIMEOUT}",
}

_SECRET_FIELDS = ("ssh_private_key", "ssh_key_passphrase")

_KINDS = {
    "int_parsing": "is not a whole number",
    "int_type": "is not a whole number",
    "int_from_float": "is not a whole number",
    "bool_parsing": "is not true or false",
    "bool_type": "is not true or false",
    "string_type": "is not text",
    "list_type": "is not a list",
    "dict_type": "is not a mapping",
    "model_type": "is not a mapping",
    "model_attributes_type": "is not a mapping",
    "greater_than_equal": "is too small",
    "less_than_equal": "is too large",
}


def _problem(loc: tuple[Any, ...], err: Mapping[str, Any]) -> Problem:
    path = _format_path(loc)
    kind = err["type"]
    if loc[:1] == ("labels",):
        field = "labels"
    else:
        field = next((p for p in reversed(loc) if isinstance(p, str) and p in _HINTS), "")
    hint = _HINTS.get(field, "")
    # never echo what was given for a key, a passphrase or a whole bastion (it holds keys)
    secret = field in _SECRET_FIELDS or loc == ("bastion",)
    if kind == "extra_forbidden":
        return Problem(path=path, message=_unknown_input(loc))
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


def _unknown_input(loc: tuple[Any, ...]) -> str:
    key = str(loc[-1])
    model: type[BaseModel] = BastionSpec if loc[:1] == ("bastion",) else NodeSpec
    if len(loc) == 3 and loc[0] == "taints":
        model = TaintSpec
    valid = sorted(model.model_fields)
    close = difflib.get_close_matches(key, valid, 1, 0.6)
    if close:
        return f"is not an input; did you mean {close[0]!r}?"
    return f"is not an input; valid here: {', '.join(valid)}"


def _format_path(loc: tuple[Any, ...]) -> str:
    """('taints', 0, 'effect') -> 'taints[0].effect'; label keys quoted: labels["a.b/c"]."""
    out = ""
    for index, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        elif index > 0 and loc[index - 1] == "labels":
            out += f"[{json.dumps(str(part))}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def sort_node_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Problems without repeats, in the order the inputs are declared."""
    unique: dict[str, Problem] = {}
    for p in problems:
        unique.setdefault(str(p), p)
    order = {name: i for i, name in enumerate(NODE_INPUTS)}

    def key(p: Problem) -> tuple[int, str]:
        head = re.split(r"[.\[]", p.path, maxsplit=1)[0]
        return (order.get(head, len(order)), p.path)

    return sorted(unique.values(), key=key)
