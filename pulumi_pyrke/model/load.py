"""Read a cluster.yml: YAML -> schema -> RKE's defaults -> cross-field checks, reporting every
problem at once as `field.path: what is wrong and what is valid`. Pure: no I/O besides parsing text.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from pulumi_pyrke.errors import ConfigError, Problem
from pulumi_pyrke.model.cluster import ClusterConfig
from pulumi_pyrke.model.defaults import apply_defaults
from pulumi_pyrke.model.node import RKE_SPELLINGS
from pulumi_pyrke.model.problems import clean_loc, path_of, problem_from, sort_problems
from pulumi_pyrke.model.validate import check_config
from pulumi_pyrke.model.yamldoc import MAX_BYTES, Limits, parse_yaml

_MAX_PRUNE_ROUNDS = 8


@dataclass(frozen=True, kw_only=True, slots=True)
class LoadedConfig:
    """A valid, defaulted configuration plus the warnings found on the way."""

    config: ClusterConfig
    warnings: tuple[Problem, ...] = ()


def load_cluster_yml(text: str, *, max_bytes: int = MAX_BYTES) -> LoadedConfig:
    """Parse cluster.yml text; raise ConfigError listing every problem, or return the config.

    The YAML is read through model/yamldoc.py: bounded in size (``max_bytes``), alias
    expansion and depth, duplicate keys refused, scalars kept as written for text fields.
    """
    data = parse_yaml(text, source="cluster.yml", limits=Limits(max_bytes=max_bytes))
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([Problem(path="cluster.yml", message="must be a mapping of keys")])
    return parse_cluster_config(data)


def parse_cluster_config(data: Mapping[str, Any]) -> LoadedConfig:
    """Validate a cluster.yml mapping; raise ConfigError with all problems, or return it defaulted."""
    raw: Any = copy.deepcopy(dict(data))
    problems: list[Problem] = []
    pruned: list[str] = []
    dropped: set[tuple[Any, ...]] = set()
    config: ClusterConfig | None = None
    for _ in range(_MAX_PRUNE_ROUNDS):
        try:
            config = ClusterConfig.model_validate(raw)
            break
        except ValidationError as exc:
            # a key dropped in an earlier round is not reported again as missing
            errors = [
                e
                for e in exc.errors(include_url=False)
                if not (e["type"] == "missing" and clean_loc(e["loc"]) in dropped)
            ]
            problems.extend(problem_from(err, ClusterConfig, rke=True) for err in errors)
            # Drop what failed and validate the rest again, so cross-field checks still run
            # on everything that is valid (the user sees all problems in one round).
            locs = sorted((_prune_loc(err) for err in errors), key=_loc_sort_key, reverse=True)
            for loc in locs:
                if _delete_at(raw, loc):
                    dropped.add(loc)
                    pruned.append(path_of(loc, ClusterConfig, rke=True))
    if config is None:
        raise ConfigError(sort_problems(problems, ClusterConfig))
    defaulted = apply_defaults(config)
    findings = check_config(defaulted, skip=pruned)
    problems.extend(p for p in findings if p.severity == "error")
    warnings = tuple(p for p in findings if p.severity == "warning")
    if problems:
        raise ConfigError(sort_problems(problems, ClusterConfig))
    return LoadedConfig(config=defaulted, warnings=warnings)


def _loc_sort_key(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((0, p) if isinstance(p, int) else (1, str(p)) for p in loc)


def _prune_loc(err: Mapping[str, Any]) -> tuple[Any, ...]:
    loc = clean_loc(err["loc"])
    if err["type"] == "missing" and len(loc) > 1:
        return loc[:-1]  # a section without a required key is dropped as a whole
    return loc


def _delete_at(raw: Any, loc: tuple[Any, ...]) -> bool:
    if not loc:
        return False
    node = raw
    for part in loc[:-1]:
        try:
            node = node[_present(node, part)]
        except (KeyError, IndexError, TypeError):
            return False
    last = loc[-1]
    if isinstance(node, dict) and _present(node, last) in node:
        del node[_present(node, last)]
        return True
    if isinstance(node, list) and isinstance(last, int) and 0 <= last < len(node):
        del node[last]
        return True
    return False


def _present(node: Any, key: Any) -> Any:
    """The key as the text has it: an error names a node field, the text may spell it RKE's way."""
    if isinstance(node, dict) and key not in node and RKE_SPELLINGS.get(key) in node:
        return RKE_SPELLINGS[key]
    return key
