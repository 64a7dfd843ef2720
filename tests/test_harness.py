"""The test-node harness itself: keys in every format, nodes that answer SSH (pinned host
keys) and Docker, the knobs tests turn (late sshd, dockerd stop/start, new host keys, users,
a user CA), RKE-style containers inside a node, and the PYRKE_REAL_NODES=required gate."""

from __future__ import annotations

import base64
import io
import os
import struct
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import paramiko
import pytest
from harness.fixtures import NodeFactory
from harness.keys import PASSPHRASE, KeyPair, sign_user_cert
from harness.nodes import TestNode, wait_ssh

TESTS = Path(__file__).resolve().parent
AUTHORIZED = (
    "ed25519",
    "rsa_pem",
    "rsa_openssh",
    "ecdsa_pem",
    "ecdsa_openssh",
    "ed25519_passphrase",
    "rsa_pem_passphrase",
)


@contextmanager
def ssh(
    node: TestNode,
    key: KeyPair,
    *,
    user: str = "root",
    host_keys: dict[str, str] | None = None,
    cert: str | None = None,
) -> Iterator[paramiko.SSHClient]:
    """A paramiko client logged in to `node`, which must present one of `host_keys`
    (default: the keys the node has now)."""
    client = paramiko.SSHClient()
    for text in (host_keys or node.host_public_keys()).values():
        key_type, blob = text.split()
        pinned = paramiko.PKey.from_type_string(key_type, base64.b64decode(blob))
        client.get_host_keys().add(node.address, key_type, pinned)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    # from_path hands the password to cryptography, which wants bytes (a str raises TypeError)
    password = key.passphrase.encode() if key.passphrase else None
    pkey = paramiko.PKey.from_path(key.private_path, password=password)  # type: ignore[arg-type]
    if cert is not None:
        pkey.load_certificate(cert)
    try:
        client.connect(
            node.address,
            username=user,
            pkey=pkey,
            look_for_keys=False,
            allow_agent=False,
            timeout=10,
        )
        yield client
    finally:
        client.close()


def run(client: paramiko.SSHClient, command: str) -> tuple[int, str]:
    _, stdout, stderr = client.exec_command(command, timeout=30)
    status = stdout.channel.recv_exit_status()
    stderr.read()
    return status, stdout.read().decode().strip()


