"""Transport against real nodes: real sshd and dockerd in Docker-in-Docker test nodes.

Every way to log in, every way it can fail, and what one look at a host costs. The nodes come
from tests/harness (started by the suite itself); nothing here is a double.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pulumi_pyrke.deadline import Deadline
from pulumi_pyrke.errors import DockerError, HostKeyMismatch, SSHAuthError, SSHError
from pulumi_pyrke.model.secret import Secret
from pulumi_pyrke.transport import SSHTarget, connect, observe_host, parse_host_key

pytestmark = pytest.mark.nodes


def accepted(node: Any) -> int:
    """SSH logins the node's sshd has accepted so far."""
    return len(re.findall(r"Accepted (publickey|certificate)", node.sshd_log()))


def target(node: Any, key: Any, **overrides: Any) -> SSHTarget:
    fields: dict[str, Any] = {
        "address": node.address,
        "key_path": str(key.private),
        "passphrase": Secret(key.passphrase) if key.passphrase else None,
        "host_key": node.host_public_keys()["ssh-ed25519"],
    }
    fields.update(overrides)
    return SSHTarget(**fields)


@pytest.mark.parametrize(
    "key_name",
    [
        "ed25519",
        "rsa_pem",
        "rsa_openssh",
        "ecdsa_pem",
        "ecdsa_openssh",
        "ed25519_passphrase",
        "rsa_pem_passphrase",
    ],
)
def test_every_key_type_format_and_passphrase(
    shared_nodes: list[Any], test_keys: dict[str, Any], key_name: str
) -> None:
    node = shared_nodes[0]
    key = test_keys[key_name]
    by_path = observe_host(target(node, key), ready_timeout=30)
    by_text = observe_host(
        target(node, key, key_path=None, private_key=Secret(Path(key.private).read_text())),
        ready_timeout=30,
    )
    assert by_path.facts == by_text.facts
    assert by_path.facts.hostname == node.name
    assert by_path.host_key == node.host_public_keys()["ssh-ed25519"]


def test_facts_of_a_node_and_one_ssh_connection_per_look(
    shared_nodes: list[Any], test_keys: dict[str, Any]
) -> None:
    node = shared_nodes[1]
    before = accepted(node)
    seen = observe_host(target(node, test_keys["ed25519"]), ready_timeout=30)
    assert accepted(node) - before == 1
    assert seen.ssh_connections == 1
    facts = seen.facts
    assert facts.hostname == node.name
    assert facts.os.startswith("Debian GNU/Linux 12")
    assert facts.docker_version.startswith("20.10")
    assert facts.cgroup_driver in {"cgroupfs", "systemd"}
    assert facts.cpus >= 1 and facts.memory_bytes > 2**28
    assert facts.kernel == os.uname().release  # a container shares the machine's kernel


def test_first_key_seen_is_recorded_and_other_types_can_be_pinned(
    shared_nodes: list[Any], test_keys: dict[str, Any]
) -> None:
    node = shared_nodes[0]
    keys = node.host_public_keys()
    assert (
        observe_host(target(node, test_keys["ed25519"], host_key=None), ready_timeout=30).host_key
        == keys["ssh-ed25519"]
    )
    for key_type in ("ecdsa-sha2-nistp256", "ssh-rsa"):
        pinned = observe_host(
            target(node, test_keys["ed25519"], host_key=keys[key_type]), ready_timeout=30
        )
        assert pinned.host_key == keys[key_type]


def test_containers_on_the_host_are_facts(node_factory: Any, test_keys: dict[str, Any]) -> None:
    (node,) = node_factory(1)
    node.exec("tar cf - -T /dev/null | docker import - pyrke-test/empty:1 >/dev/null")
    node.exec(
        "docker create --name kubelet --label io.pyrke.role=worker pyrke-test/empty:1 /none >/dev/null"
    )
    facts = observe_host(target(node, test_keys["ed25519"]), ready_timeout=60).facts
    (kubelet,) = [c for c in facts.containers if c.name == "kubelet"]
    assert kubelet.image == "pyrke-test/empty:1"
    assert kubelet.state == "created"
    assert ("io.pyrke.role", "worker") in kubelet.labels


