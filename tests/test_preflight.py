"""Preflight's parser and checks, on output recorded from a test node (pure: no host)."""

from __future__ import annotations

from pulumi_pyrke.engine.preflight import check_hosts, parse_probe
from pulumi_pyrke.model import parse_cluster_config
from pulumi_pyrke.model.plan import HostPlan
from pulumi_pyrke.plan import plan_cluster

# what PROBE printed on a test node (Debian 12 in Docker-in-Docker), trimmed
RECORDED = """@hostname
pyrke-n1
@machine-id
6f1c0d1e6b0b4b59a3b1d4f4e2a9c001
@clock
1764572400
@tcp
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1
   1: 0100007F:1A0B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1
   2: 0B1E10AC:0016 0A1E10AC:C350 01 00000000:00000000 02:00000000 00000000     0        0 3 1
  sl  local_address                         remote_address                        st
   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 0 0
@disk
overlay 258045440 103218176 141669376 43% /
@end
"""


def test_the_probe_is_parsed() -> None:
    check = parse_probe("10.0.0.1", RECORDED, read_at=1764572401.0)
    assert check.hostname == "pyrke-n1" and check.machine_id.startswith("6f1c")
    assert check.listening == frozenset({22, 6667})  # 0x1A0B; the established 22 is not listening
    assert check.free_bytes == 141669376 * 1024
    assert check.clock == 1764572400.0


def _plans() -> dict[str, HostPlan]:
    config = parse_cluster_config(
        {
            "nodes": [
                {"address": "10.0.0.1", "user": "root", "role": ["etcd", "controlplane", "worker"]},
                {"address": "10.0.0.2", "user": "root", "role": ["worker"]},
            ]
        }
    ).config
    return {n.address: n for n in plan_cluster(config).nodes}


def test_clones_skew_and_taken_ports_are_all_reported() -> None:
    first = parse_probe("10.0.0.1", RECORDED.replace(":1A0B", ":0993"), read_at=1764572400.0)
    clone = parse_probe("10.0.0.2", RECORDED, read_at=1764572500.0)  # 100 s behind
    problems = [str(p) for p in check_hosts([first, clone], _plans(), {})]
    assert any("10.0.0.2: has the same hostname as host 10.0.0.1" in p for p in problems)
    assert any("10.0.0.2: has the same machine-id as host 10.0.0.1" in p for p in problems)
    assert any("10.0.0.2: clock is -100s off" in p for p in problems)
    assert not any("port" in p for p in problems)  # 2451 is no port of the cluster's
    assert len(problems) == 3


def test_a_port_held_by_the_clusters_own_container_is_fine() -> None:
    busy = parse_probe("10.0.0.1", RECORDED.replace(":1A0B", ":094B"), read_at=1764572400.0)
    assert busy.listening == frozenset({22, 2379})
    assert any("port 2379" in str(p) for p in check_hosts([busy], _plans(), {}))
    ours = {"10.0.0.1": frozenset({"etcd"})}
    assert check_hosts([busy], _plans(), ours) == []


def test_a_node_waiting_only_for_its_network_plugin_counts_as_up() -> None:
    """Before addons, a real kubelet is NotReady until a CNI exists; `up` accepts that only."""
    from pulumi_pyrke.engine.up import _ready

    assert _ready({"type": "Ready", "status": "True"})
    cni = (
        "container runtime network not ready: NetworkReady=false "
        "reason:NetworkPluginNotReady message:docker: network plugin is not ready: cni config uninitialized"
    )
    assert _ready({"type": "Ready", "status": "False", "reason": "KubeletNotReady", "message": cni})
    assert not _ready(
        {
            "type": "Ready",
            "status": "False",
            "reason": "KubeletNotReady",
            "message": "PLEG is not healthy",
        }
    )
    assert not _ready({"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown"})
    assert not _ready({"type": "MemoryPressure", "status": "True"})


def test_nodes_are_known_by_name_or_by_internal_address() -> None:
    """With useInstanceMetadataHostname, kubelet registers under the cloud's name
    (ip-10-0-0-5.ec2.internal); the node is then found by the InternalIP it reports."""
    from pulumi_pyrke.engine.up import ready_nodes

    listing = {
        "items": [
            {
                "metadata": {"name": "ip-10-0-0-5.ec2.internal"},
                "status": {
                    "conditions": [{"type": "Ready", "status": "True"}],
                    "addresses": [{"type": "InternalIP", "address": "10.0.0.5"}],
                },
            },
            {
                "metadata": {"name": "10.0.0.6"},
                "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]},
            },
        ]
    }
    assert ready_nodes(listing) == {"ip-10-0-0-5.ec2.internal", "10.0.0.5"}
