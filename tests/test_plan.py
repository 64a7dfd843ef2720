"""The planner, case by case: which containers run where, with which flags, files and modes."""

from __future__ import annotations

from typing import Any

import pytest

from pulumi_pyrke.model import NodeFacts, Secret, parse_cluster_config
from pulumi_pyrke.model.plan import ClusterPlan, ContainerSpec
from pulumi_pyrke.plan import ClusterState, plan_cluster, plan_cluster_with_pki
from pulumi_pyrke.plan.flags import flag_names
from pulumi_pyrke.plan.render import plan_to_dict, render_text
from pulumi_pyrke.versions import SERVICE_BINARIES, known_flags, supported_versions

ALL = ["etcd", "controlplane", "worker"]


def _plan(
    data: dict[str, Any],
    facts: dict[str, NodeFacts] | None = None,
    state: ClusterState | None = None,
) -> ClusterPlan:
    return plan_cluster(parse_cluster_config(data).config, facts, state)


def _node(address: str, roles: list[str], **extra: Any) -> dict[str, Any]:
    return {"address": address, "user": "root", "role": roles, **extra}


def _container(plan: ClusterPlan, address: str, name: str) -> ContainerSpec:
    node = plan.node(address)
    assert node is not None
    spec = node.container(name)
    assert spec is not None, f"{name} not planned on {address}"
    return spec


def _flag(spec: ContainerSpec, name: str) -> str | None:
    values = [a.split("=", 1)[1] for a in spec.args if a.split("=", 1)[0] == f"--{name}"]
    return values[0] if values else None


HA = {
    "kubernetes_version": "v1.28.15-rancher1-1",
    "nodes": [
        _node("10.0.0.1", ["etcd"]),
        _node("10.0.0.2", ["etcd"]),
        _node("10.0.0.3", ["etcd"]),
        _node("10.0.0.4", ["controlplane"]),
        _node("10.0.0.5", ["controlplane"]),
        _node("10.0.0.6", ["worker"]),
    ],
}


def test_placement_per_role() -> None:
    plan = _plan(HA)
    names = {n.address: {c.name for c in n.containers} for n in plan.nodes}
    assert names["10.0.0.1"] == {
        "etcd",
        "etcd-rolling-snapshots",
        "service-sidekick",
        "kubelet",
        "kube-proxy",
        "nginx-proxy",
    }
    assert names["10.0.0.4"] == {
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "service-sidekick",
        "kubelet",
        "kube-proxy",
    }
    assert names["10.0.0.6"] == {"service-sidekick", "kubelet", "kube-proxy", "nginx-proxy"}
    assert plan.api_server_url == "https://10.0.0.4:6443"
    assert plan.hosts_with("etcd") == ("10.0.0.1", "10.0.0.2", "10.0.0.3")


def test_etcd_members_and_urls() -> None:
    plan = _plan(HA)
    etcd = _container(plan, "10.0.0.2", "etcd")
    assert _flag(etcd, "name") == "etcd-10.0.0.2"
    assert _flag(etcd, "initial-cluster") == (
        "etcd-10.0.0.1=https://10.0.0.1:2380,etcd-10.0.0.2=https://10.0.0.2:2380,"
        "etcd-10.0.0.3=https://10.0.0.3:2380"
    )
    assert _flag(etcd, "initial-cluster-state") == "new"
    assert _flag(etcd, "listen-client-urls") == "https://0.0.0.0:2379"
    assert _flag(etcd, "cert-file") == "/etc/kubernetes/ssl/kube-etcd-10-0-0-2.pem"
    assert _flag(etcd, "client-cert-auth") == "true"
    assert etcd.network_mode == "host" and etcd.restart_policy == "always"
    assert etcd.health_check is not None and etcd.health_check.url == "https://10.0.0.2:2379/health"
    api = _container(plan, "10.0.0.4", "kube-apiserver")
    assert (
        _flag(api, "etcd-servers")
        == "https://10.0.0.1:2379,https://10.0.0.2:2379,https://10.0.0.3:2379"
    )


