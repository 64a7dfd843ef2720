"""Property plumbing shared by the dynamic providers and their resource classes.

What the engine adds to a property bag (``__provider``), how a preview's unknown values look
to a provider, and how typed ``*Args`` become the plain props a dynamic resource sends.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure
from pulumi.output import Unknown
from pulumi.runtime import rpc

from pulumi_pyrke.errors import Problem

PROVIDER_KEY = "__provider"
"""The input the SDK fills with the pickled provider; never compared, never validated."""


def is_unknown(value: Any) -> bool:
    """True for a value the engine does not know yet (a preview's unresolved Output).

    Check and Diff receive ``pulumi.output.Unknown``; the wire sentinel string is accepted too,
    so a value that slipped through undecoded is never validated as text.
    """
    return isinstance(value, Unknown) or (isinstance(value, str) and value == rpc.UNKNOWN)


def without_provider(props: Mapping[str, Any]) -> dict[str, Any]:
    """The property bag without the SDK's ``__provider`` key."""
    return {k: v for k, v in props.items() if k != PROVIDER_KEY}


def check_failures(problems: Iterable[Problem]) -> list[CheckFailure]:
    """Problems as the SDK's CheckFailure (field path, what is wrong and what is valid)."""
    return [CheckFailure(p.path, p.message) for p in problems if p.severity == "error"]


def args_to_props(args: Any, names: Iterable[str]) -> dict[str, Any]:
    """A dataclass of inputs, or a plain mapping, as a dict with every name in ``names``.

    Names the caller did not give are None (so the resource still gets the attribute); keys of
    a mapping that are not in ``names`` are kept, and the provider's check reports them.
    """
    if dataclasses.is_dataclass(args) and not isinstance(args, type):
        given = {f.name: getattr(args, f.name) for f in dataclasses.fields(args)}
    elif isinstance(args, Mapping):
        given = dict(args)
    else:
        raise TypeError(
            f"expected an Args dataclass or a mapping of inputs, not {type(args).__name__}"
        )
    props = {name: None for name in names}
    props.update(given)
    return props


def secret_input(value: Any) -> Any:
    """Mark an input secret (a plain value or an Output); None stays None."""
    if value is None:
        return None
    return pulumi.Output.secret(value)
