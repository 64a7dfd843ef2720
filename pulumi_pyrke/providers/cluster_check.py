"""The Cluster's inputs: node mappings and cluster.yml merged into one configuration, checked
with field paths named as the user wrote them, and the plan summary that preview shows.

No host is contacted here: check and diff run in milliseconds, during a preview too, with
unknown values where the engine has none yet.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from pulumi.output import Unknown

from pulumi_pyrke.errors import ConfigError, Problem
from pulumi_pyrke.model.cluster import ClusterConfig
from pulumi_pyrke.model.load import parse_cluster_config
from pulumi_pyrke.model.node import RKE_SPELLINGS
from pulumi_pyrke.model.plan import ClusterPlan
from pulumi_pyrke.plan import ClusterState, plan_cluster
from pulumi_pyrke.providers._wire import (
    IsUnknown,
    contains_unknown,
    is_unknown,
    plain,
)
from pulumi_pyrke.providers.node import NODE_INPUTS, NODE_OUTPUTS, check_node_inputs

RKE_KEYS = (
    "kubernetes_version",
    "network",
    "services",
    "authentication",
    "authorization",
    "ingress",
    "dns",
    "monitoring",
    "upgrade_strategy",
    "system_images",
    "private_registries",
    "cloud_provider",
    "bastion_host",
    "prefix_path",
    "cluster_name",
    "enable_cri_dockerd",
)
"""The cluster.yml top-level keys the Cluster takes as typed arguments (they win over
cluster_yml's key of the same name, whole: a typed ``services`` replaces cluster_yml's)."""

CLUSTER_INPUTS = ("nodes", "cluster_yml", *RKE_KEYS, "timeout")
"""Every input of a Cluster, in declaration order."""

NODE_KEYS = tuple(n for n in NODE_INPUTS if n != "ready_timeout")
"""What a Cluster takes from a Node (or a node mapping): where the host is, how to log in,
what it runs. A Node's computed outputs (hostname, facts, ...) are ignored."""

IGNORED_NODE_KEYS = frozenset((*NODE_OUTPUTS, "ready_timeout"))

DERIVED = ("plan", "files", "etcd_hosts", "control_plane_hosts", "worker_hosts")
"""What check adds to the inputs: the plan summary and the host sets (preview shows them)."""

AT_APPLY = "(known at apply)"
"""A file digest that cannot be known before the certificates exist."""

DEFAULT_TIMEOUT = 900
MAX_TIMEOUT = 86400

_UNKNOWN: Any = Unknown()  # type: ignore[no-untyped-call]
"""What the engine does not know yet: handed back as is, shown as "output<string>"."""

_HEAD = re.compile(r"^([^.\[]+)(.*)$")


@dataclass(frozen=True, kw_only=True, slots=True)
class ClusterCheck:
    """What checking a Cluster's inputs found.

    ``inputs`` is what to hand back to Pulumi (unknowns kept, derived keys added); ``config``
    is set only when every input is known and valid.
    """

    problems: tuple[Problem, ...]
    inputs: dict[str, Any]
    config: ClusterConfig | None