def test_joining_etcd_member_starts_existing() -> None:
    state = ClusterState(etcd_members=("10.0.0.1", "10.0.0.2"))
    plan = _plan(HA, state=state)
    joining = _container(plan, "10.0.0.3", "etcd")
    assert _flag(joining, "initial-cluster-state") == "existing"
    assert _flag(joining, "initial-cluster") == (
        "etcd-10.0.0.1=https://10.0.0.1:2380,etcd-10.0.0.2=https://10.0.0.2:2380,"
        "etcd-10.0.0.3=https://10.0.0.3:2380"
    )
    running = _container(plan, "10.0.0.1", "etcd")
    assert _flag(running, "initial-cluster-state") == "new"
    same = _plan(HA, state=ClusterState(etcd_members=("10.0.0.1", "10.0.0.2", "10.0.0.3")))
    assert same == _plan(HA), "a second plan of a running cluster must equal the first"


def test_taints_and_labels() -> None:
    plan = _plan(HA)
    cp = plan.node("10.0.0.4")
    assert cp is not None
    assert [t.render() for t in cp.taints] == [
        "node-role.kubernetes.io/controlplane=true:NoSchedule"
    ]
    kubelet = _container(plan, "10.0.0.1", "kubelet")
    assert _flag(kubelet, "register-with-taints") == "node-role.kubernetes.io/etcd=true:NoExecute"
    assert _flag(_container(plan, "10.0.0.6", "kubelet"), "register-with-taints") is None
    assert ("node-role.kubernetes.io/worker", "true") in plan.nodes[5].labels


def test_kubelet_modes_binds_and_runtime() -> None:
    facts = {"10.0.0.6": NodeFacts(docker_root_dir="/data/docker", cgroup_driver="systemd")}
    kubelet = _container(_plan(HA, facts), "10.0.0.6", "kubelet")
    assert kubelet.privileged and kubelet.pid_mode == "host" and kubelet.network_mode == "host"
    assert "/data/docker:/data/docker:rw,rslave" in kubelet.binds
    assert "/var/lib/kubelet:/var/lib/kubelet:shared" in kubelet.binds
    assert _flag(kubelet, "cgroup-driver") == "systemd"
    assert _flag(kubelet, "container-runtime-endpoint") == "unix:///var/run/cri-dockerd.sock"
    assert _flag(kubelet, "cluster-dns") == "10.43.0.10"
    assert _flag(kubelet, "volume-plugin-dir") == "/var/lib/kubelet/volumeplugins"
    assert _flag(kubelet, "enforce-node-allocatable") is None  # "" in the version table deletes it
    assert any(e.render() == "RKE_KUBELET_CRIDOCKERD=true" for e in kubelet.env)


def test_nginx_proxy_points_at_every_controlplane() -> None:
    proxy = _container(_plan(HA), "10.0.0.6", "nginx-proxy")
    assert proxy.args == ("CP_HOSTS=10.0.0.4,10.0.0.5",)
    assert [e.render() for e in proxy.env] == ["CP_HOSTS=10.0.0.4,10.0.0.5"]


def test_sidekick_is_created_not_started() -> None:
    sidekick = _container(_plan(HA), "10.0.0.6", "service-sidekick")
    assert (
        not sidekick.start and sidekick.network_mode == "none" and sidekick.restart_policy == "no"
    )


def test_internal_address_changes_listen_and_node_ip() -> None:
    data = {
        "nodes": [_node("1.2.3.4", ALL, internal_address="10.1.0.4", hostname_override="Alpha")]
    }
    plan = _plan(data)
    etcd = _container(plan, "1.2.3.4", "etcd")
    assert _flag(etcd, "listen-client-urls") == "https://10.1.0.4:2379"
    assert _flag(etcd, "name") == "etcd-alpha"
    assert any(e.render() == "ETCDCTL_ENDPOINTS=https://10.1.0.4:2379" for e in etcd.env)
    kubelet = _container(plan, "1.2.3.4", "kubelet")
    assert _flag(kubelet, "node-ip") == "10.1.0.4"
    assert _flag(kubelet, "hostname-override") == "alpha"
    assert _flag(_container(plan, "1.2.3.4", "kube-apiserver"), "advertise-address") == "10.1.0.4"


