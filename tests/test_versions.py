"""Tests for pulumi_pyrke.versions: the packaged KDM data and RKE's image resolution."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from pulumi_pyrke import versions
from pulumi_pyrke.errors import ConfigError
from pulumi_pyrke.versions import catalog

SUPPORTED = (
    "v1.28.15-rancher1-1",
    "v1.29.15-rancher1-1",
    "v1.30.14-rancher1-1",
    "v1.31.10-rancher1-1",
    "v1.31.14-rancher1-1",
    "v1.32.6-rancher1-1",
    "v1.32.13-rancher1-2",
)
CORE_IMAGE_KEYS = (
    "etcd",
    "alpine",
    "nginx_proxy",
    "cert_downloader",
    "kubernetes_services_sidecar",
    "kubernetes",
    "pod_infra_container",
)
SPEC_IMAGE_KEYS = (
    *CORE_IMAGE_KEYS,
    "windows_pod_infra_container",
    "kubedns",
    "dnsmasq",
    "kubedns_sidecar",
    "kubedns_autoscaler",
    "coredns",
    "coredns_autoscaler",
    "nodelocal",
    "flannel",
    "flannel_cni",
    "calico_node",
    "calico_cni",
    "calico_controllers",
    "calico_ctl",
    "calico_flexvol",
    "canal_node",
    "canal_cni",
    "canal_controllers",
    "canal_flannel",
    "canal_flexvol",
    "weave_node",
    "weave_cni",
    "ingress",
    "ingress_backend",
    "ingress_webhook",
    "metrics_server",
    "aci_cni_deploy_container",
    "aci_host_container",
    "aci_opflex_container",
    "aci_mcast_container",
    "aci_ovs_container",
    "aci_controller_container",
    "aci_gbp_server_container",
    "aci_opflex_server_container",
)
TLS = (
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,"
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,"
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305"
)
SERVICE_OPTIONS = {
    "etcd": {"client-cert-auth": "true", "peer-client-cert-auth": "true"},
    "kube-api": {
        "tls-cipher-suites": TLS,
        "enable-admission-plugins": (
            "NamespaceLifecycle,LimitRanger,ServiceAccount,DefaultStorageClass,"
            "DefaultTolerationSeconds,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,"
            "ResourceQuota,NodeRestriction,Priority,TaintNodesByCondition,"
            "PersistentVolumeClaimResize"
        ),
        "allow-privileged": "true",
        "anonymous-auth": "false",
        "bind-address": "0.0.0.0",
        "kubelet-preferred-address-types": "InternalIP,ExternalIP,Hostname",
        "profiling": "false",
        "requestheader-extra-headers-prefix": "X-Remote-Extra-",
        "requestheader-group-headers": "X-Remote-Group",
        "requestheader-username-headers": "X-Remote-User",
        "secure-port": "6443",
        "service-account-lookup": "true",
        "storage-backend": "etcd3",
        "runtime-config": "authorization.k8s.io/v1beta1=true",
        "service-account-issuer": "rke",
        "service-account-signing-key-file": (
            "/etc/kubernetes/ssl/kube-service-account-token-key.pem"
        ),
        "api-audiences": "unknown",
    },
    "kubelet": {
        "tls-cipher-suites": TLS,
        "address": "0.0.0.0",
        "anonymous-auth": "false",
        "authentication-token-webhook": "true",
        "authorization-mode": "Webhook",
        "cgroups-per-qos": "True",
        "enforce-node-allocatable": "",
        "event-qps": "0",
        "make-iptables-util-chains": "true",
        "read-only-port": "0",
        "resolv-conf": "/etc/resolv.conf",
        "streaming-connection-idle-timeout": "30m",
        "volume-plugin-dir": "/var/lib/kubelet/volumeplugins",
        "v": "2",
    },
    "kube-controller": {
        "allow-untagged-cloud": "true",
        "allocate-node-cidrs": "true",
        "configure-cloud-routes": "false",
        "enable-hostpath-provisioner": "false",
        "leader-elect": "true",
        "node-monitor-grace-period": "40s",
        "profiling": "false",
        "terminated-pod-gc-threshold": "1000",
        "v": "2",
    },
    "kubeproxy": {"v": "2", "healthz-bind-address": "127.0.0.1"},
    "scheduler": {"leader-elect": "true", "v": "2", "profiling": "false"},
}
FORBIDDEN_IMPORTS = {"paramiko", "docker", "boto3", "botocore", "pulumi", "socket", "subprocess"}
FORBIDDEN_IMPORTS |= {"lightkube", "kubernetes"}


def test_supported_versions_are_in_semver_order() -> None:
    assert versions.supported_versions() == SUPPORTED
    # string order would put v1.32.13 before v1.32.6
    assert sorted(SUPPORTED) != list(SUPPORTED)


def test_default_version_is_newest_v131() -> None:
    assert versions.default_version() == "v1.31.14-rancher1-1"
    assert versions.is_supported(versions.default_version())


def test_is_supported_takes_exact_keys_only() -> None:
    assert versions.is_supported("v1.28.15-rancher1-1")
    assert not versions.is_supported("v1.28.15")
    assert not versions.is_supported("1.28.15-rancher1-1")
    assert not versions.is_supported("v1.27.16-rancher1-1")


@pytest.mark.parametrize("version", SUPPORTED)
def test_core_images_present(version: str) -> None:
    images = versions.get_version(version).images
    for key in CORE_IMAGE_KEYS:
        assert images.get(key), f"{version} has no {key} image"
    assert all(images.values()), "images map holds no empty strings"


@pytest.mark.parametrize(
    ("version", "key", "image"),
    [
        ("v1.28.15-rancher1-1", "etcd", "rancher/mirrored-coreos-etcd:v3.5.10"),
        ("v1.28.15-rancher1-1", "kubernetes", "rancher/hyperkube:v1.28.15-rancher1"),
        ("v1.28.15-rancher1-1", "flannel_cni", "rancher/flannel-cni:v0.3.0-rancher9"),
        ("v1.28.15-rancher1-1", "weave_node", "weaveworks/weave-kube:2.8.1"),
        (
            "v1.28.15-rancher1-1",
            "ingress_webhook",
            "rancher/mirrored-ingress-nginx-kube-webhook-certgen:v20231226-1a7112e06",
        ),
        ("v1.29.15-rancher1-1", "alpine", "rancher/rke-tools:v0.1.111"),
        ("v1.30.14-rancher1-1", "calico_node", "rancher/mirrored-calico-node:v3.28.1"),
        ("v1.31.10-rancher1-1", "kubernetes", "rancher/hyperkube:v1.31.10-rancher1"),
        ("v1.31.10-rancher1-1", "flannel", "rancher/mirrored-flannel-flannel:v0.25.1"),
        ("v1.31.14-rancher1-1", "kubernetes", "rke-extended-life/hyperkube:v1.31.14-rancher1"),
        ("v1.31.14-rancher1-1", "etcd", "rancher/mirrored-coreos-etcd:v3.5.15"),
        ("v1.31.14-rancher1-1", "pod_infra_container", "rancher/mirrored-pause:3.7"),
        ("v1.32.6-rancher1-1", "canal_flannel", "rancher/mirrored-flannel-flannel:v0.26.4"),
        ("v1.32.6-rancher1-1", "metrics_server", "rancher/mirrored-metrics-server:v0.7.2"),
        ("v1.32.13-rancher1-2", "kubernetes", "rke-extended-life/hyperkube:v1.32.13-rancher1"),
        (
            "v1.32.13-rancher1-2",
            "ingress",
            "rancher/nginx-ingress-controller:nginx-1.14.5-rancher1",
        ),
        ("v1.32.13-rancher1-2", "aci_ovs_container", "noiro/openvswitch:6.1.1.4.81c2369"),
    ],
)
def test_image_spot_checks(version: str, key: str, image: str) -> None:
    assert versions.get_version(version).images[key] == image


@pytest.mark.parametrize("version", SUPPORTED)
def test_weave_only_below_v130(version: str) -> None:
    info = versions.get_version(version)
    has_weave = info.semver() < (1, 30, 0)
    assert ("weave" in info.network_plugins) is has_weave
    assert ("weave_node" in info.images) is has_weave
    assert ("weave_cni" in info.images) is has_weave
    assert {"canal", "flannel", "calico", "aci", "none"} <= info.network_plugins
    assert ("weave-v1.22" in info.addon_templates.values()) is has_weave


@pytest.mark.parametrize("version", SUPPORTED)
def test_service_options_match_kdm(version: str) -> None:
    options = versions.get_version(version).service_options
    assert {service: dict(flags) for service, flags in options.items()} == SERVICE_OPTIONS
    # "" means "delete the flag" and is kept as data; flags KDM deletes are absent
    assert options["kubelet"]["enforce-node-allocatable"] == ""
    assert "insecure-port" not in options["kube-api"]
    assert "pod-eviction-timeout" not in options["kube-controller"]
    assert "network-plugin" not in options["kubelet"]


@pytest.mark.parametrize("version", SUPPORTED)
def test_docker_versions(version: str) -> None:
    docker = versions.get_version(version).docker_versions
    assert docker[0] == "1.13"
    assert docker[-5:] == ("20.10", "23.0", "24.0", "25.0", "26.0")


def test_version_info_fields() -> None:
    info = versions.get_version("v1.32.13-rancher1-2")
    assert info.version == "v1.32.13-rancher1-2"
    assert info.minor == "v1.32"
    assert info.semver() == (1, 32, 13)
    assert versions.get_version("v1.28.15-rancher1-1").semver() == (1, 28, 15)
    assert info.addon_templates["calico"] == "calico-v3.30.2"
    assert info.addon_templates["flannel"] == "flannel-v0.28.1"
    assert versions.get_version("v1.32.6-rancher1-1").addon_templates["flannel"] == (
        "flannel-v0.26.4"
    )


def test_version_info_is_read_only() -> None:
    info = versions.get_version("v1.30.14-rancher1-1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.version = "v1.0.0"  # type: ignore[misc]
    with pytest.raises(TypeError):
        info.images["etcd"] = "evil"  # type: ignore[index]
    with pytest.raises(TypeError):
        info.service_options["kube-api"]["secure-port"] = "1"  # type: ignore[index]


def test_get_unknown_version_raises_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        versions.get_version("v1.27.0")
    err = caught.value
    assert isinstance(err, ValueError)
    assert not isinstance(err, KeyError)
    assert [p.path for p in err.problems] == ["kubernetes_version"]
    text = str(err)
    assert text.startswith("kubernetes_version: 'v1.27.0' is not supported; supported: ")
    assert text.endswith(", ".join(SUPPORTED))


def test_image_keys_cover_rke_spec() -> None:
    keys = versions.image_keys()
    assert keys == tuple(sorted(SPEC_IMAGE_KEYS))
    for version in SUPPORTED:
        assert set(versions.get_version(version).images) <= set(keys)


def test_rewrite_image() -> None:
    assert versions.rewrite_image("rancher/rke-tools:v0.1.114", "reg.example.com") == (
        "reg.example.com/rancher/rke-tools:v0.1.114"
    )
    assert versions.rewrite_image("reg.example.com/rancher/x:1", "reg.example.com") == (
        "reg.example.com/rancher/x:1"
    )
    assert versions.rewrite_image("rancher/x:1", "reg.example.com:5000/") == (
        "reg.example.com:5000/rancher/x:1"
    )
    # only a whole registry component counts as "already prefixed"
    assert versions.rewrite_image("reg.example.com.evil/x:1", "reg.example.com") == (
        "reg.example.com/reg.example.com.evil/x:1"
    )
    assert versions.rewrite_image("rancher/x:1", "") == "rancher/x:1"


def test_resolve_images_without_registry_or_overrides() -> None:
    info = versions.get_version("v1.31.14-rancher1-1")
    resolved = versions.resolve_images(info, {}, default_registry=None)
    assert dict(resolved) == dict(info.images)
    assert list(resolved) == sorted(resolved)


def test_resolve_images_with_overrides_and_default_registry() -> None:
    info = versions.get_version("v1.28.15-rancher1-1")
    overrides = {
        "etcd": "my.mirror/etcd:v3.5.99",  # verbatim: no default registry in front
        "alpine": "",  # empty means "use the default"
        "weave_node": "weaveworks/weave-kube:2.8.2",
    }
    resolved = versions.resolve_images(info, overrides, default_registry="registry.corp:5000")
    assert resolved["etcd"] == "my.mirror/etcd:v3.5.99"
    assert resolved["alpine"] == "registry.corp:5000/rancher/rke-tools:v0.1.105"
    assert resolved["weave_node"] == "weaveworks/weave-kube:2.8.2"
    assert resolved["kubernetes"] == "registry.corp:5000/rancher/hyperkube:v1.28.15-rancher1"
    assert set(resolved) == set(info.images)
    untouched = set(info.images) - set(overrides)
    assert all(resolved[key] == f"registry.corp:5000/{info.images[key]}" for key in untouched)
    with pytest.raises(TypeError):
        resolved["etcd"] = "x"  # type: ignore[index]


def test_resolve_images_override_adds_key_absent_from_version() -> None:
    info = versions.get_version("v1.32.13-rancher1-2")
    assert "aci_gbp_server_container" not in info.images
    resolved = versions.resolve_images(
        info, {"aci_gbp_server_container": "noiro/gbp-server:1"}, default_registry=None
    )
    assert resolved["aci_gbp_server_container"] == "noiro/gbp-server:1"


def test_resolve_images_rejects_unknown_keys() -> None:
    info = versions.get_version("v1.30.14-rancher1-1")
    with pytest.raises(ConfigError) as caught:
        versions.resolve_images(info, {"etcdd": "x", "hyperkube": "y"}, default_registry=None)
    assert [p.path for p in caught.value.problems] == [
        "system_images.etcdd",
        "system_images.hyperkube",
    ]


def test_json_is_loaded_once() -> None:
    catalog._catalog.cache_clear()
    first = versions.get_version("v1.29.15-rancher1-1")
    versions.supported_versions()
    versions.default_version()
    versions.image_keys()
    versions.is_supported("v1.30.14-rancher1-1")
    assert versions.get_version("v1.29.15-rancher1-1") is first
    info = catalog._catalog.cache_info()
    assert info.misses == 1
    assert info.hits >= 5


def test_json_notes_explain_assumptions() -> None:
    import json
    from importlib import resources

    doc = json.loads(
        resources.files("pulumi_pyrke.versions").joinpath("kdm.json").read_text(encoding="utf-8")
    )
    assert doc["notes"]
    assert doc["versions"]["v1.31.10-rancher1-1"]["notes"]
    assert doc["versions"]["v1.32.6-rancher1-1"]["notes"]


def test_versions_package_stays_pure() -> None:
    package = Path(versions.__file__).parent
    for module in sorted(package.glob("*.py")):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        assert ast.get_docstring(tree), f"{module.name} has no module docstring"
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN_IMPORTS, f"{module.name} imports {name}"


def test_public_surface() -> None:
    assert versions.__all__ == sorted(versions.__all__)
    assert set(versions.__all__) == {
        "FLAG_LIST_VERSION",
        "SERVICE_BINARIES",
        "VersionInfo",
        "default_version",
        "get_version",
        "image_keys",
        "is_supported",
        "known_flags",
        "resolve_images",
        "rewrite_image",
        "supported_versions",
    }


def _entry(**overrides: object) -> dict[str, object]:
    return {
        "images": {"etcd": "rancher/etcd:1"},
        "service_options": {service: {} for service in SERVICE_OPTIONS},
        "network_plugins": ["none"],
        "docker_versions": ["26.0"],
        **overrides,
    }


def _doc(**version_overrides: object) -> dict[str, object]:
    return {
        "default_version": "v1.30.1-rancher1-1",
        "image_keys": ["etcd"],
        "versions": {"v1.30.1-rancher1-1": _entry(**version_overrides)},
    }


def test_parse_catalog_accepts_minimal_doc() -> None:
    parsed = catalog._parse_catalog(_doc())
    info = parsed.versions["v1.30.1-rancher1-1"]
    assert parsed.ordered == ("v1.30.1-rancher1-1",)
    assert dict(info.addon_templates) == {}


@pytest.mark.parametrize(
    ("doc", "fragment"),
    [
        ([], "top level"),
        ({"versions": {}, "image_keys": "etcd"}, "image_keys"),
        ({**_doc(), "default_version": "v9.9.9-rancher1-1"}, "default_version"),
        ({**_doc(), "versions": {"v1.30": _entry()}}, "vX.Y.Z-rancherN-M"),
        ({**_doc(), "versions": {"v1.30.1-rancher1-1": []}}, "must be an object"),
        (_doc(images={"etcd": 1}), "images must map"),
        (_doc(images={"hyperkube": "x"}), "unknown keys"),
        (_doc(service_options={"etcd": {}}), "service_options must have"),
        (_doc(network_plugins="none"), "network_plugins"),
    ],
)
def test_parse_catalog_rejects_bad_data(doc: object, fragment: str) -> None:
    with pytest.raises(ValueError, match=r"kdm\.json") as caught:
        catalog._parse_catalog(doc)
    assert fragment in str(caught.value)


def test_version_info_addon_templates_default_empty() -> None:
    info = versions.VersionInfo(
        version="v1.30.1-rancher1-1",
        minor="v1.30",
        images={},
        service_options={},
        network_plugins=frozenset(),
        docker_versions=(),
    )
    assert dict(info.addon_templates) == {}
    assert info.semver() == (1, 30, 1)


def test_flag_lists_ship_with_the_package() -> None:
    assert "max-pods" in versions.known_flags("kubelet")
    assert "quota-backend-bytes" in versions.known_flags("etcd")
    assert "--max-pods" not in versions.known_flags("kubelet")
    assert versions.known_flags("no-such-binary") == frozenset()
    for binary in versions.SERVICE_BINARIES.values():
        assert len(versions.known_flags(binary)) > 40
