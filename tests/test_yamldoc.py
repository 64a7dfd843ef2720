"""The one YAML door: bounds, duplicate keys, scalars that YAML cannot build, text kept as
written, booleans that are not numbers."""

from __future__ import annotations

import pickle

import pytest

from pulumi_pyrke.errors import ConfigError
from pulumi_pyrke.model import yamldoc
from pulumi_pyrke.model.load import load_cluster_yml
from pulumi_pyrke.model.yamldoc import Limits, YamlFloat, YamlInt, parse_yaml, parse_yaml_all

BASE = """\
kubernetes_version: v1.31.14-rancher1-1
nodes:
  - address: 10.0.0.11
    user: ubuntu
    role: [controlplane, etcd, worker]
"""

# 510 bytes: nine aliases of nine aliases ... expand to 9**9 (387 million) strings
ALIAS_BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{n}: &{n} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
    for p, n in zip("abcdefgh", "bcdefghi", strict=True)
)


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_cluster_yml(text)
    return [str(p) for p in info.value.problems]


def test_the_c_loader_is_used_when_libyaml_is_there() -> None:
    import yaml

    assert hasattr(yaml, "CSafeLoader") == yamldoc.HAS_LIBYAML


def test_alias_bomb_is_refused_naming_the_anchor_and_its_line() -> None:
    assert len(ALIAS_BOMB.encode()) <= 520
    (problem,) = _problems(ALIAS_BOMB)
    assert "aliases expand past 100000 nodes" in problem
    assert "anchor &" in problem and "of line " in problem


def test_aliases_within_the_bound_and_merge_keys_work() -> None:
    text = BASE + (
        "services:\n  kubelet:\n    extra_args: &args {max-pods: 250}\n"
        "  kube-api:\n    extra_args:\n      <<: *args\n      v: 2\n"
    )
    config = load_cluster_yml(text).config
    assert config.services.kube_api.extra_args == {"max-pods": "250", "v": "2"}


def test_merge_order_follows_yaml() -> None:
    doc = parse_yaml(
        "a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nc:\n  <<: [*a, *b]\n  z: 3\n", source="t"
    )
    assert doc["c"] == {"x": 1, "y": 1, "z": 3}


def test_an_alias_inside_its_own_anchor_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"alias \*x refers to a node that holds it"):
        parse_yaml("a: &x [*x]\n", source="t")
    with pytest.raises(ConfigError, match=r"alias \*y names no anchor before it"):
        parse_yaml("a: *y\n", source="t")