def test_extra_args_win_and_arrays_repeat() -> None:
    data = {
        "nodes": [_node("10.0.0.1", ALL)],
        "services": {
            "kube-api": {
                "extra_args": {"secure-port": "7443", "v": 3},
                "extra_args_array": {"api-audiences": ["a", "b"]},
            },
            "kubelet": {
                "extra_binds": ["/srv:/srv"],
                "extra_env": ["HTTP_PROXY=http://proxy:3128"],
            },
        },
    }
    plan = _plan(data)
    api = _container(plan, "10.0.0.1", "kube-apiserver")
    assert _flag(api, "secure-port") == "7443" and _flag(api, "v") == "3"
    assert [a for a in api.args if a.startswith("--api-audiences=")] == [
        "--api-audiences=a",
        "--api-audiences=b",
    ]
    kubelet = _container(plan, "10.0.0.1", "kubelet")
    assert kubelet.binds[-1] == "/srv:/srv"
    assert any(e.render() == "HTTP_PROXY=http://proxy:3128" for e in kubelet.env)


def test_admission_and_audit_files_force_recreation_through_checksums() -> None:
    base = {"nodes": [_node("10.0.0.1", ALL)]}
    api = _container(_plan(base), "10.0.0.1", "kube-apiserver")
    env = {e.name: str(e.value) for e in api.env}
    assert set(env) >= {"RKE_ADMISSION_CONFIG_CHECKSUM", "RKE_AUDITLOG_CONFIG_CHECKSUM"}
    restricted = dict(base, services={"kube-api": {"pod_security_configuration": "restricted"}})
    env2 = {
        e.name: str(e.value)
        for e in _container(_plan(restricted), "10.0.0.1", "kube-apiserver").env
    }
    assert env2["RKE_ADMISSION_CONFIG_CHECKSUM"] != env["RKE_ADMISSION_CONFIG_CHECKSUM"]
    assert env2["RKE_AUDITLOG_CONFIG_CHECKSUM"] == env["RKE_AUDITLOG_CONFIG_CHECKSUM"]


def test_files_per_role_and_modes() -> None:
    plan = _plan(HA)
    worker = plan.node("10.0.0.6")
    cp = plan.node("10.0.0.4")
    etcd = plan.node("10.0.0.1")
    assert worker is not None and cp is not None and etcd is not None
    worker_paths = {f.path for f in worker.files}
    assert "/etc/kubernetes/ssl/kube-ca.pem" in worker_paths
    assert "/etc/kubernetes/ssl/kube-ca-key.pem" not in worker_paths
    assert "/etc/kubernetes/ssl/kube-apiserver.pem" not in worker_paths
    assert "/etc/kubernetes/admission.yaml" not in worker_paths
    cp_paths = {f.path for f in cp.files}
    assert {
        "/etc/kubernetes/admission.yaml",
        "/etc/kubernetes/audit-policy.yaml",
        "/etc/kubernetes/ssl/kube-apiserver.pem",
        "/etc/kubernetes/ssl/kube-ca-key.pem",
    } <= cp_paths
    assert {f"/etc/kubernetes/ssl/kube-etcd-10-0-0-{i}.pem" for i in (1, 2, 3)} <= {
        f.path for f in etcd.files
    }
    assert all(f.mode == 0o600 for n in plan.nodes for f in n.files)
    cert = next(f for f in worker.files if f.path.endswith("kube-ca.pem"))
    assert cert.content is None and cert.digest is None  # not known before the PKI exists
    admission = next(f for f in cp.files if f.path.endswith("admission.yaml"))
    assert admission.digest is not None and admission.digest.startswith("sha256:")


def test_prefix_path_from_os_and_config() -> None:
    facts = {"10.0.0.1": NodeFacts(os="Flatcar Container Linux by Kinvolk 3510.2.0")}
    plan = _plan({"nodes": [_node("10.0.0.1", ALL), _node("10.0.0.2", ["worker"])]}, facts)
    flatcar, plain = plan.nodes
    assert flatcar.prefix_path == "/opt/rke" and plain.prefix_path == "/"
    assert _flag(_container(plan, "10.0.0.1", "kubelet"), "root-dir") == "/opt/rke/var/lib/kubelet"
    assert "/opt/rke/etc/kubernetes:/etc/kubernetes" in _container(plan, "10.0.0.1", "etcd").binds
    assert any(f.path == "/opt/rke/etc/kubernetes/ssl/kube-ca.pem" for f in flatcar.files)


def test_arm64_hosts_tell_etcd() -> None:
    plan = _plan(
        {"nodes": [_node("10.0.0.1", ALL)]}, {"10.0.0.1": NodeFacts(architecture="aarch64")}
    )
    etcd = _container(plan, "10.0.0.1", "etcd")
    assert any(e.render() == "ETCD_UNSUPPORTED_ARCH=arm64" for e in etcd.env)


