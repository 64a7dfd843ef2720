"""Read a cluster.yml: YAML -> schema -> RKE's defaults -> cross-field checks, reporting every
problem at once as `field.path: what is wrong and what is valid`. Pure: no I/O besides parsing text.
"""

from __future__ import annotations

import copy
import difflib
import re
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from pulumi_pyrke.errors import ConfigError, Problem
from pulumi_pyrke.model.cluster import ClusterConfig
from pulumi_pyrke.model.defaults import apply_defaults
from pulumi_pyrke.model.validate import check_config

_MAX_PRUNE_ROUNDS = 8


@dataclass(frozen=True, kw_only=True, slots=True)
class LoadedConfig:
    """A valid, defaulted configuration plus the warnings found on the way."""

    config: ClusterConfig
    warnings: tuple[Problem, ...] = ()


def load_cluster_yml(text: str) -> LoadedConfig:
    """Parse cluster.yml text; raise ConfigError listing every problem, or return the config."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "is not valid YAML"
        raise ConfigError([Problem(path="", message=f"cluster.yml{where}: {problem}")]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([Problem(path="", message="cluster.yml must be a mapping of keys")])
    return parse_cluster_config(data)


def parse_cluster_config(data: Mapping[str, Any]) -> LoadedConfig:
    """Validate a cluster.yml mapping; raise ConfigError with all problems, or return it defaulted."""
    raw: Any = copy.deepcopy(dict(data))
    problems: list[Problem] = []
    pruned: list[str] = []
    config: ClusterConfig | None = None
    for _ in range(_MAX_PRUNE_ROUNDS):
        try:
            config = ClusterConfig.model_validate(raw)
            break
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            problems.extend(_problem_from_error(err) for err in errors)
            # Drop what failed and validate the rest again, so cross-field checks still run
            # on everything that is valid (the user sees all problems in one round).
            locs = sorted((_prune_loc(err) for err in errors), key=_loc_sort_key, reverse=True)
            for loc in locs:
                if _delete_at(raw, loc):
                    pruned.append(format_path(loc))
    if config is None:
        raise ConfigError(sort_problems(_dedupe(problems)))
    defaulted = apply_defaults(config)
    findings = check_config(defaulted, skip=pruned)
    problems.extend(p for p in findings if p.severity == "error")
    warnings = tuple(p for p in findings if p.severity == "warning")
    if problems:
        raise ConfigError(sort_problems(_dedupe(problems)))
    return LoadedConfig(config=defaulted, warnings=warnings)


def format_path(loc: Iterable[Any]) -> str:
    """('nodes', 1, 'address') -> 'nodes[1].address'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Problems ordered by field path, list indexes numerically (nodes[2] before nodes[10])."""

    def key(problem: Problem) -> list[tuple[int, int | str]]:
        parts = re.split(r"[.\[\]]+", problem.path)
        return [(0, int(p)) if p.isdigit() else (1, p) for p in parts if p]

    return sorted(problems, key=key)


def _dedupe(problems: Iterable[Problem]) -> list[Problem]:
    seen: dict[str, Problem] = {}
    for p in problems:
        seen.setdefault(str(p), p)
    return list(seen.values())


def _loc_sort_key(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((0, p) if isinstance(p, int) else (1, str(p)) for p in loc)


def _prune_loc(err: Mapping[str, Any]) -> tuple[Any, ...]:
    loc = _clean_loc(err["loc"])
    if err["type"] == "missing" and len(loc) > 1:
        return loc[:-1]  # a section without a required key is dropped as a whole
    return loc


def _clean_loc(loc: Iterable[Any]) -> tuple[Any, ...]:
    # pydantic adds markers such as 'function-after[...]' or '[key]' for some validators
    return tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p.endswith("]"))))


def _delete_at(raw: Any, loc: tuple[Any, ...]) -> bool:
    if not loc:
        return False
    node = raw
    for part in loc[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return False
    last = loc[-1]
    if isinstance(node, dict) and last in node:
        del node[last]
        return True
    if isinstance(node, list) and isinstance(last, int) and 0 <= last < len(node):
        del node[last]
        return True
    return False


_MESSAGES = {
    "missing": "is required",
    "int_parsing": "must be an integer",
    "int_type": "must be an integer",
    "int_from_float": "must be a whole number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "dict_type": "must be a mapping of keys to values",
    "model_type": "must be a mapping of keys to values",
    "model_attributes_type": "must be a mapping of keys to values",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
}


def _problem_from_error(err: Mapping[str, Any]) -> Problem:
    loc = _clean_loc(err["loc"])
    path = format_path(loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        return Problem(path=path, message=_unknown_key_message(loc))
    if kind == "value_error":
        message = str(err["msg"]).removeprefix("Value error, ")
    elif kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        message = f"{err.get('input')!r} is not valid; use {expected}"
    elif kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        message = f"{err.get('input')!r} " + str(err["msg"]).replace("Input should be", "must be")
    else:
        message = _MESSAGES.get(kind, str(err["msg"]).replace("Input should be", "must be"))
    return Problem(path=path, message=message)


def _unknown_key_message(loc: tuple[Any, ...]) -> str:
    key = str(loc[-1])
    model = _model_at(loc[:-1])
    if model is None:
        return "unknown key"
    valid = sorted(
        (f.alias or name) for name, f in model.model_fields.items() if not name.startswith("_")
    )
    close = difflib.get_close_matches(
        key.replace("_", "-"), [v.replace("_", "-") for v in valid], 1, 0.6
    )
    close += difflib.get_close_matches(key, valid, 1, 0.6)
    if close:
        guess = next(v for v in valid if v.replace("_", "-") == close[0].replace("_", "-"))
        return f"unknown key; did you mean {guess!r}?"
    return f"unknown key; valid keys here: {', '.join(valid)}"


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    current: Any = ClusterConfig
    for part in loc:
        if isinstance(part, int):
            continue
        model = _inner_model(current)
        if model is None:
            return None
        field = next(
            (f for n, f in model.model_fields.items() if (f.alias or n) == part or n == part),
            None,
        )
        if field is None:
            return None
        current = field.annotation
    return _inner_model(current)


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list, tuple):
        for arg in typing.get_args(annotation):
            found = _inner_model(arg)
            if found is not None:
                return found
    return None