# --- keys (no nodes) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("ed25519", "-----BEGIN OPENSSH PRIVATE KEY-----"),
        ("rsa_pem", "-----BEGIN RSA PRIVATE KEY-----"),
        ("rsa_openssh", "-----BEGIN OPENSSH PRIVATE KEY-----"),
        ("ecdsa_pem", "-----BEGIN EC PRIVATE KEY-----"),
        ("ecdsa_openssh", "-----BEGIN OPENSSH PRIVATE KEY-----"),
        ("ed25519_passphrase", "-----BEGIN OPENSSH PRIVATE KEY-----"),
        ("rsa_pem_passphrase", "-----BEGIN RSA PRIVATE KEY-----"),
    ],
)
def test_keys_have_their_format_and_passphrase(
    test_keys: dict[str, KeyPair], name: str, header: str
) -> None:
    key = test_keys[name]
    assert key.private_path.read_text().startswith(header)
    assert key.passphrase == (PASSPHRASE if name.endswith("_passphrase") else None)
    derived = subprocess.run(
        ["ssh-keygen", "-y", "-P", key.passphrase or "", "-f", str(key.private_path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert derived[:2] == key.public_text.split()[:2]


def test_user_cert_names_the_principal(test_keys: dict[str, KeyPair]) -> None:
    cert = sign_user_cert(test_keys["user_ca"], test_keys["unauthorized"], "root")
    listing = subprocess.run(
        ["ssh-keygen", "-L", "-f", cert], capture_output=True, text=True, check=True
    ).stdout
    principals = listing.split("Principals:")[1].split("Critical Options:")[0].split()
    assert principals == ["root"]


# --- PYRKE_REAL_NODES=required (a pytest run in a subprocess, no nodes) ----------------------

CHILD_CONFTEST = """
import os
from harness import nodes
REASON = os.environ.get("FAKE_REASON") or None
nodes.unavailable_reason = lambda: REASON
"""
CHILD_TESTS = """
import pytest

@pytest.mark.nodes
def test_on_nodes():
    if "SKIP_ON_NODES" in __import__("os").environ:
        pytest.skip("skipped by the test itself")

def test_plain():
    pass
"""


@pytest.mark.parametrize(
    ("required", "fake_reason", "skip_itself", "code", "expected"),
    [
        (False, "no docker here", False, 0, "1 passed, 1 skipped"),
        (True, "no docker here", False, 1, "test nodes cannot run: no docker here"),
        (True, "", True, 1, "1 test(s) marked `nodes` were skipped"),
        (False, "", True, 0, "1 passed, 1 skipped"),
        (True, "", False, 0, "2 passed"),
    ],
)
def test_required_nodes_may_not_be_skipped(
    tmp_path: Path, required: bool, fake_reason: str, skip_itself: bool, code: int, expected: str
) -> None:
    (tmp_path / "conftest.py").write_text(CHILD_CONFTEST)
    (tmp_path / "test_child.py").write_text(CHILD_TESTS)
    env = {k: v for k, v in os.environ.items() if k not in ("PYRKE_REAL_NODES", "SKIP_ON_NODES")}
    env.update(PYTHONPATH=str(TESTS), FAKE_REASON=fake_reason)
    if required:
        env["PYRKE_REAL_NODES"] = "required"
    if skip_itself:
        env["SKIP_ON_NODES"] = "1"
    pytest_args = ["-q", "-rs", "-p", "harness.fixtures", "-p", "no:cacheprovider"]
    child = subprocess.run(
        [sys.executable, "-m", "pytest", *pytest_args, "test_child.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (child.returncode, expected in child.stdout) == (code, True), child.stdout


# --- real nodes ------------------------------------------------------------------------------


@pytest.mark.nodes
def test_every_authorized_key_logs_in_with_a_pinned_host_key(
    shared_nodes: list[TestNode], test_keys: dict[str, KeyPair]
) -> None:
    node = shared_nodes[0]
    host_keys = node.host_public_keys()
    assert {"ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"} <= set(host_keys)
    for name in AUTHORIZED:
        with ssh(node, test_keys[name], host_keys=host_keys) as client:
            assert run(client, "id -un; hostname") == (0, f"root\n{node.name}")
    with (
        pytest.raises(paramiko.AuthenticationException),
        ssh(node, test_keys["unauthorized"], host_keys=host_keys),
    ):
        pass


@pytest.mark.nodes
def test_nodes_are_distinct_machines_with_their_own_dockerd(
    shared_nodes: list[TestNode], test_keys: dict[str, KeyPair]
) -> None:
    assert len({node.address for node in shared_nodes}) == 3
    host_keys = [node.host_public_keys()["ssh-ed25519"] for node in shared_nodes]
    assert len(set(host_keys)) == 3
    for node in shared_nodes:
        with ssh(node, test_keys["ed25519"]) as client:
            assert run(client, "docker info --format '{{.Driver}}'") == (0, "overlay2")
        assert node.output("ls /var/run/docker.sock") == "/var/run/docker.sock"


@pytest.mark.nodes
def test_a_booting_node_answers_ssh_late_and_its_dockerd_stops_and_starts(
    node_factory: NodeFactory,
) -> None:
    started = time.monotonic()
    (node,) = node_factory(sshd_delay=2, dockerd=False)
    with pytest.raises(TimeoutError):
        wait_ssh(node.address, timeout=0.5)
    wait_ssh(node.address, timeout=15)
    assert time.monotonic() - started >= 2
    assert node.exec("docker info", check=False).returncode != 0

    node.start_docker()
    assert node.output("docker info --format '{{.Driver}}'") == "overlay2"
    node.stop_docker()
    assert node.exec("test -e /var/run/docker.sock", check=False).returncode == 1
    assert node.exec("docker info", check=False).returncode != 0
    node.start_docker()
    assert node.output("docker info --format '{{.Driver}}'") == "overlay2"


@pytest.mark.nodes
def test_new_host_keys_break_the_pinned_ones(
    node_factory: NodeFactory, test_keys: dict[str, KeyPair]
) -> None:
    (node,) = node_factory(dockerd=False)
    old = node.host_public_keys()
    node.regenerate_host_keys()
    new = node.host_public_keys()
    assert set(new) == set(old)
    assert all(new[kind] != old[kind] for kind in old)
    with (
        pytest.raises(paramiko.BadHostKeyException),
        ssh(node, test_keys["ed25519"], host_keys=old),
    ):
        pass
    with ssh(node, test_keys["ed25519"], host_keys=new) as client:
        assert run(client, "true") == (0, "")


@pytest.mark.nodes
def test_users_a_user_ca_and_the_sshd_log(
    node_factory: NodeFactory, test_keys: dict[str, KeyPair]
) -> None:
    (node,) = node_factory()
    node.add_user("deploy", docker_group=True, authorized_keys=[test_keys["ecdsa_pem"].public_text])
    node.add_user("plain", docker_group=False, authorized_keys=[test_keys["ed25519"].public_text])
    accepted = node.sshd_log().count("Accepted publickey")
    with ssh(node, test_keys["ecdsa_pem"], user="deploy") as client:
        assert run(client, "docker info --format '{{.Driver}}'") == (0, "overlay2")
    with ssh(node, test_keys["ed25519"], user="plain") as client:
        status, _ = run(client, "docker info")
        assert status != 0  # not in group docker: the socket is root:docker 0660
    assert node.sshd_log().count("Accepted publickey") == accepted + 2

    cert = sign_user_cert(test_keys["user_ca"], test_keys["unauthorized"], "root")
    with (
        pytest.raises(paramiko.AuthenticationException),
        ssh(node, test_keys["unauthorized"], cert=cert),
    ):
        pass
    node.trust_user_ca(test_keys["user_ca"].public_text)
    with ssh(node, test_keys["unauthorized"], cert=cert) as client:
        assert run(client, "id -un") == (0, "root")
    assert any(
        "Accepted publickey for root" in line and "ED25519-CERT" in line
        for line in node.sshd_log().splitlines()
    )


def _static_elf(path: Path) -> bool:
    """True when `path` is a 64-bit little-endian ELF without a program interpreter."""
    try:
        data = path.read_bytes()
    except OSError:
        return False
    if data[:6] != b"\x7fELF\x02\x01":
        return False
    (phoff,) = struct.unpack_from("<Q", data, 0x20)
    entsize, count = struct.unpack_from("<HH", data, 0x36)
    pt_interp = 3
    return all(
        struct.unpack_from("<I", data, phoff + i * entsize)[0] != pt_interp for i in range(count)
    )


def _busybox_context() -> bytes:
    """A docker build context: FROM scratch plus the host's static busybox. USTAR, because
    `docker build -` takes a stream that starts with a PAX header for a Dockerfile."""
    dockerfile = b'FROM scratch\nCOPY busybox /bin/busybox\nENTRYPOINT ["/bin/busybox"]\n'
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
        tar.add("/bin/busybox", "busybox")
    return buffer.getvalue()


@pytest.mark.nodes
def test_rke_style_containers_run_inside_a_node(node_factory: NodeFactory) -> None:
    if not _static_elf(Path("/bin/busybox")):
        pytest.skip("needs a static /bin/busybox (apt-get install busybox-static)")
    (node,) = node_factory()
    node.exec("docker build -q -t pyrke-test/busybox -", input=_busybox_context())

    host_net = node.output("docker run --rm --net=host pyrke-test/busybox ip -4 -o addr show")
    assert f"inet {node.address}/" in host_net

    # kubelet-like: privileged, a :shared bind, a negative OOM score
    bounding = int(node.output("awk '/^CapBnd/ {print $2}' /proc/self/status"), 16)
    has_sys_resource = bool(bounding >> 24 & 1)
    score = node.output(
        "mkdir -p /var/lib/kubelet && docker run --rm --privileged --oom-score-adj=-900 "
        "-v /var/lib/kubelet:/var/lib/kubelet:shared pyrke-test/busybox cat /proc/self/oom_score_adj"
    )
    assert score == ("-900" if has_sys_resource else "0")