def test_deep_nesting_is_refused_not_a_recursion_error() -> None:
    (problem,) = _problems("a: " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert "nested deeper than 100 levels" in problem
    assert len(problem) < 300
    nested = "x: " + "{a: " * 50 + "1" + "}" * 50
    assert parse_yaml(nested, source="t") is not None


def test_size_limit_is_said_in_the_error() -> None:
    (problem,) = _problems("#" * (16 * 1024 * 1024 + 1))
    assert problem == "cluster.yml: is 16 MB, over the 16 MB limit"
    with pytest.raises(ConfigError, match="over the 1 MB limit"):
        load_cluster_yml("a: " + "x" * (1024 * 1024), max_bytes=1024 * 1024)


def test_duplicate_keys_are_errors_with_both_lines() -> None:
    (problem,) = _problems(BASE + "nodes:\n  - address: 10.0.0.12\n")
    assert problem == (
        "nodes: line 6, column 1: duplicate key 'nodes' (first at line 2, again at line 6); keep one"
    )
    with pytest.raises(ConfigError, match=r"services.kubelet.extra_args.v: line 5"):
        parse_yaml("services:\n  kubelet:\n    extra_args:\n      v: 1\n      v: 2\n", source="t")


@pytest.mark.parametrize(
    ("scalar", "expected"),
    [
        ("2024-02-30", "'2024-02-30' is not a valid timestamp (day is out of range for month)"),
        ("9" * 5000, "is not a valid int (has 5000 digits)"),
        ("99999999999999999999", "is larger than a 64-bit integer"),
        ("!!python/object:os.system x", "the tag !!python/object:os.system is not supported"),
        ("!custom x", "the tag !custom is not supported"),
        ("!!int x", "'x' is not a valid int"),
        ("!!set {a}", "the tag !!set is not supported"),
    ],
)
def test_scalars_yaml_cannot_build_are_errors_with_line_and_column(
    scalar: str, expected: str
) -> None:
    (problem,) = _problems(BASE + f"cluster_name: {scalar}\n")
    assert problem.startswith("cluster_name: line 6, column 15: "), problem
    assert expected in problem


def test_dates_stay_text() -> None:
    assert parse_yaml("a: 2024-01-31\n", source="t") == {"a": "2024-01-31"}


def test_syntax_errors_and_control_characters_name_line_and_column() -> None:
    (problem,) = _problems(BASE + "cluster_name: [\n")
    assert problem.startswith("cluster.yml: line ")
    (problem,) = _problems(BASE + "cluster_name: a\x01b\n")
    assert problem.startswith("cluster.yml: line 6, column 16: character 0x0001 is not allowed")


def test_more_than_one_document_is_refused_for_cluster_yml() -> None:
    (problem,) = _problems(BASE + "---\nnodes: []\n")
    assert problem == "cluster.yml: holds more than one YAML document; give one"
    assert parse_yaml_all("a: 1\n---\nb: 2\n", source="t") == [{"a": 1}, {"b": 2}]


def test_keys_are_text_and_collections_are_not_keys() -> None:
    assert parse_yaml("10: a\ntrue: b\n1.10: c\n~: d\n", source="t") == {
        "10": "a",
        "true": "b",
        "1.10": "c",
        "~": "d",
    }
    with pytest.raises(ConfigError, match="a key must be text"):
        parse_yaml("? [a]\n: 1\n", source="t")


def test_text_fields_keep_what_was_written() -> None:
    text = BASE.replace(
        "    role: [controlplane, etcd, worker]\n",
        "    role: [controlplane, etcd, worker]\n    labels:\n      release: 1.10\n"
        "      code: 010\n      on: yes\n",
    ) + (
        "cluster_name: 010\n"
        "services:\n  kubelet:\n    extra_args:\n      v: 010\n      ratio: 1.10\n      at: 12:30\n"
        "    extra_env: [A=1]\n"
        "network:\n  options:\n    flannel_backend_port: 08472\n"
        "private_registries:\n  - url: registry.example:5000\n    user: 0123\n    password: 0777\n"
    )
    config = load_cluster_yml(text).config
    assert config.nodes[0].labels == {
        "release": "1.10",
        "code": "010",
        "on": "true",
    }
    assert config.cluster_name == "010"
    assert config.services.kubelet.extra_args == {"v": "010", "ratio": "1.10", "at": "12:30"}
    assert config.network.options["flannel_backend_port"] == "08472"
    registry = config.private_registries[0]
    assert registry.user == "0123"
    assert registry.password is not None and registry.password.reveal() == "0777"


def test_number_fields_still_get_numbers() -> None:
    text = BASE + "addon_job_timeout: 010\ningress:\n  http_port: 8080\n"
    config = load_cluster_yml(text).config
    assert config.addon_job_timeout == 8 and type(config.addon_job_timeout) is int
    assert config.ingress.http_port == 8080


def test_free_form_sections_get_plain_numbers() -> None:
    text = BASE + (
        "services:\n  kube-api:\n    event_rate_limit:\n      enabled: true\n"
        "      configuration: {limits: [{type: Server, qps: 10, burst: 1.5}]}\n"
    )
    config = load_cluster_yml(text).config
    erl = config.services.kube_api.event_rate_limit
    assert erl is not None and erl.configuration is not None
    limit = erl.configuration["limits"][0]
    assert type(limit["qps"]) is int and type(limit["burst"]) is float


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            "bastion_host: {address: 10.0.0.1, user: u, port: true}\n",
            "bastion_host.port: true is not a number; give one",
        ),
        ("addon_job_timeout: true\n", "addon_job_timeout: true is not a number; give one"),
        ("ingress: {http_port: false}\n", "ingress.http_port: false is not a number; give one"),
        ("ssh_agent_auth: 1\n", "ssh_agent_auth: 1 is not true or false"),
    ],
)
def test_booleans_are_never_numbers(extra: str, expected: str) -> None:
    assert expected in _problems(BASE + extra)


def test_node_port_true_is_not_port_1() -> None:
    problems = _problems(BASE.replace("user: ubuntu", "user: ubuntu\n    port: true"))
    assert any(p.startswith("nodes[0].port: ") for p in problems), problems


def test_yaml_numbers_survive_copy_and_pickle() -> None:
    value = YamlInt(8, "010")
    again = pickle.loads(pickle.dumps(value))
    assert again == 8 and again.yaml_text == "010"
    assert pickle.loads(pickle.dumps(YamlFloat(1.1, "1.10"))).yaml_text == "1.10"


def test_limits_are_arguments() -> None:
    with pytest.raises(ConfigError, match="aliases expand past 3 nodes"):
        parse_yaml("a: &a [1, 2]\nb: [*a, *a]\n", source="t", limits=Limits(max_alias_nodes=3))
    with pytest.raises(ConfigError, match="nested deeper than 2 levels"):
        parse_yaml("a: {b: {c: 1}}\n", source="t", limits=Limits(max_depth=2))
