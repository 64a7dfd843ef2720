"""Odd input that once crashed the planner or lied in the plan: each is now an error with a
field path, or escaped in the text plan."""

from __future__ import annotations

import dataclasses

import pytest

from pulumi_pyrke.errors import ConfigError
from pulumi_pyrke.model.load import load_cluster_yml
from pulumi_pyrke.plan import ClusterState, plan_cluster, plan_cluster_with_pki
from pulumi_pyrke.plan.render import escape, render_json, render_text

BASE = """\
kubernetes_version: v1.31.14-rancher1-1
nodes:
  - address: 10.0.0.11
    user: ubuntu
    role: [controlplane, etcd, worker]
"""


def _problems(extra: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_cluster_yml(BASE + extra)
    return [str(p) for p in info.value.problems]


def test_a_service_range_at_the_top_of_the_address_space() -> None:
    problems = _problems(
        "services:\n  kube-api:\n    service_cluster_ip_range: 255.255.255.248/29\n"
    )
    assert problems[0].startswith(
        "services.kube-api.service_cluster_ip_range: '255.255.255.248/29' is too small"
    )
    config = load_cluster_yml(
        BASE + "services:\n  kube-api:\n    service_cluster_ip_range: 255.255.255.240/28\n"
    ).config
    assert config.services.kubelet.cluster_dns_server == "255.255.255.250"
    render_text(plan_cluster(config, {}))


@pytest.mark.parametrize(
    "shape", ["plugins: 5", "plugins: [5]", "plugins: [{configuration: {}}]", "plugins: {a: 1}"]
)
def test_odd_admission_configuration_shapes(shape: str) -> None:
    (problem,) = _problems(f"services:\n  kube-api:\n    admission_configuration: {{{shape}}}\n")
    assert problem.startswith("services.kube-api.admission_configuration: plugins must be")


@pytest.mark.parametrize(
    ("section", "body", "expected"),
    [
        ("openstackCloudProvider", "{global: 5}", "global: must be a mapping of settings"),
        ("vsphereCloudProvider", "{global: {a: [1]}}", "global.a: must be a single value"),
        (
            "vsphereCloudProvider",
            "{virtual_center: {10.0.0.1: {user: {x: 1}}}}",
            "virtual_center.10.0.0.1.user: must be a single value",
        ),
    ],
)
def test_odd_cloud_provider_sections(section: str, body: str, expected: str) -> None:
    (problem,) = _problems(f"cloud_provider:\n  name: openstack\n  {section}: {body}\n")
    assert problem == f"cloud_provider.{section}: {expected} (text, number or bool)" or (
        problem == f"cloud_provider.{section}: {expected}"
    )


def test_named_gcfg_sections_still_plan() -> None:
    config = load_cluster_yml(
        BASE + "cloud_provider:\n  name: vsphere\n  vsphereCloudProvider:\n"
        "    global: {insecure-flag: true, port: 443}\n"
        "    virtual_center: {10.0.0.1: {user: u, password: p, datacenters: dc}}\n"
    ).config
    render_text(plan_cluster(config, {}))


def test_non_ascii_names_never_reach_certificates() -> None:
    (problem,) = _problems('authentication:\n  sans: ["münchen.example"]\n')
    assert problem == (
        "authentication.sans: 'münchen.example' is not ASCII; write its IDNA form "
        "'xn--mnchen-3ya.example'"
    )
    (problem,) = _problems('services:\n  kubelet:\n    cluster_domain: "ü.local"\n')
    assert "write its IDNA form 'xn--tda.local'" in problem
    assert "is not a DNS name" in _problems('authentication:\n  sans: ["a b"]\n')[0]
    config = load_cluster_yml(
        BASE + 'authentication:\n  sans: ["xn--mnchen-3ya.example", "*.example.com", "10.1.1.1"]\n'
    ).config
    plan, _ = plan_cluster_with_pki(config, {}, ClusterState())
    render_text(plan)


@pytest.mark.parametrize(
    ("extra", "path"),
    [
        ("'[': 1\n", "["),
        ("services: {'kube[api': {}}\n", "services.kube[api"),
        ("services: {kubelet: {extra_args: {'a[0]': 1}}}\n", "services.kubelet.extra_args"),
    ],
)
def test_keys_with_brackets_are_ordinary_problems(extra: str, path: str) -> None:
    problems = _problems(extra)
    assert problems and problems[0].startswith(f"{path}: "), problems


@pytest.mark.parametrize(
    ("extra", "path"),
    [
        (
            'services: {kubelet: {extra_args: {v: "2\\n--anonymous-auth=true"}}}\n',
            "services.kubelet.extra_args: v: '\\n' (U+000A) at position 2",
        ),
        (
            'services: {kubelet: {extra_binds: ["/a:/a\\n/etc:/etc"]}}\n',
            "services.kubelet.extra_binds: [0]: '\\n'",
        ),
        ('services: {etcd: {extra_env: ["A=1\\rB=2"]}}\n', "services.etcd.extra_env: [0]: '\\r'"),
        ('prefix_path: "/opt/\\u202erke"\n', "prefix_path: '\\u202e' (U+202E)"),
        ('system_images: {etcd: "etcd\\u001b[31m"}\n', "system_images: etcd: '\\x1b'"),
        (
            'services: {kube-api: {extra_args_array: {a: ["x\\ty"]}}}\n',
            "services.kube-api.extra_args_array: a[0]: '\\t'",
        ),
    ],
)
def test_values_that_reach_a_host_refuse_control_characters(extra: str, path: str) -> None:
    problems = _problems(extra)
    assert any(p.startswith(path) for p in problems), problems


def test_multiline_fields_keep_their_newlines() -> None:
    config = load_cluster_yml(
        BASE + "addons: |\n  apiVersion: v1\n  kind: Namespace\n  metadata: {name: x}\n"
    ).config
    assert config.addons.count("\n") == 2


def test_the_text_plan_escapes_what_is_not_printable() -> None:
    assert escape("--v=2\n--anonymous-auth=true") == "--v=2\\n--anonymous-auth=true"
    assert escape("a\u202eb\\") == "a\\u202eb\\\\"
    assert escape("plain C:\\path") == "plain C:\\path"
    plan = plan_cluster(load_cluster_yml(BASE).config, {})
    node = plan.nodes[0]
    kubelet = next(c for c in node.containers if c.name == "kubelet")
    forged = dataclasses.replace(kubelet, args=(*kubelet.args, "--v=2\n--anonymous-auth=true"))
    containers = tuple(forged if c is kubelet else c for c in node.containers)
    plan = dataclasses.replace(plan, nodes=(dataclasses.replace(node, containers=containers),))
    text = render_text(plan)
    assert "      --v=2\\n--anonymous-auth=true\n" in text
    assert "\n--anonymous-auth" not in text
    assert "\\n--anonymous-auth" in render_json(plan)
