"""Diff a Node: which inputs changed between the old outputs and the new inputs, and which of
those name another host (a replacement). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_pyrke.model.node import (
    NODE_INPUTS,
    REPLACE_ON,
    IsUnknown,
    NodeSpec,
    host_key_identity,
)


@dataclass(frozen=True, kw_only=True, slots=True)
class NodeDiff:
    """Which inputs changed and which of them need a new Node (empty: no change)."""

    changes: tuple[str, ...] = ()
    replaces: tuple[str, ...] = ()


def diff_node(
    olds: Mapping[str, Any], news: Mapping[str, Any], *, is_unknown: IsUnknown
) -> NodeDiff:
    """Compare a Node's old outputs with its new checked inputs.

    `host_key` differs only when a new pinned key differs from the recorded one: unpinning
    keeps the recorded key enforced, pinning the recorded key changes nothing.
    """
    changes: list[str] = []
    for name in NODE_INPUTS:
        new = news.get(name)
        if name == "host_key":
            if is_unknown(new) or (
                new is not None and host_key_identity(new) != host_key_identity(olds.get(name))
            ):
                changes.append(name)
            continue
        if _contains_unknown(new, is_unknown):
            changes.append(name)
            continue
        default = NodeSpec.model_fields[name].get_default(call_default_factory=True)
        if _canonical(name, olds.get(name), default) != _canonical(name, new, default):
            changes.append(name)
    replaces = tuple(n for n in changes if n in REPLACE_ON)
    return NodeDiff(changes=tuple(changes), replaces=replaces)


def _canonical(name: str, value: Any, default: Any) -> Any:
    if value is None:
        value = default
    value = _plain(value)
    if name == "roles" and isinstance(value, list):
        return sorted({str(v) for v in value})
    return value


def _plain(value: Any) -> Any:
    """Numbers cross the wire as floats (22 -> 22.0) and None-valued keys are dropped."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _contains_unknown(value: Any, is_unknown: IsUnknown) -> bool:
    if is_unknown(value):
        return True
    if isinstance(value, Mapping):
        return any(_contains_unknown(v, is_unknown) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_contains_unknown(v, is_unknown) for v in value)
    return False