def test_private_registry_prefixes_default_images_and_writes_credentials() -> None:
    data = {
        "nodes": [_node("10.0.0.1", ALL)],
        "private_registries": [
            {
                "url": "registry.example.com",
                "user": "bot",
                "password": "hunter2",
                "is_default": True,
            }
        ],
        "system_images": {"alpine": "mirror.example.com/tools:1"},
    }
    plan = _plan(data)
    assert _container(plan, "10.0.0.1", "etcd").image.startswith("registry.example.com/rancher/")
    assert (
        _container(plan, "10.0.0.1", "etcd-rolling-snapshots").image == "mirror.example.com/tools:1"
    )
    node = plan.nodes[0]
    creds = next(f for f in node.files if f.path == "/var/lib/kubelet/config.json")
    assert creds.digest is not None and "hunter2" not in render_text(plan)
    assert all("hunter2" not in e.render() for c in node.containers for e in c.env)


def test_s3_credentials_are_masked() -> None:
    data = {
        "nodes": [_node("10.0.0.1", ALL)],
        "services": {
            "etcd": {
                "backup_config": {
                    "interval_hours": 6,
                    "retention": 4,
                    "s3backupconfig": {
                        "access_key": "AKIAEXAMPLE",
                        "secret_key": "s3-very-secret",
                        "bucket_name": "b",
                        "region": "eu-west-1",
                    },
                }
            }
        },
    }
    snap = _container(_plan(data), "10.0.0.1", "etcd-rolling-snapshots")
    assert _flag(snap, "creation") == "6h" and _flag(snap, "retention") == "24h"
    assert _flag(snap, "s3-bucketName") == "b"
    rendered = [e.render() for e in snap.env]
    assert rendered == ["S3_ACCESS_KEY=***", "S3_SECRET_KEY=***"]
    assert "s3-very-secret" not in str(plan_to_dict(_plan(data)))


def test_snapshots_off() -> None:
    data = {"nodes": [_node("10.0.0.1", ALL)], "services": {"etcd": {"snapshot": False}}}
    node = _plan(data).nodes[0]
    assert node.container("etcd-rolling-snapshots") is None


@pytest.mark.parametrize("mode,expected", [("rbac", "Node,RBAC"), ("none", None)])
def test_authorization_mode(mode: str, expected: str | None) -> None:
    plan = _plan({"nodes": [_node("10.0.0.1", ALL)], "authorization": {"mode": mode}})
    assert _flag(_container(plan, "10.0.0.1", "kube-apiserver"), "authorization-mode") == expected


def test_plan_json_shape() -> None:
    data = plan_to_dict(_plan(HA))
    assert data["kubernetes_version"] == "v1.28.15-rancher1-1"
    node = data["nodes"]["10.0.0.6"]
    assert node["roles"] == ["worker"]
    assert set(node["containers"]["kubelet"]) == {
        "image",
        "args",
        "binds",
        "env",
        "network_mode",
        "privileged",
    }
    assert node["files"] == sorted(node["files"])


def test_cloud_config_and_webhook_files() -> None:
    data = {
        "nodes": [_node("10.0.0.1", ALL), _node("10.0.0.2", ["worker"])],
        "cloud_provider": {
            "name": "openstack",
            "openstackCloudProvider": {"global": {"auth-url": "https://keystone", "tenant-id": 7}},
        },
        "authentication": {"strategy": "x509|webhook"},
    }
    plan = _plan(data)
    worker = plan.node("10.0.0.2")
    assert worker is not None
    cloud = next(f for f in worker.files if f.path == "/etc/kubernetes/cloud-config")
    assert isinstance(cloud.content, Secret)
    assert cloud.content.reveal() == "[Global]\nauth-url = https://keystone\ntenant-id = 7\n"
    assert any(f.path == "/etc/kubernetes/kube-api-authn-webhook.yaml" for f in worker.files)
    api = _container(plan, "10.0.0.1", "kube-apiserver")
    assert _flag(api, "cloud-provider") == "openstack"
    assert _flag(api, "cloud-config") == "/etc/kubernetes/cloud-config"
    assert _flag(api, "authentication-token-webhook-cache-ttl") == "5s"
    kubelet = _container(plan, "10.0.0.2", "kubelet")
    assert any(e.name == "RKE_CLOUD_CONFIG_CHECKSUM" for e in kubelet.env)
    assert _flag(_container(plan, "10.0.0.2", "kube-proxy"), "bind-address") == "10.0.0.2"