@pytest.fixture
def ssh_agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A real, empty ssh-agent; SSH_AUTH_SOCK points at it for the test."""
    sock = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))
        yield sock
    finally:
        agent.terminate()
        agent.wait()


def test_ssh_agent(shared_nodes: list[Any], test_keys: dict[str, Any], ssh_agent: Path) -> None:
    env = dict(os.environ, SSH_AUTH_SOCK=str(ssh_agent))
    subprocess.run(["ssh-add", "-q", str(test_keys["ecdsa_openssh"].private)], env=env, check=True)
    node = shared_nodes[2]
    seen = observe_host(
        target(node, test_keys["ecdsa_openssh"], key_path=None, use_agent=True),
        ready_timeout=30,
    )
    assert seen.facts.hostname == node.name


def test_bastion_reaches_a_host_through_another_node(
    shared_nodes: list[Any], test_keys: dict[str, Any]
) -> None:
    jump, inner = shared_nodes[0], shared_nodes[1]
    before = accepted(inner)
    seen = observe_host(
        target(inner, test_keys["ed25519"], bastion=target(jump, test_keys["rsa_pem"])),
        ready_timeout=30,
    )
    assert seen.facts.hostname == inner.name
    assert seen.ssh_connections == 2
    assert accepted(inner) - before == 1
    assert (
        f"from {jump.address} " in inner.sshd_log().splitlines()[-1]
        or jump.address in inner.sshd_log()
    )


def test_bastion_that_cannot_reach_the_host_is_retried_then_explained(
    shared_nodes: list[Any], test_keys: dict[str, Any]
) -> None:
    jump = shared_nodes[0]
    with pytest.raises(SSHError) as info:
        observe_host(
            target(
                jump,
                test_keys["ed25519"],
                port=2299,
                host_key=None,
                bastion=target(jump, test_keys["ed25519"]),
            ),
            ready_timeout=2,
        )
    text = str(info.value)
    assert "bastion could not open a connection" in text
    assert f"from the bastion {jump.address}" in text


def test_wrong_key_and_unknown_user_fail_fast_and_say_so(
    shared_nodes: list[Any], test_keys: dict[str, Any]
) -> None:
    node = shared_nodes[0]
    started = time.monotonic()
    with pytest.raises(SSHAuthError) as wrong:
        observe_host(target(node, test_keys["unauthorized"]), ready_timeout=60)
    with pytest.raises(SSHAuthError) as nobody:
        observe_host(target(node, test_keys["ed25519"], user="nosuchuser"), ready_timeout=60)
    assert time.monotonic() - started < 10  # refused logins are final, not retried
    assert f"refused user 'root' with the key file {test_keys['unauthorized'].private}" in str(
        wrong.value
    )
    assert "~root/.ssh/authorized_keys" in str(wrong.value)
    assert "user 'nosuchuser' exists" in str(nobody.value)


def test_secret_key_text_never_reaches_the_error(
    shared_nodes: list[Any], test_keys: dict[str, Any]
) -> None:
    node = shared_nodes[0]
    text = Path(test_keys["unauthorized"].private).read_text()
    with pytest.raises(SSHAuthError) as info:
        observe_host(
            target(node, test_keys["unauthorized"], key_path=None, private_key=Secret(text)),
            ready_timeout=30,
        )
    body = text.strip().splitlines()[1]
    assert body not in str(info.value) and body not in repr(info.value)
    assert "the key in ssh_private_key" in str(info.value)


def test_changed_host_key_is_refused_with_both_fingerprints(
    node_factory: Any, test_keys: dict[str, Any]
) -> None:
    (node,) = node_factory(1)
    first = observe_host(target(node, test_keys["ed25519"], host_key=None), ready_timeout=60)
    node.regenerate_host_keys()
    new = node.host_public_keys()["ssh-ed25519"]
    before = accepted(node)
    with pytest.raises(HostKeyMismatch) as info:
        observe_host(target(node, test_keys["ed25519"], host_key=first.host_key), ready_timeout=30)
    text = str(info.value)
    assert parse_host_key(first.host_key).fingerprint() in text
    assert parse_host_key(new).fingerprint() in text
    assert "Refusing to connect" in text
    assert accepted(node) == before  # refused before any credentials were offered


def test_docker_stopped_is_waited_for_then_explained(
    node_factory: Any, test_keys: dict[str, Any]
) -> None:
    (node,) = node_factory(1)
    node.stop_docker()
    with pytest.raises(DockerError) as info:
        observe_host(target(node, test_keys["ed25519"]), ready_timeout=2)
    text = str(info.value)
    assert f"[docker] host {node.address}: Docker did not answer" in text
    assert "no Docker socket at /var/run/docker.sock" in text
    assert "systemctl start docker" in text
    # started while we wait: the same call succeeds
    starter = threading.Timer(2.0, node.start_docker)
    starter.start()
    try:
        seen = observe_host(target(node, test_keys["ed25519"]), ready_timeout=60)
    finally:
        starter.join()
    assert seen.facts.docker_version


def test_docker_socket_elsewhere(shared_nodes: list[Any], test_keys: dict[str, Any]) -> None:
    node = shared_nodes[2]
    with pytest.raises(DockerError) as info:
        observe_host(
            target(node, test_keys["ed25519"]),
            docker_socket="/run/other/docker.sock",
            ready_timeout=1,
        )
    assert "no Docker socket at /run/other/docker.sock" in str(info.value)


def test_socket_permission_for_a_non_root_user(
    node_factory: Any, test_keys: dict[str, Any]
) -> None:
    (node,) = node_factory(1)
    public = [test_keys["ed25519"].public_text]
    node.add_user("outsider", docker_group=False, authorized_keys=public)
    node.add_user("member", docker_group=True, authorized_keys=public)
    with pytest.raises(DockerError) as info:
        observe_host(target(node, test_keys["ed25519"], user="outsider"), ready_timeout=30)
    text = str(info.value)
    assert "user 'outsider'" in text and "usermod -aG docker outsider" in text
    seen = observe_host(target(node, test_keys["ed25519"], user="member"), ready_timeout=30)
    assert seen.facts.hostname == node.name


def test_ssh_certificate_login(node_factory: Any, test_keys: dict[str, Any]) -> None:
    from harness.keys import sign_user_cert  # type: ignore[import-not-found]

    (node,) = node_factory(1)
    node.trust_user_ca(test_keys["user_ca"].public_text)
    key = test_keys["unauthorized"]  # not in authorized_keys: only the certificate lets it in
    cert = Path(sign_user_cert(test_keys["user_ca"], key, "root")).read_text()
    seen = observe_host(target(node, key, certificate=cert), ready_timeout=30)
    assert seen.facts.hostname == node.name
    with pytest.raises(SSHAuthError) as info:
        observe_host(target(node, key), ready_timeout=30)
    assert "certificate" not in str(info.value)


@pytest.fixture
def late_nodes(node_factory: Any) -> Iterator[list[Any]]:
    yield node_factory(2, sshd_delay=6)


def test_sshd_that_starts_late_is_waited_for_within_ready_timeout(
    late_nodes: list[Any], test_keys: dict[str, Any]
) -> None:
    waiting, too_short = late_nodes
    with pytest.raises(SSHError) as info:
        observe_host(target(too_short, test_keys["ed25519"], host_key=None), ready_timeout=1)
    text = str(info.value)
    assert f"[ssh] host {too_short.address}: SSH on port 22 did not answer" in text
    assert "raise ready_timeout" in text
    started = time.monotonic()
    seen = observe_host(target(waiting, test_keys["ed25519"], host_key=None), ready_timeout=60)
    assert seen.facts.hostname == waiting.name
    assert time.monotonic() - started < 30


def test_one_session_serves_commands_and_docker(
    shared_nodes: list[Any], test_keys: dict[str, Any]
) -> None:
    from pulumi_pyrke.transport import open_docker

    node = shared_nodes[1]
    before = accepted(node)
    with connect(target(node, test_keys["ed25519"]), deadline=Deadline.after(30)) as session:
        assert session.run("hostname").stdout.strip() == node.name
        assert session.run("exit 3").exit_code == 3
        client, version = open_docker(session, "/var/run/docker.sock")
        try:
            for _ in range(5):
                assert client.ping()
            assert client.api.info()["Name"] == node.name
            assert version["ApiVersion"]
        finally:
            client.close()
    assert accepted(node) - before == 1


def test_bastion_refusals_name_the_bastion_and_its_fields(
    shared_nodes: list[Any], test_keys: dict[str, Any]
) -> None:
    jump, inner = shared_nodes[0], shared_nodes[1]
    with pytest.raises(SSHAuthError) as refused:
        observe_host(
            target(inner, test_keys["ed25519"], bastion=target(jump, test_keys["unauthorized"])),
            ready_timeout=30,
        )
    text = str(refused.value)
    assert text.startswith(f"[ssh] bastion {jump.address}:22 refused user 'root'")
    assert str(test_keys["unauthorized"].private) in text and "bastion.ssh_private_key" in text
    wrong_pin = inner.host_public_keys()["ssh-ed25519"]
    with pytest.raises(HostKeyMismatch) as mismatch:
        observe_host(
            target(
                inner,
                test_keys["ed25519"],
                bastion=target(jump, test_keys["ed25519"], host_key=wrong_pin),
            ),
            ready_timeout=30,
        )
    text = str(mismatch.value)
    assert text.startswith(f"[ssh] bastion {jump.address}:22 presented host key")
    assert "set bastion.host_key to its new key" in text


def test_agent_without_keys_is_refused_at_once(
    shared_nodes: list[Any], test_keys: dict[str, Any], ssh_agent: Path
) -> None:
    started = time.monotonic()
    with pytest.raises(SSHAuthError) as info:
        observe_host(
            target(shared_nodes[0], test_keys["ed25519"], key_path=None, use_agent=True),
            ready_timeout=60,
        )
    assert time.monotonic() - started < 10
    assert "the SSH agent offered no key" in str(info.value) and "ssh-add -l" in str(info.value)


def test_a_hung_docker_is_bounded_by_the_deadline(
    node_factory: Any, test_keys: dict[str, Any]
) -> None:
    (node,) = node_factory(1)
    node.exec("pkill -STOP -x dockerd")
    try:
        started = time.monotonic()
        with pytest.raises(DockerError) as info:
            observe_host(target(node, test_keys["ed25519"]), ready_timeout=4)
        assert time.monotonic() - started < 40  # calls are cut to what is left (at least 5 s)
        assert f"[docker] host {node.address}: Docker did not answer" in str(info.value)
        assert ".." not in str(info.value)
    finally:
        node.exec("pkill -CONT -x dockerd")


def test_a_docker_cli_without_dial_stdio_is_named(
    node_factory: Any, test_keys: dict[str, Any]
) -> None:
    (node,) = node_factory(1)
    # Stand-in for a Docker 18.06 CLI (no such package can be installed here): it answers
    # `docker system dial-stdio` as that CLI does. Only the CLI is replaced; dockerd stays real.
    node.exec(
        'printf \'#!/bin/sh\\necho "\\\\"docker system\\\\" accepts no arguments." >&2\\nexit 1\\n\' '
        "> /usr/local/bin/docker && chmod +x /usr/local/bin/docker"
    )
    assert (
        "accepts no arguments"
        in node.exec("/usr/local/bin/docker system dial-stdio", check=False).stderr.decode()
    )
    started = time.monotonic()
    with pytest.raises(DockerError) as info:
        observe_host(target(node, test_keys["ed25519"]), ready_timeout=60)
    assert time.monotonic() - started < 20  # final, not waited for
    text = str(info.value)
    assert "no 'system dial-stdio'" in text and "older than 18.09" in text
    assert "Install Docker 18.09 or newer" in text