def check_cluster_inputs(
    raw: Mapping[str, Any],
    *,
    olds: Mapping[str, Any] | None = None,
    state: ClusterState | None = None,
    is_unknown: IsUnknown = is_unknown,
) -> ClusterCheck:
    """Validate a Cluster's inputs, returning every problem with its input's field path.

    ``olds`` are the old inputs (or outputs) of an existing cluster: its etcd and
    control-plane host sets may not change yet. ``state`` makes certificate digests known.
    """
    problems: list[Problem] = []
    inputs: dict[str, Any] = {k: v for k, v in raw.items() if k in CLUSTER_INPUTS}
    for key in sorted(set(raw) - set(CLUSTER_INPUTS) - set(DERIVED)):
        problems.append(
            Problem(path=key, message=f"unknown input; valid: {', '.join(CLUSTER_INPUTS)}")
        )
    whole_unknown = yml_broken = nodes_unknown = False
    timeout = raw.get("timeout")
    if is_unknown(timeout):
        pass
    elif timeout is None:
        inputs["timeout"] = DEFAULT_TIMEOUT
    elif (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout != int(timeout)
    ):
        problems.append(Problem(path="timeout", message="is not a whole number of seconds"))
    elif not 1 <= timeout <= MAX_TIMEOUT:
        problems.append(Problem(path="timeout", message=f"give whole seconds, 1..{MAX_TIMEOUT}"))
    else:
        inputs["timeout"] = int(timeout)

    data: dict[str, Any] = {}
    text = raw.get("cluster_yml")
    if is_unknown(text):
        whole_unknown = True
    elif text is not None:
        before = len(problems)
        data = _cluster_yml(text, problems)
        yml_broken = len(problems) > before
    typed = {k for k in RKE_KEYS if raw.get(k) is not None}
    for key in typed:
        if contains_unknown(raw[key], is_unknown):
            whole_unknown = True
        else:
            data[key] = plain(raw[key])

    nodes_given = raw.get("nodes") is not None
    unknown_hosts: dict[int, bool] = {}  # index -> may the host carry etcd or controlplane
    node_problems: set[int] = set()
    if nodes_given:
        nodes = raw["nodes"]
        if is_unknown(nodes) or not isinstance(nodes, list | tuple):
            if is_unknown(nodes):
                whole_unknown = nodes_unknown = True
            else:
                problems.append(Problem(path="nodes", message="is not a list of node mappings"))
        else:
            checked_nodes, yml_nodes = [], []
            for i, item in enumerate(nodes):
                at = f"nodes[{i}]"
                if is_unknown(item):
                    unknown_hosts[i] = True
                    checked_nodes.append(item)
                    yml_nodes.append(_stand_in(i, ["worker"]))
                    continue
                if not isinstance(item, Mapping):
                    problems.append(Problem(path=at, message="is not a node mapping"))
                    node_problems.add(i)
                    continue
                given = {k: v for k, v in item.items() if k not in IGNORED_NODE_KEYS}
                found = check_node_inputs(given, is_unknown=is_unknown)
                problems.extend(
                    Problem(path=f"{at}.{p.path}", message=p.message, severity=p.severity)
                    for p in found.problems
                )
                if any(p.severity == "error" for p in found.problems):
                    node_problems.add(i)
                checked_nodes.append(found.inputs)
                if contains_unknown(found.inputs, is_unknown):
                    roles = found.inputs.get("roles", [])
                    known = isinstance(roles, list) and not contains_unknown(roles, is_unknown)
                    planned = [str(r) for r in roles] if known else ["worker"]
                    unknown_hosts[i] = not known or bool({"etcd", "controlplane"} & set(planned))
                    yml_nodes.append(_stand_in(i, planned))
                else:
                    yml_nodes.append(_yml_node(found.inputs))
            inputs["nodes"] = checked_nodes
            data["nodes"] = yml_nodes

    config: ClusterConfig | None = None
    try:
        config = parse_cluster_config(data).config
    except ConfigError as exc:
        for p in exc.problems:
            path = input_path(p.path, typed=typed, nodes_given=nodes_given)
            index = _node_index(p.path) if nodes_given else None
            if index is not None and (index in node_problems or index in unknown_hosts):
                continue  # the node's own check said it, with the Node's spelling
            if (whole_unknown and (nodes_unknown or not path.startswith("nodes"))) or (
                yml_broken and path.startswith("cluster_yml")
            ):
                continue  # about a key whose value is not known (or did not parse)
            problems.append(Problem(path=path, message=p.message, severity=p.severity))
    if config is not None and olds:
        problems.extend(_host_set_problems(olds, config, nodes_given=nodes_given))

    errors = [p for p in problems if p.severity == "error"]
    if errors or config is None or whole_unknown:
        for key in DERIVED:
            inputs[key] = _UNKNOWN if (whole_unknown and not errors) else None
        inputs = {k: v for k, v in inputs.items() if v is not None}
        return ClusterCheck(problems=tuple(problems), inputs=inputs, config=None)

    plan = plan_cluster(config, None, state)
    containers, files = plan_summary(plan)
    for i, may_change_others in unknown_hosts.items():
        stand_in = config.nodes[i].address
        containers.pop(stand_in, None)
        files.pop(stand_in, None)
        containers[f"nodes[{i}]"] = _UNKNOWN
        files[f"nodes[{i}]"] = _UNKNOWN
        if may_change_others:  # every host's flags name the etcd and control-plane hosts
            containers = {k: _UNKNOWN for k in containers}
            files = {k: _UNKNOWN for k in files}
    inputs["plan"], inputs["files"] = containers, files
    sets = host_sets(plan)
    for key, hosts in sets.items():
        inputs[key] = _UNKNOWN if unknown_hosts else hosts
    return ClusterCheck(
        problems=tuple(problems),
        inputs=inputs,
        config=None if unknown_hosts else config,
    )


def parse_cluster_inputs(
    raw: Mapping[str, Any], *, state: ClusterState | None = None
) -> tuple[ClusterConfig, dict[str, Any]]:
    """Fully known inputs -> (config, checked inputs); ConfigError listing every problem."""
    found = check_cluster_inputs(raw, state=state, is_unknown=lambda _: False)
    errors = [p for p in found.problems if p.severity == "error"]
    if errors or found.config is None:
        raise ConfigError(errors or [Problem(path="", message="no configuration")])
    return found.config, found.inputs


