"""Golden cases: tests/golden/<case>/{cluster.yml, facts.json} -> plan.json and plan.txt.

Run `pytest tests/test_golden.py --update-golden` after a reviewed planner change, then read
the diff of the golden files: it is exactly what changes on hosts.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pulumi_pyrke.model import NodeFacts, load_cluster_yml
from pulumi_pyrke.model.plan import ClusterPlan
from pulumi_pyrke.plan import plan_cluster
from pulumi_pyrke.plan.render import render_json, render_text
from pulumi_pyrke.versions import known_flags

GOLDEN = Path(__file__).resolve().parent / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "cluster.yml").exists())
BINARIES = {
    "kube-apiserver": "kube-apiserver",
    "kube-controller-manager": "kube-controller-manager",
    "kube-scheduler": "kube-scheduler",
    "kubelet": "kubelet",
    "kube-proxy": "kube-proxy",
}


def plan_case(case: str) -> ClusterPlan:
    """Plan a golden case from its cluster.yml and facts.json."""
    directory = GOLDEN / case
    loaded = load_cluster_yml((directory / "cluster.yml").read_text())
    facts_path = directory / "facts.json"
    raw = json.loads(facts_path.read_text()) if facts_path.exists() else {}
    facts = {address: NodeFacts.from_dict(value) for address, value in raw.items()}
    return plan_cluster(loaded.config, facts)


def _known_flags(binary: str) -> set[str]:
    flags = {f"--{name}" for name in known_flags(binary)}
    assert len(flags) > 40, f"the --help list of {binary} is missing"
    return flags


def test_there_are_golden_cases() -> None:
    assert len(CASES) >= 15


@pytest.mark.parametrize("case", CASES)
def test_golden_plan(case: str, update_golden: bool) -> None:
    plan = plan_case(case)
    outputs = {"plan.json": render_json(plan), "plan.txt": render_text(plan)}
    for name, text in outputs.items():
        path = GOLDEN / case / name
        if update_golden or not path.exists():
            path.write_text(text)
        assert path.read_text() == text, f"{case}/{name} differs; review and run --update-golden"


@pytest.mark.parametrize("case", CASES)
def test_every_flag_exists_in_the_real_binary(case: str) -> None:
    """A flag the binary does not know makes it exit at start: check against real --help lists."""
    plan = plan_case(case)
    etcd_flags = _known_flags("etcd")
    for node in plan.nodes:
        for container in node.containers:
            flags = {a.split("=", 1)[0] for a in container.args if a.startswith("--")}
            if container.name in BINARIES:
                known = _known_flags(BINARIES[container.name])
            elif container.name == "etcd":
                known = etcd_flags
            else:
                continue
            unknown = flags - known
            assert not unknown, (
                f"{case}: {container.name} on {node.address}: unknown flags {sorted(unknown)}"
            )


@pytest.mark.parametrize("case", CASES)
def test_no_secret_in_rendered_plan(case: str) -> None:
    text = render_json(plan_case(case)) + render_text(plan_case(case))
    for marker in ("PRIVATE KEY", "hunter2", "password", "secret_key_value"):
        assert marker not in text
