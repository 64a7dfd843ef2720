"""Which hosts join and leave a running cluster, and which of those changes can be applied.

Adding or removing worker-only hosts is an ordinary update: the new host converges, the one
that left is cleaned. The etcd and control-plane host sets of a running cluster stay as they
are until member changes are implemented (one etcd member at a time, quorum kept). Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pulumi_pyrke.errors import Problem
from pulumi_pyrke.model.cluster import ClusterConfig
from pulumi_pyrke.model.node import NodeSpec


@dataclass(frozen=True, kw_only=True, slots=True)
class HostChanges:
    """Hosts that join (in the config, not applied before) and leave (applied, now gone)."""

    joining: tuple[str, ...] = ()
    leaving: tuple[NodeSpec, ...] = ()
    problems: tuple[Problem, ...] = ()


def host_changes(previous: Sequence[NodeSpec], config: ClusterConfig) -> HostChanges:
    """Compare the nodes last applied with the config's; refuse etcd and control-plane changes."""
    if not previous:
        return HostChanges(joining=tuple(n.address for n in config.nodes))
    before = {n.address: n for n in previous}
    after = {n.address: n for n in config.nodes}
    problems = []
    for role in ("etcd", "controlplane"):
        was = sorted(a for a, n in before.items() if role in n.roles)
        now = sorted(a for a, n in after.items() if role in n.roles)
        if was != now:
            problems.append(
                Problem(
                    path="nodes",
                    message=f"the {role} hosts of the running cluster change ({', '.join(was)} -> "
                    f"{', '.join(now) or 'none'}); adding or removing {role} hosts is not "
                    "supported yet. Keep them as they are; worker-only hosts may come and go",
                )
            )
    return HostChanges(
        joining=tuple(a for a in after if a not in before),
        leaving=tuple(n for a, n in before.items() if a not in after),
        problems=tuple(problems),
    )
