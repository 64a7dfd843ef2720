"""cluster.yml loading: RKE's keys and defaults, every problem reported at once, secrets masked."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pulumi_pyrke.errors import ConfigError
from pulumi_pyrke.model import Secret, load_cluster_yml, parse_cluster_config
from pulumi_pyrke.versions import default_version, supported_versions

CONFIGS = Path(__file__).resolve().parent / "configs"
INVALID = sorted((CONFIGS / "invalid").glob("*.yml"))
MINIMAL = {
    "nodes": [{"address": "10.0.0.1", "user": "root", "role": ["etcd", "controlplane", "worker"]}]
}


def _errors(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_cluster_yml(text)
    return [str(p) for p in info.value.problems]


def _expectations(path: Path) -> list[tuple[str, str]]:
    pairs = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            field, _, phrase = line.partition(" :: ")
            pairs.append((field.strip(), phrase.strip().lower()))
    return pairs


def test_rke_docs_minimal_example_is_valid() -> None:
    loaded = load_cluster_yml((CONFIGS / "rke-docs-minimal.yml").read_text())
    assert loaded.config.nodes
    assert loaded.config.kubernetes_version == default_version()


def test_rke_docs_full_example_is_valid_on_a_supported_version() -> None:
    loaded = load_cluster_yml((CONFIGS / "rke-docs-full-modern.yml").read_text())
    assert len(loaded.config.nodes) >= 2


def test_rke_docs_full_example_as_published_only_fails_on_version_bound_keys() -> None:
    errors = _errors((CONFIGS / "rke-docs-full.yml").read_text())
    assert errors, "the published example targets a retired Kubernetes version"
    for line in errors:
        assert line.startswith(
            (
                "kubernetes_version:",
                "services.kube-api.pod_security_policy:",
                "network.plugin:",
                "cloud_provider.name:",
                # not an RKE key: RKE's own parser silently ignored it, we name the real one
                "services.kubelet.pod-infra-container-image: unknown key; did you mean 'infra_container_image'?",
            )
        ), line


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_config_names_field_and_fix(path: Path) -> None:
    errors = _errors(path.read_text())
    for field, phrase in _expectations(path.with_suffix(".expect")):
        matching = [e for e in errors if e.startswith(field + ":")]
        assert matching, f"no problem reported for {field}; got:\n" + "\n".join(errors)
        assert any(phrase in e.lower() for e in matching), f"{phrase!r} not in {matching}"


def test_the_invalid_corpus_covers_every_check() -> None:
    assert len(INVALID) >= 20
    many = CONFIGS / "invalid" / "many-problems.yml"
    assert len(_expectations(many.with_suffix(".expect"))) >= 5
    assert len(_errors(many.read_text())) >= 5


def test_even_etcd_count_is_a_warning_not_an_error() -> None:
    path = CONFIGS / "warnings" / "even-etcd.yml"
    loaded = load_cluster_yml(path.read_text())
    warnings = [str(w) for w in loaded.warnings]
    for field, phrase in _expectations(path.with_suffix(".expect")):
        assert any(w.startswith(field + ":") and phrase in w.lower() for w in warnings), warnings


def test_rke_defaults_are_applied() -> None:
    config = parse_cluster_config(
        {
            "ssh_agent_auth": True,
            "nodes": [
                {"address": "Node-A.example.com", "user": "u", "role": "etcd"},
                {
                    "address": "10.0.0.2",
                    "user": "u",
                    "role": ["controlplane", "worker"],
                    "internal_address": "192.168.0.2",
                    "port": "2222",
                    "ssh_agent_auth": False,
                },
            ],
        }
    ).config
    first, second = config.nodes
    assert first.internal_address == "Node-A.example.com"
    assert first.hostname_override == "node-a.example.com"
    assert first.roles == ["etcd"]
    assert first.ssh_key_path == "~/.ssh/id_rsa"
    assert second.port == 2222 and second.ssh_agent_auth is True
    assert config.kubernetes_version == default_version()
    assert config.enable_cri_dockerd is True
    assert config.services.etcd.snapshot is True
    assert config.services.kube_api.pod_security_configuration == "privileged"
    audit = config.services.kube_api.audit_log
    assert audit is not None and audit.enabled and audit.configuration.policy
    assert config.network.plugin == "canal"
    assert config.network.options["canal_flannel_backend_type"] == "vxlan"
    assert config.dns is not None and config.dns.provider == "coredns"
    assert config.ingress.network_mode == "hostPort" and config.ingress.default_backend is False
    assert config.upgrade_strategy.max_unavailable_worker == "10%"


def test_yaml_scalars_become_flag_text() -> None:
    data = dict(
        MINIMAL,
        services={
            "kubelet": {"extra_args": {"max-pods": 250, "v": 4, "rotate-server-certificates": True}}
        },
    )
    args = parse_cluster_config(data).config.services.kubelet.extra_args
    assert args == {"max-pods": "250", "v": "4", "rotate-server-certificates": "true"}


def test_network_provider_blocks_become_options() -> None:
    data = dict(
        MINIMAL, network={"plugin": "flannel", "flannel_network_provider": {"iface": "eth1"}}
    )
    assert parse_cluster_config(data).config.network.options["flannel_iface"] == "eth1"


def test_every_supported_version_loads() -> None:
    for version in supported_versions():
        assert parse_cluster_config(dict(MINIMAL, kubernetes_version=version)).config


def test_yaml_syntax_error_names_the_line() -> None:
    errors = _errors("nodes:\n  - address: [unclosed\n")
    assert len(errors) == 1 and "line" in errors[0]


def test_not_a_mapping() -> None:
    assert _errors("- a\n- b\n") == ["cluster.yml: must be a mapping of keys"]


def test_secrets_stay_out_of_errors_and_repr() -> None:
    key = (
        "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAsecretmaterial\n-----END OPENSSH PRIVATE KEY-----"
    )
    data = {
        "nodes": [
            {
                "address": "10.0.0.1",
                "user": "root",
                "role": ["etcd", "controlplane", "worker"],
                "ssh_key": key,
            }
        ],
        "private_registries": [{"url": "r.example.com", "user": "u", "password": "hunter2-secret"}],
        "services": {"kube-api": {"service_cluster_ip_range": "nonsense"}},
    }
    with pytest.raises(ConfigError) as info:
        parse_cluster_config(data)
    assert "secretmaterial" not in str(info.value)
    config = parse_cluster_config({**data, "services": {}}).config
    node_key = config.nodes[0].ssh_private_key
    assert isinstance(node_key, Secret) and node_key.reveal() == key
    for text in (
        repr(config),
        str(config),
        config.model_dump_json(),
        yaml.safe_dump(config.model_dump(mode="json")),
    ):
        assert "secretmaterial" not in text and "hunter2" not in text


def test_unknown_keys_suggest_or_list() -> None:
    errors = _errors("nodes: []\nnetwork:\n  plugn: canal\n  zzz: 1\n")
    assert "network.plugn: unknown key; did you mean 'plugin'?" in errors
    assert any(e.startswith("network.zzz: unknown key; valid keys here:") for e in errors)


def test_misspelt_extra_args_flag_is_a_warning_with_a_suggestion() -> None:
    data = dict(
        MINIMAL,
        services={
            "kubelet": {"extra_args": {"max-pod": "200", "max-pods": "250"}},
            "etcd": {"extra_args_array": {"quota-backend-byte": ["1"]}},
        },
    )
    warnings = [str(w) for w in parse_cluster_config(data).warnings]
    assert (
        "services.kubelet.extra_args.max-pod: kubelet has no flag --max-pod (as of its v1.28 "
        "--help); did you mean 'max-pods'?"
    ) in warnings
    assert any(w.startswith("services.etcd.extra_args_array.quota-backend-byte:") for w in warnings)
    assert len(warnings) == 2


def test_version_of_a_supported_minor_is_suggested() -> None:
    errors = _errors("kubernetes_version: v1.30\nnodes: []\n")
    assert any(
        e.startswith(
            "kubernetes_version: 'v1.30' is not supported (did you mean 'v1.30.14-rancher1-1'?)"
        )
        for e in errors
    ), errors


def test_addons_must_be_kubernetes_yaml() -> None:
    bad = dict(MINIMAL, addons="a: [b")
    with pytest.raises(ConfigError, match="addons: is not valid YAML: line "):
        parse_cluster_config(bad)
    good = dict(MINIMAL, addons="---\napiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n")
    assert parse_cluster_config(good).config.addons


def test_service_range_set_once_holds_for_both_and_moves_the_dns_ip() -> None:
    data = dict(MINIMAL, services={"kube-api": {"service_cluster_ip_range": "172.20.0.0/16"}})
    services = parse_cluster_config(data).config.services
    assert services.kube_controller.service_cluster_ip_range == "172.20.0.0/16"
    assert services.kubelet.cluster_dns_server == "172.20.0.10"
    data = dict(
        MINIMAL, services={"kube-controller": {"service_cluster_ip_range": "172.21.0.0/16"}}
    )
    services = parse_cluster_config(data).config.services
    assert services.kube_api.service_cluster_ip_range == "172.21.0.0/16"
    assert services.kubelet.cluster_dns_server == "172.21.0.10"


def test_system_images_keys_come_from_the_version_table() -> None:
    from pulumi_pyrke.versions import image_keys

    every = {key: f"registry.local/{key}:1" for key in image_keys()}
    assert parse_cluster_config({**MINIMAL, "system_images": every}).config.system_images == every


@pytest.mark.parametrize(
    "extra,expected",
    [
        ({"bastion_host": {"adress": "x", "address": "b", "user": "u"}},
         "bastion_host.adress: unknown key; did you mean 'address'?"),
        ({"bastion_host": {"user": "u"}},
         "bastion_host.address: is required; give the bastion's IP address or DNS name"),
        ({"bastion_host": {"address": "b"}},
         "bastion_host.user: is required (the SSH user on the bastion)"),
        ({"addon_job_timeout": "soon"}, "addon_job_timeout: 'soon' is not a whole number"),
        ({"addon_job_timeout": 0}, "addon_job_timeout: 0 is less than 1"),
        ({"ssh_agent_auth": "maybe"}, "ssh_agent_auth: 'maybe' is not true or false"),
        ({"addons_include": "a.yaml"}, "addons_include: 'a.yaml' is not a list"),
        ({"network": "canal"}, "network: 'canal' is not a mapping"),
        ({"system_images": {"etcdd": "x"}},
         "system_images[\"etcdd\"]: unknown image key; did you mean 'etcd'?"),
        ({"authorization": {"mode": "abac"}}, "authorization.mode: 'abac' is not valid; use 'rbac' or 'none'"),
        ({"services": {"kube-api": {"service_cluster_ip_range": "10.43.0.1/16"}}},
         "services.kube-api.service_cluster_ip_range: '10.43.0.1/16' has host bits set; did you mean 10.43.0.0/16?"),
        ({"services": {"kubelet": {"extra_env": ["NOVALUE"]}}},
         "services.kubelet.extra_env: 'NOVALUE' is not NAME=value"),
        ({"services": {"kubelet": {"extra_binds": ["/srv"]}}},
         "services.kubelet.extra_binds: '/srv' is not a bind; write /host/path:/container/path[:opts]"),
        ({"private_registries": [{"url": "a", "password": "p"}]}, "private_registries[0].user: is required with a password"),
        ({"services": {"etcd": {"uid": 52}}}, "services.etcd.uid: uid and gid must be set together"),
        ({"authentication": {"strategy": "webhook"}},
         "authentication.strategy: 'webhook' is not valid; use x509 or x509|webhook"),
        ({"enable_cri_dockerd": False},
         "enable_cri_dockerd: must be true: Kubernetes 1.24 and later run on Docker only through cri-dockerd"),
    ],
)  # fmt: skip
def test_problem_messages(extra: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_cluster_config({**MINIMAL, **extra})
    assert expected in [str(p) for p in info.value.problems]


def test_a_broken_node_still_lets_other_checks_run() -> None:
    data = {
        "nodes": [
            {"address": "10.0.0.1", "user": "u", "role": ["etcd", "controlplane"], "port": "x"},
            {"address": "10.0.0.1", "user": "u", "role": ["worker"]},
        ],
        "services": {"kubelet": {"cluster_dns_server": "192.168.1.1"}},
    }
    with pytest.raises(ConfigError) as info:
        parse_cluster_config(data)
    lines = [str(p) for p in info.value.problems]
    assert lines[0] == "nodes[0].port: 'x' is not a whole number; give a TCP port, 1..65535"
    assert any(
        line.startswith("nodes[1].address: '10.0.0.1' is also used by nodes[0]") for line in lines
    )
    assert any(
        line.startswith("services.kubelet.cluster_dns_server: 192.168.1.1 is outside")
        for line in lines
    )


def test_pinned_kubernetes_image_of_another_minor_is_a_warning() -> None:
    data = dict(MINIMAL, kubernetes_version="v1.28.15-rancher1-1",
                system_images={"kubernetes": "rancher/hyperkube:v1.10.3-rancher2"})  # fmt: skip
    warnings = [str(w) for w in parse_cluster_config(data).warnings]
    assert any(
        w.startswith(
            "system_images.kubernetes: 'rancher/hyperkube:v1.10.3-rancher2' is Kubernetes v1.10"
        )
        for w in warnings
    )
    same = dict(data, system_images={"kubernetes": "registry.local/hyperkube:v1.28.15-custom"})
    assert not parse_cluster_config(same).warnings
