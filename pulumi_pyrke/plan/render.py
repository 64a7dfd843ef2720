"""Render a ClusterPlan: JSON for machines, text for a reviewer reading a pull request.

Both forms are deterministic and never contain a secret value. The text form escapes every
character that is not printable (a newline inside a flag shows as \\n, not as a second flag),
so what a reviewer reads is exactly what runs. Pure.
"""

from __future__ import annotations

import json
from typing import Any

from pulumi_pyrke.model.plan import ClusterPlan, ContainerSpec, HostPlan


def plan_to_dict(plan: ClusterPlan) -> dict[str, Any]:
    """The documented JSON shape of `pyrke plan -o json`."""
    return {
        "kubernetes_version": plan.kubernetes_version,
        "nodes": {
            node.address: {
                "roles": list(node.roles),
                "containers": {
                    c.name: _container(c) for c in sorted(node.containers, key=lambda c: c.name)
                },
                "files": [f.path for f in node.files],
            }
            for node in plan.nodes
        },
    }


def _container(c: ContainerSpec) -> dict[str, Any]:
    return {
        "image": c.image,
        "args": list(c.args),
        "binds": list(c.binds),
        "env": [e.render() for e in c.env],
        "network_mode": c.network_mode,
        "privileged": c.privileged,
    }


def render_json(plan: ClusterPlan) -> str:
    """The plan as indented, key-sorted JSON text."""
    return json.dumps(plan_to_dict(plan), indent=2, sort_keys=True) + "\n"


def render_text(plan: ClusterPlan) -> str:
    """The plan as text: one fact per line, stable order, so a diff shows exactly what changed."""
    lines = [
        f"cluster {plan.cluster_name}: Kubernetes {plan.kubernetes_version}, "
        f"{len(plan.nodes)} node{'s' if len(plan.nodes) != 1 else ''}",
        f"  api server        {plan.api_server_url or '(no controlplane)'}",
        f"  pod range         {plan.cluster_cidr}",
        f"  service range     {plan.service_cluster_ip_range}",
        f"  cluster DNS       {plan.cluster_dns_server} ({plan.cluster_domain})",
    ]
    for action in plan.certificates:
        if action.action != "keep":
            lines.append(f"  certificate {action.name}: {action.action} ({action.reason})")
    for node in plan.nodes:
        lines.append("")
        lines.extend(_node_lines(node))
    return "\n".join(escape(line) for line in lines) + "\n"


def escape(text: str) -> str:
    """``text`` with every non-printable character (newline, tab, escape, bidirectional
    controls, ...) written as a Python escape, so the line shows exactly what it holds. In a
    line that needs escapes, backslashes are doubled too, so an escape cannot be faked."""
    if text.isprintable():
        return text
    return "".join(
        "\\\\"
        if c == "\\"
        else c
        if c.isprintable()
        else c.encode("unicode_escape").decode("ascii")
        for c in text
    )


def _node_lines(node: HostPlan) -> list[str]:
    name = f" ({node.hostname})" if node.hostname != node.address else ""
    out = [f"node {node.address}{name}  roles: {', '.join(node.roles)}"]
    if node.internal_address != node.address:
        out.append(f"  internal address  {node.internal_address}")
    if node.prefix_path != "/":
        out.append(f"  prefix path       {node.prefix_path}")
    for key, value in node.labels:
        out.append(f"  label  {key}={value}")
    for taint in node.taints:
        out.append(f"  taint  {taint.render()}")
    for c in node.containers:
        out.append(f"  container {c.name}  [{c.plane}]")
        out.append(f"    image    {c.image}")
        modes = [f"network={c.network_mode}"]
        if c.pid_mode:
            modes.append(f"pid={c.pid_mode}")
        if c.privileged:
            modes.append("privileged")
        modes.append(f"restart={c.restart_policy}")
        if not c.start:
            modes.append("created, not started")
        if c.user:
            modes.append(f"user={c.user}")
        out.append(f"    mode     {' '.join(modes)}")
        if c.entrypoint:
            out.append(f"    command  {' '.join(c.entrypoint)}")
        out.extend(f"      {arg}" for arg in c.args)
        out.extend(f"    bind     {b}" for b in c.binds)
        out.extend(f"    volumes  from {v}" for v in c.volumes_from)
        out.extend(f"    env      {e.render()}" for e in c.env)
        if c.health_check is not None:
            out.append(f"    health   {c.health_check.url}")
    for f in node.files:
        digest = f.digest[:19] if f.digest else "(content known at apply)"
        out.append(f"  file {f.path}  {f.mode:04o}  {digest}")
    return out
