"""Drift: a container's spec digest changes exactly when what it runs or reads changes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pulumi_pyrke.model import parse_cluster_config
from pulumi_pyrke.model.facts import ContainerFacts
from pulumi_pyrke.model.plan import ClusterPlan, FileSpec, HostPlan
from pulumi_pyrke.plan import plan_cluster_with_pki
from pulumi_pyrke.plan.drift import SPEC_LABEL, container_drift, files_read_by, spec_digest

CONFIG: dict[str, Any] = {
    "nodes": [
        {"address": "10.0.0.1", "user": "root", "role": ["etcd", "controlplane", "worker"]},
        {"address": "10.0.0.2", "user": "root", "role": ["worker"]},
    ]
}


def _plan(data: dict[str, Any] = CONFIG) -> ClusterPlan:
    plan, _ = plan_cluster_with_pki(parse_cluster_config(data).config)
    return plan


def _host(plan: ClusterPlan, address: str) -> HostPlan:
    host = plan.node(address)
    assert host is not None
    return host


def _digests(host: HostPlan) -> dict[str, str | None]:
    files = {f.path: f for f in host.files}
    return {c.name: spec_digest(c, files) for c in host.containers}


def test_a_kubeconfig_brings_in_the_certificate_it_names() -> None:
    host = _host(_plan(), "10.0.0.2")
    kubelet = host.container("kubelet")
    assert kubelet is not None
    read = files_read_by(kubelet, {f.path: f for f in host.files})
    assert "/etc/kubernetes/ssl/kubecfg-kube-node.yaml" in read
    assert "/etc/kubernetes/ssl/kube-node.pem" in read
    assert "/etc/kubernetes/ssl/kube-node-key.pem" in read
    assert "/etc/kubernetes/ssl/kube-ca.pem" in read


def test_same_plan_same_digests_and_a_changed_file_changes_only_its_readers() -> None:
    host = _host(_plan(), "10.0.0.1")
    before = _digests(host)
    assert all(before.values()) and len(set(before.values())) == len(before)
    assert _digests(host) == before
    regenerated = tuple(
        replace(f, content="-----BEGIN CERTIFICATE-----\nnew\n")
        if f.path == "/etc/kubernetes/ssl/kube-apiserver.pem"
        else f
        for f in host.files
    )
    after = _digests(replace(host, files=regenerated))
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"kube-apiserver"}


def test_one_flag_changes_one_container() -> None:
    base = _host(_plan(), "10.0.0.1")
    flagged = _host(
        _plan({**CONFIG, "services": {"kube-api": {"extra_args": {"v": "4"}}}}), "10.0.0.1"
    )
    # each plan mints its own certificates: hold the files equal to see the flag alone
    a, b = _digests(base), _digests(replace(flagged, files=base.files))
    assert {name for name in a if a[name] != b[name]} == {"kube-apiserver"}


def test_etcd_bootstrap_flags_do_not_count() -> None:
    host = _host(_plan(), "10.0.0.1")
    etcd = host.container("etcd")
    assert etcd is not None
    files = {f.path: f for f in host.files}
    rejoined = replace(
        etcd,
        args=tuple(
            "--initial-cluster-state=existing" if a.startswith("--initial-cluster-state=") else a
            for a in etcd.args
        ),
    )
    assert spec_digest(rejoined, files) == spec_digest(etcd, files)


def test_unknown_file_content_leaves_the_digest_unknown() -> None:
    host = _host(_plan(), "10.0.0.2")
    kubelet = host.container("kubelet")
    assert kubelet is not None
    files = {
        f.path: (replace(f, content=None) if f.path.endswith(".pem") else f) for f in host.files
    }
    assert spec_digest(kubelet, files) is None


def test_reasons() -> None:
    host = _host(_plan(), "10.0.0.2")
    kubelet = host.container("kubelet")
    assert kubelet is not None
    digest = "sha256:abc"

    def seen(**kw: Any) -> ContainerFacts:
        base: dict[str, Any] = {
            "name": "kubelet",
            "image": kubelet.image,
            "labels": ((SPEC_LABEL, digest),),
        }
        return ContainerFacts(**(base | kw))

    assert container_drift(kubelet, digest, None) == ("missing",)
    assert container_drift(kubelet, digest, seen()) == ()
    assert container_drift(kubelet, digest, seen(state="exited")) == ("not running",)
    assert container_drift(kubelet, digest, seen(labels=())) == ("not made by pyrke",)
    assert container_drift(kubelet, "sha256:new", seen()) == ("spec",)
    assert container_drift(kubelet, "sha256:new", seen(image="other:1")) == ("image", "spec")
    sidekick = host.container("service-sidekick")
    assert sidekick is not None and not sidekick.start
    created = ContainerFacts(
        name="service-sidekick",
        image=sidekick.image,
        state="created",
        labels=((SPEC_LABEL, digest),),
    )
    assert container_drift(sidekick, digest, created) == ()


def test_file_spec_paths_are_what_containers_name() -> None:
    host = _host(_plan(), "10.0.0.1")
    assert all(isinstance(f, FileSpec) and f.path.startswith("/") for f in host.files)


def test_with_a_prefix_path_the_files_read_are_still_found() -> None:
    from pulumi_pyrke.plan.drift import container_files

    plan = _plan({**CONFIG, "prefix_path": "/opt/rke"})
    host = _host(plan, "10.0.0.2")
    assert all(f.path.startswith("/opt/rke/") for f in host.files)
    kubelet = host.container("kubelet")
    assert kubelet is not None
    read = files_read_by(kubelet, container_files(host))
    assert "/etc/kubernetes/ssl/kube-node.pem" in read
    changed = tuple(
        replace(f, content="x") if f.path.endswith("/kube-node.pem") else f for f in host.files
    )
    before = spec_digest(kubelet, container_files(host))
    after = spec_digest(kubelet, container_files(replace(host, files=changed)))
    assert before is not None and before != after
