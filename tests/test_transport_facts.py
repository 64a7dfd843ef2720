"""Fact parsers against output recorded from real hosts (tests/recorded/); no host is touched."""

from __future__ import annotations

import json
from pathlib import Path

from pulumi_pyrke.transport.facts import (
    SOCKET_MISSING,
    SOCKET_NO_ACCESS,
    SOCKET_OK,
    build_node_facts,
    host_probe_command,
    parse_containers,
    parse_host_probe,
    parse_meminfo,
    parse_os_release,
)

RECORDED = Path(__file__).parent / "recorded"


def recorded(name: str) -> str:
    return (RECORDED / name).read_text()


def test_probe_as_root_on_debian12() -> None:
    probe = parse_host_probe(recorded("probe-debian12-root.txt"))
    assert probe.hostname == "vm"
    assert probe.os == "Debian GNU/Linux 12 (bookworm)"
    assert probe.os_id == "debian"
    assert probe.kernel == "6.18.44-fc-v669"
    assert probe.architecture == "x86_64"
    assert probe.cpus == 2
    assert probe.memory_bytes == 24684084 * 1024
    assert probe.swap_bytes == 0
    assert (probe.user, probe.uid, probe.groups) == ("root", 0, ("root",))
    assert probe.socket_state == SOCKET_OK
    assert probe.socket_owner.endswith("/var/run/docker.sock")
    assert probe.docker_cli == "/usr/local/bin/docker"


def test_probe_of_a_user_outside_the_docker_group() -> None:
    probe = parse_host_probe(recorded("probe-debian12-nobody-no-access.txt"))
    assert (probe.user, probe.uid, probe.groups) == ("nobody", 65534, ("nogroup",))
    assert probe.socket_state == SOCKET_NO_ACCESS
    assert probe.socket_owner.startswith("srw-rw----")


def test_probe_without_a_socket() -> None:
    probe = parse_host_probe(recorded("probe-debian12-no-socket.txt"))
    assert probe.socket_state == SOCKET_MISSING
    assert probe.socket_owner == ""


def test_probe_of_empty_output_is_all_unknown() -> None:
    probe = parse_host_probe("")
    assert (probe.hostname, probe.cpus, probe.uid, probe.socket_state) == (
        "",
        0,
        -1,
        SOCKET_MISSING,
    )


def test_probe_command_quotes_the_socket_path() -> None:
    command = host_probe_command("/run/my docker.sock")
    assert "'/run/my docker.sock'" in command
    assert "@end" in command


def test_os_release_and_meminfo() -> None:
    release = parse_os_release(
        ['NAME="Ubuntu"', "ID=ubuntu", "# comment", 'PRETTY_NAME="Ubuntu 22.04.4 LTS"', "broken"]
    )
    assert release == {"NAME": "Ubuntu", "ID": "ubuntu", "PRETTY_NAME": "Ubuntu 22.04.4 LTS"}
    assert parse_meminfo(
        ["MemTotal:  2048 kB", "SwapTotal: 0 kB", "HugePages_Total: 4", "junk"]
    ) == {
        "MemTotal": 2048 * 1024,
        "SwapTotal": 0,
        "HugePages_Total": 4,
    }


def test_containers_are_sorted_with_labels() -> None:
    listing = [
        {
            "Names": ["/kubelet"],
            "Image": "rancher/hyperkube:v1.31",
            "State": "running",
            "Labels": {"b": "2", "a": "1"},
        },
        {
            "Names": ["/etcd"],
            "Image": "rancher/mirrored-coreos-etcd:v3.5",
            "State": "exited",
            "Labels": None,
        },
        {"Id": "0123456789abcdef", "Names": [], "Image": "x", "State": "created"},
    ]
    found = parse_containers(listing)
    assert [c.name for c in found] == ["0123456789ab", "etcd", "kubelet"]
    assert found[2].labels == (("a", "1"), ("b", "2"))
    assert found[1].state == "exited"


def test_node_facts_from_probe_and_recorded_docker_answers() -> None:
    probe = parse_host_probe(recorded("probe-debian12-root.txt"))
    info = json.loads(recorded("docker-20.10-info.json"))
    version = json.loads(recorded("docker-20.10-version.json"))
    facts = build_node_facts(probe, info, version, ())
    assert facts.docker_version == "20.10.24+dfsg1"
    assert facts.cgroup_driver == "cgroupfs"
    assert facts.docker_root_dir == "/var/lib/docker"
    assert facts.os_type == "linux"
    assert facts.hostname == "vm"
    assert facts.memory_bytes == probe.memory_bytes


def test_node_facts_fall_back_to_docker_when_the_probe_is_empty() -> None:
    info = json.loads(recorded("docker-20.10-info.json"))
    version = json.loads(recorded("docker-20.10-version.json"))
    facts = build_node_facts(parse_host_probe(""), info, version, ())
    assert facts.hostname == info["Name"]
    assert facts.cpus == info["NCPU"]
    assert facts.memory_bytes == info["MemTotal"]
    assert facts.kernel == info["KernelVersion"]


def test_docker_api_version_is_negotiated_and_old_engines_refused() -> None:
    import pytest

    from pulumi_pyrke.errors import DockerError
    from pulumi_pyrke.transport.docker_host import MAX_API_VERSION, negotiate_api_version

    recorded_version = json.loads(recorded("docker-20.10-version.json"))
    assert negotiate_api_version(recorded_version, host="h") == "1.41"
    assert negotiate_api_version({"ApiVersion": "1.99"}, host="h") == MAX_API_VERSION
    with pytest.raises(DockerError) as info:
        negotiate_api_version({"Version": "1.12.6", "ApiVersion": "1.24"}, host="10.0.0.5")
    assert str(info.value) == (
        "[docker] host 10.0.0.5: Docker 1.12.6 (API 1.24) is too old; pulumi_pyrke needs "
        "Docker 1.13 or newer (API 1.26). Upgrade Docker on the host, e.g. to 24.0."
    )
