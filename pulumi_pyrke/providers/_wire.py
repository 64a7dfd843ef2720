"""Pulumi's wire, as every pyrke dynamic provider meets it (Node and Instance; Cluster and
Addon next).

What the engine adds to a property bag (``__provider``), how a preview's unknown values look
and are set aside while validating, what a check and a diff find, how numbers come back
(``22`` as ``22.0``), how problems become ``CheckFailure``s, and how a resource's ``*Args`` or
keywords become its props.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar

import pulumi
from pulumi.dynamic import CheckFailure
from pulumi.output import Unknown
from pulumi.runtime import rpc
from pydantic import BaseModel, ValidationError

from pulumi_pyrke.errors import Problem
from pulumi_pyrke.model.problems import clean_loc, problem_from, sort_problems

PROVIDER_KEY = "__provider"
"""The input the SDK fills with the pickled provider; never compared, never validated."""

Path = tuple[Any, ...]
IsUnknown = Callable[[Any], bool]
"""Tells a value the engine does not know yet (a preview's unresolved Output)."""

A = TypeVar("A")
S = TypeVar("S", bound=BaseModel)


def is_unknown(value: Any) -> bool:
    """True for a value the engine does not know yet (a preview's unresolved Output).

    Check and Diff receive ``pulumi.output.Unknown``; the wire sentinel string is accepted too,
    so a value that slipped through undecoded is never validated as text.
    """
    return isinstance(value, Unknown) or (isinstance(value, str) and value == rpc.UNKNOWN)


def without_provider(props: Mapping[str, Any]) -> dict[str, Any]:
    """The property bag without the SDK's ``__provider`` key."""
    return {k: v for k, v in props.items() if k != PROVIDER_KEY}


def unknown_paths(value: Any, is_unknown: IsUnknown = is_unknown, at: Path = ()) -> Iterator[Path]:
    """Where ``value`` holds unknowns; a list with an unknown element is unknown as a whole."""
    if is_unknown(value):
        yield at
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from unknown_paths(item, is_unknown, (*at, key))
    elif isinstance(value, list | tuple):
        if any(is_unknown(item) for item in value):
            yield at
        else:
            for index, item in enumerate(value):
                yield from unknown_paths(item, is_unknown, (*at, index))


def contains_unknown(value: Any, is_unknown: IsUnknown = is_unknown) -> bool:
    """Whether any part of ``value`` is unknown."""
    return next(unknown_paths(value, is_unknown), None) is not None


def without_unknowns(
    raw: Mapping[str, Any],
    unknown: Iterable[Path],
    stand_in: Callable[[Path], Any | None] = lambda _: None,
) -> dict[str, Any]:
    """A copy to validate: unknown values left out, or replaced by ``stand_in(path)`` where a
    required key would otherwise be missing (it returns None to leave the key out)."""
    data: dict[str, Any] = _mutable_copy(raw)
    for path in unknown:
        parent = _at(data, path[:-1])
        if not isinstance(parent, dict):
            continue
        replacement = stand_in(path)
        if replacement is None:
            parent.pop(path[-1], None)
        else:
            parent[path[-1]] = replacement
    return data


def under(path: Path, prefixes: Iterable[Path]) -> bool:
    """Whether ``path`` lies at or below one of ``prefixes``."""
    return any(path[: len(p)] == p for p in prefixes)


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class InputCheck(Generic[S]):
    """What checking a resource's inputs found.

    ``inputs`` is the defaulted mapping to hand back to Pulumi (values that are unknown in a
    preview are kept as they came); ``spec`` is set only when every input is known and valid.
    """

    problems: tuple[Problem, ...]
    inputs: dict[str, Any]
    spec: S | None


def validate_known(
    model: type[S], data: Mapping[str, Any], unknown: Sequence[Path]
) -> tuple[S | None, list[Problem]]:
    """``data`` (unknowns set aside by ``without_unknowns``) validated with ``model``: the
    spec, or every problem (model/problems.py) not under an unknown (that depends on it)."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, [
            problem_from(err, model)
            for err in exc.errors(include_url=False)
            if not under(clean_loc(err["loc"]), unknown)
        ]


def input_check(
    model: type[S],
    raw: Mapping[str, Any],
    unknown: Sequence[Path],
    spec: S | None,
    problems: Iterable[Problem],
    to_inputs: Callable[[S], dict[str, Any]],
) -> InputCheck[S]:
    """A check's outcome: ``problems`` without repeats in ``model``'s field order, or, when
    there are none, ``to_inputs(spec)`` with each unknown input put back as it came."""
    ordered = tuple(sort_problems(problems, model))
    if ordered or spec is None:
        return InputCheck(problems=ordered, inputs=dict(raw), spec=None)
    inputs = to_inputs(spec)
    heads = {path[0] for path in unknown}
    inputs.update({key: value for key, value in raw.items() if key in heads})
    return InputCheck(problems=(), inputs=inputs, spec=None if heads else spec)


def changed_inputs(
    names: Iterable[str],
    olds: Mapping[str, Any],
    news: Mapping[str, Any],
    canonical: Callable[[str, Any], Any],
    *,
    is_unknown: IsUnknown = is_unknown,
    rules: Mapping[str, Callable[[Any, Any], bool]] | None = None,
) -> list[str]:
    """The inputs whose new value holds an unknown or, made ``canonical(name, value)``, differs
    from the old one; an input with a rule of its own changes when ``rules[name](old, new)``."""
    own = rules or {}
    changes: list[str] = []
    for name in names:
        old, new = olds.get(name), news.get(name)
        if name in own:
            changed = own[name](old, new)
        else:
            changed = contains_unknown(new, is_unknown) or canonical(name, old) != canonical(
                name, new
            )
        if changed:
            changes.append(name)
    return changes


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class InputDiff:
    """Which inputs changed and which of them need a new resource (empty: no change)."""

    changes: tuple[str, ...] = ()
    replaces: tuple[str, ...] = ()

    @classmethod
    def of(cls, changes: Iterable[str], replace_on: Iterable[str]) -> InputDiff:
        """The diff of ``changes``; those in ``replace_on`` replace the resource."""
        changed = tuple(changes)
        return cls(changes=changed, replaces=tuple(n for n in changed if n in set(replace_on)))


def plain(value: Any) -> Any:
    """A value as it was sent: numbers come back as floats (22 -> 22.0), None keys dropped."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


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


def resource_args(
    kind: type[A], resource: str, args: A | Mapping[str, Any] | None, keywords: Mapping[str, Any]
) -> A | Mapping[str, Any]:
    """The inputs of ``Resource(name, XArgs(...))`` or ``Resource(name, field=..., ...)``, the
    two forms Pulumi's own SDKs accept; both at once is a TypeError."""
    if args is not None and keywords:
        raise TypeError(
            f"{resource}() takes its inputs either as {kind.__name__} or as keywords, not both "
            f"(got both and {', '.join(sorted(keywords))})"
        )
    if args is not None:
        return args
    return kind(**keywords)


def secret_input(value: Any) -> Any:
    """Mark an input secret (a plain value or an Output); None stays None."""
    if value is None:
        return None
    return pulumi.Output.secret(value)


def _mutable_copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _mutable_copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mutable_copy(v) for v in value]
    return value


def _at(data: Any, path: Path) -> Any:
    node = data
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node
