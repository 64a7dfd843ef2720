"""Property: every cluster.yml either fails with the project's own error, one line per problem
with a field path, or plans and renders (text and JSON). Seeded with RKE's documented examples
and the golden cases, mutated by hypothesis; bounded in examples and time, derandomized in CI."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pulumi_pyrke.errors import ConfigError, PyrkeError
from pulumi_pyrke.model.load import load_cluster_yml
from pulumi_pyrke.plan import ClusterState, plan_cluster, plan_cluster_with_pki
from pulumi_pyrke.plan.render import render_json, render_text

ROOT = Path(__file__).resolve().parents[1]
SEEDS = sorted(
    [
        ROOT / "examples" / "cluster.yml",
        *(ROOT / "tests" / "golden").glob("*/cluster.yml"),
        *(ROOT / "tests" / "configs").glob("rke-docs-*.yml"),
    ]
)
SEED_DOCS = [yaml.safe_load(p.read_text()) for p in SEEDS]

settings.register_profile(
    "ci",
    max_examples=int(os.environ.get("PYRKE_HYPOTHESIS_EXAMPLES", "300")),
    deadline=2000,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev", max_examples=1000, deadline=2000, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("PYRKE_HYPOTHESIS_PROFILE", "ci"))

ODD_SCALARS = st.sampled_from(
    [
        None,
        True,
        False,
        0,
        -1,
        1,
        65536,
        2**63,
        1.10,
        "",
        " ",
        "010",
        "12:30",
        "1.10",
        "yes",
        "~",
        "a\nb",
        "x\u202ey",
        "[",
        "a[0]",
        "münchen",
        "-o ProxyCommand=x",
        "255.255.255.255/32",
        "10.43.0.0/33",
        "::/0",
        "/var/lib:/var/lib",
        "K=V",
        "tcp://1.2.3.4",
        "\x00",
        "ü" * 3,
    ]
)
ODD_VALUES = st.recursive(
    ODD_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["name", "plugins", "a", "[", "global"]), inner, max_size=3
        )
    ),
    max_leaves=6,
)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out.extend(_paths(v, (*prefix, i)))
    return out


@st.composite
def mutated(draw: st.DrawFn) -> str:
    doc = draw(st.sampled_from(SEED_DOCS))
    doc = yaml.safe_load(yaml.safe_dump(doc))  # a private copy
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["set", "delete", "add", "dup"]))
        parent: Any = doc
        for part in path[:-1]:
            parent = parent[part]
        if not path:
            continue
        last = path[-1]
        if action == "set":
            parent[last] = draw(ODD_VALUES)
        elif action == "delete":
            del parent[last]
        elif action == "add" and isinstance(parent[last], dict):
            key = draw(st.sampled_from(["extra", "[", "name", "plugins", "port", "x y"]))
            parent[last][key] = draw(ODD_VALUES)
        elif action == "add" and isinstance(parent[last], list):
            parent[last].append(draw(ODD_VALUES))
    text = yaml.safe_dump(doc, allow_unicode=True)
    if draw(st.booleans()):
        # textual mutations the dict form cannot express: duplicate keys, aliases, tags
        extra = draw(
            st.sampled_from(
                [
                    "nodes: []\n",
                    "cluster_name: !!binary aGk=\n",
                    "x: &a [1, 2]\ny: *a\n",
                    "cluster_name: 2024-02-30\n",
                    "addon_job_timeout: 0x7fffffffffffffffff\n",
                    "ssh_agent_auth: 1\n",
                ]
            )
        )
        text += extra
    return text


def _check(text: str, *, pki: bool = False) -> None:
    try:
        loaded = load_cluster_yml(text)
    except ConfigError as exc:
        assert exc.problems
        for problem in exc.problems:
            line = str(problem)
            assert "\n" not in line, line
            assert problem.path, line
            assert problem.message, line
        return
    try:
        if pki:  # certificates are minted: SANs reach cryptography (slow, so seeds only)
            plan, _ = plan_cluster_with_pki(loaded.config, {}, ClusterState())
        else:
            plan = plan_cluster(loaded.config, {})
    except PyrkeError:
        return
    render_text(plan)
    render_json(plan)


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.parent.name + "/" + p.name)
def test_every_seed_plans_or_fails_cleanly(seed: Path) -> None:
    _check(seed.read_text(), pki=True)


@given(mutated())
def test_mutated_configs_plan_or_fail_with_one_line_per_problem(text: str) -> None:
    _check(text)
