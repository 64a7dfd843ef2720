"""ClusterProvider's check and diff, called directly, without hosts: problems with their input
paths, unknowns in a preview, the plan summary, and which changes are updates."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.output import Unknown

from pulumi_pyrke.errors import SSHError
from pulumi_pyrke.plan import ClusterState, plan_cluster
from pulumi_pyrke.plan.cluster import plan_cluster_with_pki
from pulumi_pyrke.providers.cluster import ClusterProvider, diff_cluster
from pulumi_pyrke.providers.cluster_check import (
    AT_APPLY,
    encode_state_output,
    input_path,
    parse_cluster_inputs,
    plan_summary,
)

ALL = ["etcd", "controlplane", "worker"]


def node(address: str, roles: list[str] | None = None, **more: Any) -> dict[str, Any]:
    return {"address": address, "roles": roles or ["worker"], "ssh_agent_auth": True, **more}


def inputs(**more: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "cluster_name": "demo",
        "nodes": [node("10.0.0.1", ALL), node("10.0.0.2")],
    }
    return {**base, **more}


def checked(raw: dict[str, Any], olds: dict[str, Any] | None = None) -> dict[str, Any]:
    result = ClusterProvider().check(olds or {}, raw)
    assert result.failures == [], [(f.property, f.reason) for f in result.failures]
    return dict(result.inputs)


def outputs_of(news: dict[str, Any]) -> dict[str, Any]:
    """Old outputs as create would have left them (a fresh PKI, its state, the summary)."""
    config, ins = parse_cluster_inputs(news)
    plan, bundle = plan_cluster_with_pki(config)
    state = ClusterState(certificates=bundle.bundle, etcd_members=plan.hosts_with("etcd"))
    containers, files = plan_summary(plan_cluster(config, None, state))
    return {**ins, "state": encode_state_output(state), "plan": containers, "files": files}


def failures(raw: dict[str, Any], olds: dict[str, Any] | None = None) -> dict[str, str]:
    result = ClusterProvider().check(olds or {}, raw)
    return {f.property: f.reason for f in result.failures}


# --- check -------------------------------------------------------------------------------------


def test_every_problem_named_by_the_input_that_holds_it() -> None:
    found = failures(
        {
            "nodes": [
                node("10.0.0.1", ["etcd", "boss"]),
                {"address": "10.0.0.2", "port": 0, "roles": ["worker"]},
            ],
            "services": {"kube-api": {"service_cluster_ip_range": "10.43.0.0/33"}},
            "cluster_yml": "network:\n  plugin: 3\nbogus: 1\n",
            "timeout": 0,
            "colour": "blue",
        }
    )
    assert set(found) == {
        "colour",
        "timeout",
        "nodes[0].roles[1]",
        "nodes[1].port",
        "nodes[1].ssh_private_key",
        "services.kube-api.service_cluster_ip_range",
        "cluster_yml.network.plugin",
        "cluster_yml.bogus",
    }
    assert "is not a CIDR" in found["services.kube-api.service_cluster_ip_range"]
    assert "controlplane, etcd, worker" in found["nodes[0].roles[1]"]


def test_cluster_yml_nodes_keep_their_rke_paths_under_cluster_yml() -> None:
    found = failures({"cluster_yml": "nodes:\n- address: 10.0.0.1\n  user: root\n  role: [boss]\n"})
    assert "cluster_yml.nodes[0].role[0]" in found
    assert failures({"cluster_yml": "nodes: [\n"}).keys() == {"cluster_yml"}


def test_input_paths_map_back() -> None:
    typed = {"services"}
    assert input_path("nodes[0].role[1]", typed=typed, nodes_given=True) == "nodes[0].roles[1]"
    assert input_path("nodes[2].ssh_key", typed=typed, nodes_given=True) == (
        "nodes[2].ssh_private_key"
    )
    assert input_path("nodes[0].role", typed=typed, nodes_given=False) == (
        "cluster_yml.nodes[0].role"
    )
    assert input_path("services.etcd.x", typed=typed, nodes_given=True) == "services.etcd.x"
    assert input_path("network.plugin", typed=typed, nodes_given=True) == (
        "cluster_yml.network.plugin"
    )
    assert input_path("", typed=typed, nodes_given=True) == "cluster_yml"


def test_cluster_yml_and_typed_arguments_merge_typed_wins() -> None:
    yml = "cluster_name: from-yml\nkubernetes_version: ''\nnodes: []\n"
    config, ins = parse_cluster_inputs(inputs(cluster_yml=yml, cluster_name="typed"))
    assert config.cluster_name == "typed"
    assert [n.address for n in config.nodes] == ["10.0.0.1", "10.0.0.2"]
    assert config.nodes[0].user == "root"  # a Node's default; cluster.yml requires a user
    assert ins["timeout"] == 900


def test_a_nodes_computed_outputs_are_ignored() -> None:
    with_outputs = node("10.0.0.2", hostname="n2", facts={"cpus": 2}, cpus=2, ready_timeout=5)
    news = inputs(nodes=[node("10.0.0.1", ALL), with_outputs])
    assert failures(news) == {}
    assert "hostname" not in checked(news)["nodes"][1]


def test_the_plan_summary_shape() -> None:
    ins = checked(inputs())
    plan, files = ins["plan"], ins["files"]
    assert set(plan) == {"10.0.0.1", "10.0.0.2"}
    api = plan["10.0.0.1"]["kube-apiserver"]
    assert set(api) == {"image", "args"} and isinstance(api["image"], str)
    assert api["args"] == sorted(api["args"]) and any(a.startswith("--etcd") for a in api["args"])
    assert "nginx-proxy" in plan["10.0.0.2"] and "etcd" not in plan["10.0.0.2"]
    digests = files["10.0.0.1"]
    assert digests["/etc/kubernetes/ssl/kube-ca.pem"] == AT_APPLY  # no certificates yet
    assert digests["/etc/kubernetes/admission.yaml"].startswith("sha256:")
    assert ins["etcd_hosts"] == ["10.0.0.1"] and ins["worker_hosts"] == ["10.0.0.1", "10.0.0.2"]


def test_with_the_old_state_certificate_digests_are_known_and_stable() -> None:
    olds = outputs_of(inputs())
    again = checked(inputs(), olds=olds)
    assert AT_APPLY not in again["files"]["10.0.0.1"].values()
    assert again["files"] == olds["files"] == checked(inputs(), olds=olds)["files"]


def test_unknown_worker_leaves_only_its_part_unknown() -> None:
    news = inputs(nodes=[node("10.0.0.1", ALL), node("10.0.0.2")])
    news["nodes"][1]["address"] = Unknown()
    ins = checked(news)
    assert isinstance(ins["plan"]["nodes[1]"], Unknown)
    assert isinstance(ins["plan"]["10.0.0.1"], dict) and "10.0.0.2" not in ins["plan"]
    assert isinstance(ins["nodes"][1]["address"], Unknown)


def test_unknown_control_plane_or_cluster_yml_leaves_the_whole_plan_unknown() -> None:
    news = inputs(nodes=[node("10.0.0.1", ALL, labels={"a": Unknown()}), node("10.0.0.2")])
    plan = checked(news)["plan"]
    assert all(isinstance(v, Unknown) for v in plan.values())
    whole = checked(inputs(cluster_yml=Unknown()))
    assert isinstance(whole["plan"], Unknown) and isinstance(whole["files"], Unknown)
    assert isinstance(checked({"nodes": Unknown()})["plan"], Unknown)
    unknown_flag = inputs(services={"kube-api": {"extra_args": {"v": Unknown()}}})
    assert isinstance(checked(unknown_flag)["plan"], Unknown)


def test_a_running_clusters_etcd_and_control_plane_hosts_stay() -> None:
    olds = checked(inputs())
    grown = inputs(nodes=[node("10.0.0.1", ALL), node("10.0.0.2", ALL)])
    found = ClusterProvider().check(olds, grown).failures
    assert [f.property for f in found] == ["nodes", "nodes"]
    assert "etcd hosts of a running cluster from 10.0.0.1 to 10.0.0.1, 10.0.0.2" in found[0].reason
    assert "control-plane hosts" in found[1].reason
    assert "worker-only hosts can be added" in found[0].reason
    assert failures(grown) == {}  # a new cluster may have any hosts


# --- diff --------------------------------------------------------------------------------------


def test_no_change_is_no_diff() -> None:
    olds = outputs_of(inputs())
    assert diff_cluster(olds, checked(inputs())) == ()  # check without state: digests "at apply"
    assert diff_cluster(olds, checked(inputs(), olds=olds)) == ()
    result = ClusterProvider().diff("demo@10.0.0.1", olds, checked(inputs()))
    assert result.changes is False and result.replaces == []


def test_one_flag_is_one_changed_plan_entry_and_an_update() -> None:
    olds = outputs_of(inputs())
    flag = {"kube-api": {"extra_args": {"audit-log-maxage": "7"}}}
    news = checked(inputs(services=flag), olds=olds)
    assert diff_cluster(olds, news) == ("plan",)
    changed = [
        (host, name)
        for host, containers in news["plan"].items()
        for name, entry in containers.items()
        if olds["plan"][host].get(name) != entry
    ]
    assert changed == [("10.0.0.1", "kube-apiserver")]
    before, after = (
        olds["plan"]["10.0.0.1"]["kube-apiserver"],
        news["plan"]["10.0.0.1"]["kube-apiserver"],
    )
    assert sorted(set(after["args"]) - set(before["args"])) == ["--audit-log-maxage=7"]
    result = ClusterProvider().diff("demo@10.0.0.1", olds, news)
    assert result.changes is True and result.replaces == []


def test_adding_a_worker_is_an_update() -> None:
    olds = outputs_of(inputs())
    more = inputs(nodes=[node("10.0.0.1", ALL), node("10.0.0.2"), node("10.0.0.3")])
    news = checked(more, olds=olds)
    assert "worker_hosts" in diff_cluster(olds, news)
    assert ClusterProvider().diff("x", olds, news).replaces == []


def test_a_new_login_is_an_update_that_records_it() -> None:
    olds = outputs_of(inputs())
    rekeyed = inputs(nodes=[node("10.0.0.1", ALL), node("10.0.0.2", user="ubuntu")])
    assert diff_cluster(olds, checked(rekeyed)) == ("nodes",)


def test_a_preview_with_unknowns_is_an_update() -> None:
    olds = outputs_of(inputs())
    assert diff_cluster(olds, checked(inputs(cluster_yml=Unknown())))


@pytest.mark.parametrize("key", ["ssh_private_key", "ssh_key_passphrase"])
def test_secret_text_never_in_a_problem(key: str) -> None:
    secret = "SENTINEL-never-shown"
    found = failures(inputs(nodes=[node("10.0.0.1", ALL, **{key: secret, "port": "x"})]))
    assert found and all(secret not in reason for reason in found.values())


# --- read and delete with hosts that do not answer ------------------------------------------


def _gone(target: Any, *, deadline: Any) -> Any:
    raise SSHError(f"[ssh] host {target.address}: SSH on port 22 did not answer")


def test_read_keeps_an_unreachable_hosts_part_and_the_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    olds = outputs_of(inputs())
    read = ClusterProvider(connect=_gone).read("demo@10.0.0.1", olds)
    assert read.id == "demo@10.0.0.1"
    assert read.outs is not None and read.outs["plan"] == olds["plan"]
    assert read.inputs is not None and "state" not in read.inputs
    said = caplog.text
    assert "host 10.0.0.2 did not answer" in said and "keeping its last known state" in said


def test_delete_with_every_host_gone_warns_and_ends(caplog: pytest.LogCaptureFixture) -> None:
    ClusterProvider(connect=_gone).delete("demo@10.0.0.1", outputs_of(inputs()))
    said = caplog.text
    assert "10.0.0.1: NOT cleaned" in said and "10.0.0.2: NOT cleaned" in said