def test_external_aws_has_no_cloud_config() -> None:
    plan = _plan({"nodes": [_node("10.0.0.1", ALL)], "cloud_provider": {"name": "external-aws"}})
    assert _flag(_container(plan, "10.0.0.1", "kubelet"), "cloud-provider") == "external"
    assert _flag(_container(plan, "10.0.0.1", "kubelet"), "cloud-config") is None


def test_nodelocal_dns_wins_for_kubelet() -> None:
    plan = _plan(
        {"nodes": [_node("10.0.0.1", ALL)], "dns": {"nodelocal": {"ip_address": "169.254.20.10"}}}
    )
    assert _flag(_container(plan, "10.0.0.1", "kubelet"), "cluster-dns") == "169.254.20.10"


def test_external_etcd() -> None:
    data = {
        "nodes": [_node("10.0.0.1", ["controlplane", "worker"])],
        "services": {
            "etcd": {
                "external_urls": ["https://etcd.example.com:2379"],
                "ca_cert": "CA",
                "cert": "C",
                "key": "K",
                "path": "/k8s",
            }
        },
    }
    plan = _plan(data)
    api = _container(plan, "10.0.0.1", "kube-apiserver")
    assert _flag(api, "etcd-servers") == "https://etcd.example.com:2379"
    assert _flag(api, "etcd-prefix") == "/k8s"
    assert _flag(api, "etcd-certfile") == "/etc/kubernetes/ssl/kube-etcd-client.pem"
    assert plan.hosts_with("etcd") == ()


@pytest.mark.parametrize("version", supported_versions())
def test_every_supported_version_plans_with_real_flags(version: str) -> None:
    plan = _plan(dict(HA, kubernetes_version=version))
    binaries = {"etcd": "etcd", **{name: name for name in SERVICE_BINARIES.values()}}
    for node in plan.nodes:
        for spec in node.containers:
            if spec.name in binaries:
                unknown = flag_names(spec.args) - {
                    f"--{f}" for f in known_flags(binaries[spec.name])
                }
                assert not unknown, f"{version} {spec.name}: {sorted(unknown)}"
            assert spec.image, f"{version}: {spec.name} has no image"


def test_certificates_never_travel_in_the_environment() -> None:
    data = dict(HA, services={"kubelet": {"generate_serving_certificate": True}})
    plan, _ = plan_cluster_with_pki(parse_cluster_config(data).config)
    for node in plan.nodes:
        for spec in node.containers:
            for var in spec.env:
                value = var.value.reveal() if isinstance(var.value, Secret) else var.value
                assert "BEGIN" not in value and not var.name.startswith("KUBECFG_"), var.name
        assert all(f.mode == 0o600 and f.digest for f in node.files)


def test_vsphere_cloud_config_sections_and_instance_hostnames() -> None:
    data = {
        "nodes": [_node("10.0.0.1", ALL)],
        "cloud_provider": {
            "name": "vsphere",
            "vsphereCloudProvider": {
                "global": {"insecure-flag": True, "password": "vc-secret"},
                "virtual_center": {"10.9.9.9": {"datacenters": "dc1"}},
            },
        },
    }
    node = _plan(data).nodes[0]
    cloud = next(f for f in node.files if f.path == "/etc/kubernetes/cloud-config")
    assert isinstance(cloud.content, Secret)
    assert cloud.content.reveal() == (
        "[Global]\ninsecure-flag = true\npassword = vc-secret\n\n"
        '[VirtualCenter "10.9.9.9"]\ndatacenters = dc1\n'
    )
    assert "vc-secret" not in render_text(_plan(data))
    aws = {
        "nodes": [_node("10.0.0.1", ALL)],
        "cloud_provider": {"name": "external-aws", "useInstanceMetadataHostname": True},
    }
    plan = _plan(aws)
    assert _flag(_container(plan, "10.0.0.1", "kubelet"), "hostname-override") is None
    assert _flag(_container(plan, "10.0.0.1", "kube-proxy"), "hostname-override") is None
