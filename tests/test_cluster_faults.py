"""Faults on real test nodes: preflight failures change nothing, a host that stops answering in
the middle of an up is finished by the next up, and remove with a host down ends in bounded time
and cleans that host on a later run."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from harness import cluster
from harness.fixtures import NodeFactory
from harness.keys import KeyPair
from harness.nodes import TestNode

from pulumi_pyrke.deadline import Deadline
from pulumi_pyrke.engine.cluster import Applied
from pulumi_pyrke.engine.remove import remove
from pulumi_pyrke.errors import ConfigError, PyrkeError
from pulumi_pyrke.model import parse_cluster_config
from pulumi_pyrke.model.cluster import ClusterConfig
from pulumi_pyrke.plan import ClusterState, plan_cluster

pytestmark = pytest.mark.nodes


class Faults:
    def __init__(self, nodes: list[TestNode], key: str, system_images: dict[str, str]) -> None:
        self.nodes = nodes
        self.key = key
        self.config: ClusterConfig = parse_cluster_config(
            {
                "cluster_name": "faults",
                "nodes": [
                    {
                        "address": nodes[0].address,
                        "user": "root",
                        "role": ["etcd", "controlplane", "worker"],
                    },
                    {"address": nodes[1].address, "user": "root", "role": ["worker"]},
                ],
                "system_images": system_images,
                "services": {"kubeproxy": {"extra_args": {"conntrack-max-per-core": "0"}}},
            }
        ).config

        self.connect = cluster.connector(key)

    def apply(
        self, state: ClusterState | None, *, timeout: float = 240, health: float = 120
    ) -> Applied:
        return cluster.apply(
            self.config, state, self.connect, timeout=timeout, health_timeout=health
        )

    def names(self, node: TestNode) -> set[str]:
        out = node.exec("docker ps -a --format '{{.Names}}'").stdout.decode()
        return {line for line in out.split() if line}

    def remove(self, timeout: float) -> Any:
        plan = plan_cluster(self.config)
        return remove(
            plan.nodes,
            lambda host, seconds: self.connect(host, Deadline.after(seconds)),
            cluster="faults",
            tools_image=plan.tools_image,
            host_timeout=timeout,
        )


@pytest.fixture(scope="module")
def faults(
    node_factory: NodeFactory, test_keys: dict[str, KeyPair], system_images: dict[str, str]
) -> Iterator[Faults]:
    nodes = node_factory(2)
    cluster.prepare(nodes, system_images)
    yield Faults(nodes, test_keys["ed25519"].private_path.read_text(), system_images)


def test_preflight_failures_change_nothing(faults: Faults) -> None:
    n1, n2 = faults.nodes
    before = [faults.names(n) for n in faults.nodes]
    same_id = "0123456789abcdef0123456789abcdef"
    for node in faults.nodes:  # as when both hosts were cloned from one image
        node.exec(f"echo {same_id} > /etc/machine-id")
    listener = subprocess.Popen(
        ["docker", "exec", n2.name, "python3", "-c",
         "import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
         "s.bind(('0.0.0.0', 10250)); s.listen(); time.sleep(120)  # port-holder"],
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while "0A" not in n2.exec("grep ':280A ' /proc/net/tcp || true").stdout.decode():
            assert time.monotonic() < deadline, "the port-holding program did not start"
            time.sleep(0.2)
        with pytest.raises(ConfigError) as refused:
            faults.apply(None)
        text = str(refused.value)
        assert f"host {n2.address}: has the same machine-id as host {n1.address}" in text
        assert f"host {n2.address}: port 10250 is taken by another program" in text
        assert [faults.names(n) for n in faults.nodes] == before  # nothing changed anywhere
    finally:
        listener.kill()
        listener.wait()
        # killing `docker exec` leaves its process in the node: end it there
        n2.exec(
            'for p in /proc/[0-9]*; do [ "${p#/proc/}" = "$$" ] || '
            "{ grep -q port-holder $p/cmdline 2>/dev/null && kill ${p#/proc/}; }; done; true"
        )
        for i, node in enumerate(faults.nodes):
            node.exec(f"echo {i}{same_id[1:]} > /etc/machine-id")


def test_a_host_lost_in_the_middle_is_finished_by_the_next_up(faults: Faults) -> None:
    n1, n2 = faults.nodes
    paused = threading.Event()

    def pause_when_the_control_plane_runs() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if "kube-apiserver" in faults.names(n1):
                subprocess.run(["docker", "pause", n2.name], check=True, capture_output=True)
                paused.set()
                return
            time.sleep(0.2)

    watcher = threading.Thread(target=pause_when_the_control_plane_runs)
    watcher.start()
    started = time.monotonic()
    try:
        with pytest.raises(PyrkeError) as failed:
            faults.apply(None, timeout=20, health=20)
    finally:
        watcher.join()
        subprocess.run(["docker", "unpause", n2.name], check=False, capture_output=True)
    assert paused.is_set()
    assert time.monotonic() - started < 120, "a lost host must not hang the run"
    assert n2.address in str(failed.value)
    finished = faults.apply(None)  # no local state: the state on n1 is adopted
    assert finished.adopted_from == n1.address
    assert "kubelet" in faults.names(n2) and "nginx-proxy" in faults.names(n2)
    again = faults.apply(finished.state)
    assert not again.report.changed


def test_remove_with_a_host_down_ends_in_bounded_time(faults: Faults) -> None:
    n1, n2 = faults.nodes
    subprocess.run(["docker", "pause", n2.name], check=True, capture_output=True)
    try:
        started = time.monotonic()
        report = faults.remove(timeout=15)
        elapsed = time.monotonic() - started
    finally:
        subprocess.run(["docker", "unpause", n2.name], check=False, capture_output=True)
    assert elapsed < 40, elapsed
    assert not report.complete
    assert n2.address in report.summary() and "NOT cleaned" in report.summary()
    assert "etcd" not in faults.names(n1)  # the host that answered is clean
    again = faults.remove(timeout=60)  # the host is back: remove again finishes the job
    assert again.complete, again.summary()
    assert not {"kubelet", "kube-proxy", "nginx-proxy"} & faults.names(n2)