def plan_summary(plan: ClusterPlan) -> tuple[dict[str, Any], dict[str, Any]]:
    """``{ADDRESS: {CONTAINER: {image, args}}}`` and ``{ADDRESS: {PATH: digest}}``: one changed
    flag is one changed line in ``pulumi preview --diff``. Never a secret (digests only)."""
    containers = {
        node.address: {c.name: {"image": c.image, "args": sorted(c.args)} for c in node.containers}
        for node in plan.nodes
    }
    files = {
        node.address: {f.path: f.digest or AT_APPLY for f in node.files} for node in plan.nodes
    }
    return containers, files


def host_sets(plan: ClusterPlan) -> dict[str, list[str]]:
    """The etcd, control-plane and worker hosts, in configuration order."""
    return {
        "etcd_hosts": list(plan.hosts_with("etcd")),
        "control_plane_hosts": list(plan.hosts_with("controlplane")),
        "worker_hosts": list(plan.hosts_with("worker")),
    }


def input_path(path: str, *, typed: set[str] | frozenset[str], nodes_given: bool) -> str:
    """A cluster.yml field path as the Cluster's inputs name it: ``nodes[0].roles`` for a node
    mapping, ``services.kube-api...`` for a typed argument, else ``cluster_yml.<path>``."""
    if not path:
        return "cluster_yml"
    match = _HEAD.match(path)
    head, rest = (match.group(1), match.group(2)) if match else (path, "")
    if head == "nodes" and nodes_given:
        for field, rke in RKE_SPELLINGS.items():
            rest = re.sub(rf"(^\[\d+\]\.){rke}\b", rf"\g<1>{field}", rest)
        return head + rest
    if head in typed:
        return path
    return f"cluster_yml.{path}"


def state_of(props: Mapping[str, Any]) -> ClusterState | None:
    """The ClusterState kept in a Cluster's ``state`` output (JSON text), if any."""
    text = props.get("state")
    if not isinstance(text, str) or not text:
        return None
    try:
        return ClusterState.from_dict(json.loads(text))
    except ValueError as exc:
        raise ConfigError(
            [Problem(path="state", message="is not a cluster state; restore it from a backup")]
        ) from exc


def encode_state_output(state: ClusterState) -> str:
    """The ``state`` output: sorted JSON, byte-identical while nothing changed."""
    return json.dumps(state.to_dict(), sort_keys=True, separators=(",", ":"))


def _cluster_yml(text: Any, problems: list[Problem]) -> dict[str, Any]:
    if not isinstance(text, str):
        problems.append(Problem(path="cluster_yml", message="is not text; give cluster.yml's text"))
        return {}
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        why = getattr(exc, "problem", None) or "is not valid YAML"
        problems.append(Problem(path="cluster_yml", message=f"{why}{where}"))
        return {}
    if data is None:
        return {}
    if not isinstance(data, dict):
        problems.append(
            Problem(path="cluster_yml", message="must be a mapping of cluster.yml keys")
        )
        return {}
    return data


def _yml_node(node: Mapping[str, Any]) -> dict[str, Any]:
    """A checked node mapping as a cluster.yml node (cluster.yml requires a user)."""
    out = {k: v for k, v in plain(dict(node)).items() if k in NODE_KEYS}
    out.setdefault("user", "root")
    return out


def _stand_in(index: int, roles: Sequence[str]) -> dict[str, Any]:
    """A host to plan with while the node's inputs are not known yet (its part stays unknown)."""
    return {
        "address": f"unknown-{index}.invalid",
        "user": "root",
        "roles": list(roles),
        "ssh_agent_auth": True,
    }


def _node_index(path: str) -> int | None:
    match = re.match(r"^nodes\[(\d+)\]", path)
    return int(match.group(1)) if match else None


def _host_set_problems(
    olds: Mapping[str, Any], config: ClusterConfig, *, nodes_given: bool
) -> list[Problem]:
    """A running cluster's etcd and control-plane hosts stay as they are (for now)."""
    out = []
    at = "nodes" if nodes_given else "cluster_yml.nodes"
    for key, role, label in (
        ("etcd_hosts", "etcd", "etcd"),
        ("control_plane_hosts", "controlplane", "control-plane"),
    ):
        old = olds.get(key)
        if not isinstance(old, list) or contains_unknown(old):
            continue
        new = [n.address for n in config.role_nodes(role)]  # type: ignore[arg-type]
        if sorted(map(str, old)) != sorted(new):
            out.append(
                Problem(
                    path=at,
                    message=f"would change the {label} hosts of a running cluster from "
                    f"{', '.join(sorted(map(str, old))) or 'none'} to "
                    f"{', '.join(sorted(new)) or 'none'}; adding or removing {label} hosts comes "
                    "with a later release. Keep them as they are (worker-only hosts can be added "
                    "and removed).",
                )
            )
    return out
