"""observe() through the ports, against the in-memory fake: waiting for Docker, refusals,
facts from recorded answers. (The same code runs on real nodes in test_transport_nodes.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pulumi_pyrke.deadline import Deadline
from pulumi_pyrke.engine.fake import FAKE_HOST_KEY, FakeHost
from pulumi_pyrke.errors import DockerError, DockerUnreachable
from pulumi_pyrke.model.plan import ContainerSpec
from pulumi_pyrke.transport import observe
from pulumi_pyrke.transport.facts import host_probe_command

RECORDED = Path(__file__).resolve().parent / "recorded"
SOCKET = "/var/run/docker.sock"


def recorded_host(probe: str = "probe-debian12-root.txt") -> FakeHost:
    host = FakeHost(address="10.0.0.5")
    host.on(host_probe_command(SOCKET), stdout=(RECORDED / probe).read_text())
    host.engine.version = json.loads((RECORDED / "docker-20.10-version.json").read_text())
    host.engine.info = json.loads((RECORDED / "docker-20.10-info.json").read_text())
    return host


def test_facts_come_from_the_probe_and_the_engine_and_the_connection_stays_open() -> None:
    host = recorded_host()
    host.engine.images["pyrke/kubelet:1"] = "sha256:" + "1" * 64
    host.engine.create_container(
        ContainerSpec(name="kubelet", plane="worker", image="pyrke/kubelet:1")
    )
    messages: list[str] = []
    seen = observe(host, docker_socket=SOCKET, deadline=Deadline.after(5), log=messages.append)
    assert seen.host_key == FAKE_HOST_KEY and seen.ssh_connections == 1
    assert seen.facts.docker_version.startswith("20.10")
    assert seen.facts.cgroup_driver == "cgroupfs"
    assert [c.name for c in seen.facts.containers] == ["kubelet"]
    assert messages[-1].startswith("[docker] host 10.0.0.5: ")
    assert not host.closed and host.engine.closed  # the Docker handle is released, not the host
    assert host.run("true").exit_code == 127  # still usable (unscripted: not found)


def test_an_engine_that_does_not_answer_yet_is_waited_for() -> None:
    host = recorded_host()
    host.docker_failures = [DockerUnreachable("the Docker Engine did not answer")] * 2
    messages: list[str] = []
    seen = observe(host, docker_socket=SOCKET, deadline=Deadline.after(10), log=messages.append)
    assert seen.facts.hostname
    assert sum("waiting for Docker" in m for m in messages) == 2


def test_a_refusal_is_final_and_a_missing_socket_runs_out_the_deadline() -> None:
    host = recorded_host()
    host.docker_failures = [DockerError("[docker] host 10.0.0.5: too old")]
    with pytest.raises(DockerError, match="too old"):
        observe(host, docker_socket=SOCKET, deadline=Deadline.after(10))
    denied = recorded_host("probe-debian12-nobody-no-access.txt")
    with pytest.raises(DockerError, match="usermod -aG docker"):
        observe(denied, docker_socket=SOCKET, deadline=Deadline.after(10))
    gone = recorded_host("probe-debian12-no-socket.txt")
    with pytest.raises(DockerError) as info:
        observe(gone, docker_socket=SOCKET, deadline=Deadline.after(0.3))
    assert "[docker] host 10.0.0.5: Docker did not answer" in str(info.value)
    assert "no Docker socket at /var/run/docker.sock" in str(info.value)
