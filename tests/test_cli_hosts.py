"""`pyrke hosts` against real test nodes: parallel reach, progress, pinned keys, facts for plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from pulumi_pyrke.cli.main import main

pytestmark = pytest.mark.nodes


def cluster_yml(tmp_path: Path, nodes: list[dict[str, Any]], **extra: Any) -> str:
    path = tmp_path / "cluster.yml"
    path.write_text(yaml.safe_dump({"nodes": nodes, **extra}))
    return str(path)


def node_entry(node: Any, key: Any, role: list[str]) -> dict[str, Any]:
    return {"address": node.address, "user": "root", "role": role, "ssh_key_path": str(key.private)}


def test_hosts_reports_each_node_pins_keys_and_feeds_plan(
    shared_nodes: list[Any],
    node_factory: Any,
    test_keys: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (stranger,) = node_factory(1)
    key = test_keys["ed25519"]
    entries = [node_entry(shared_nodes[0], key, ["etcd", "controlplane", "worker"])]
    entries += [node_entry(n, key, ["worker"]) for n in shared_nodes[1:]]
    entries.append({**node_entry(stranger, test_keys["unauthorized"], ["worker"])})
    config = cluster_yml(tmp_path, entries, ignore_docker_version=True)

    assert main(["hosts", "-c", config]) == 1
    out, err = capsys.readouterr()
    assert "pyrke hosts: 4 nodes" in err
    assert err.count("/4] ") == 4  # one progress line per host as it finishes
    assert "1 of 4 failed" in err
    for node in shared_nodes:
        assert f"{node.address}: ok\n  hostname {node.name}," in out
    assert (
        f"{stranger.address}: FAILED\n  [ssh] host {stranger.address}:22 refused user 'root'" in out
    )

    known = (tmp_path / "cluster.known_hosts").read_text().splitlines()
    assert sorted(line.split()[0] for line in known) == sorted(n.address for n in shared_nodes)
    assert all(line.split(maxsplit=1)[1] == shared_nodes_key(shared_nodes, line) for line in known)

    # JSON is the facts file of `pyrke plan --facts`
    only_good = cluster_yml(tmp_path, entries[:3], ignore_docker_version=True)
    assert main(["hosts", "-c", only_good, "-o", "json"]) == 0
    facts_json, _ = capsys.readouterr()
    facts = json.loads(facts_json)
    assert set(facts) == {n.address for n in shared_nodes}
    facts_file = tmp_path / "facts.json"
    facts_file.write_text(facts_json)
    assert main(["plan", "-c", only_good, "--facts", str(facts_file), "-o", "json"]) == 0
    plan = json.loads(capsys.readouterr()[0])
    kubelet = plan["nodes"][shared_nodes[1].address]["containers"]["kubelet"]
    assert f"--cgroup-driver={facts[shared_nodes[1].address]['cgroup_driver']}" in kubelet["args"]


def shared_nodes_key(shared_nodes: list[Any], line: str) -> str:
    (node,) = [n for n in shared_nodes if n.address == line.split()[0]]
    key_type = line.split()[1]
    return str(node.host_public_keys()[key_type])


def test_hosts_refuses_a_changed_key_until_the_entry_is_removed(
    shared_nodes: list[Any],
    test_keys: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    node = shared_nodes[0]
    config = cluster_yml(
        tmp_path, [node_entry(node, test_keys["rsa_pem"], ["etcd", "controlplane", "worker"])]
    )
    other = shared_nodes[1].host_public_keys()["ssh-ed25519"]
    (tmp_path / "cluster.known_hosts").write_text(f"{node.address} {other}\n")
    assert main(["hosts", "-c", config]) == 1
    out, err = capsys.readouterr()
    assert "presented host key" in out and "Refusing to connect" in out
    assert (tmp_path / "cluster.known_hosts").read_text() == f"{node.address} {other}\n"

    (tmp_path / "cluster.known_hosts").unlink()
    assert main(["hosts", "-c", config]) == 0
    _, err = capsys.readouterr()
    assert "warning:" not in err  # the nodes' Docker 20.10 is one RKE validated
    assert len((tmp_path / "cluster.known_hosts").read_text().splitlines()) == 1


def test_bad_key_fails_before_any_host_is_touched(
    shared_nodes: list[Any],
    test_keys: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    node = shared_nodes[2]
    before = node.sshd_log()
    entry = {
        "address": node.address,
        "user": "root",
        "role": ["etcd", "controlplane", "worker"],
        "ssh_key": "not a key",
    }
    config = cluster_yml(tmp_path, [entry])
    assert main(["hosts", "-c", config]) == 1
    out, _ = capsys.readouterr()
    assert "nodes[0].ssh_key: not an RSA, ECDSA or Ed25519 private key" in out
    assert node.sshd_log() == before  # not even a connection was made
    assert not (tmp_path / "cluster.known_hosts").exists()
