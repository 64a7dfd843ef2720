"""The ports' contract: the in-memory fake and the real adapter answer the same calls alike.

Every test here runs twice: against ``FakeHost`` (engine/fake.py) and against ``SSHHost`` on
a real test node (real sshd and dockerd, marked ``nodes``). A difference between the two is
a bug in the fake, and the unit tests that stand on it would lie.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from pulumi_pyrke.deadline import Deadline, Retry, wait_until
from pulumi_pyrke.engine.fake import FakeHost
from pulumi_pyrke.engine.ports import DockerHost, HostConnection, RegistryAuth
from pulumi_pyrke.errors import DockerError, TransportError
from pulumi_pyrke.model.plan import ContainerSpec, EnvVar
from pulumi_pyrke.model.secret import Secret
from pulumi_pyrke.transport import SSHTarget
from pulumi_pyrke.transport.host import open_host

IMAGE = "pyrke-test/busybox:contract"
DIR = "/tmp/pyrke-contract"
LABEL = ("io.pyrke.test", "contract")


@pytest.fixture(scope="module")
def image_tar() -> bytes:
    from harness.tiny_images import busybox_image_tar, handmade_image_tar

    try:
        return busybox_image_tar(IMAGE)
    except (RuntimeError, OSError):
        return handmade_image_tar(IMAGE)  # no Docker here: the real half is skipped anyway


def _scripted_fake() -> FakeHost:
    """A fake host that answers the few commands these tests run, as sh would."""
    fake = FakeHost(address="fake-node")
    fake.on("echo out; echo err >&2; exit 3", exit_code=3, stdout="out\n", stderr="err\n")
    fake.on("cat", lambda stdin: (0, (stdin or b"").decode(), ""))
    fake.engine.output["contract-1"] = "one\ntwo\nthree\n"
    fake.engine.exit_codes["contract-1"] = 143
    return fake


@pytest.fixture(scope="module", params=["fake", pytest.param("real", marks=pytest.mark.nodes)])
def host(request: pytest.FixtureRequest) -> Iterator[HostConnection]:
    if request.param == "fake":
        yield _scripted_fake()
        return
    node_factory = request.getfixturevalue("node_factory")
    test_keys = request.getfixturevalue("test_keys")
    (node,) = node_factory(1)
    target = SSHTarget(address=node.address, key_path=str(test_keys["ed25519"].private))
    with open_host(target, deadline=Deadline.after(60)) as real:
        yield real


@pytest.fixture(scope="module")
def engine(host: HostConnection, image_tar: bytes) -> Iterator[DockerHost]:
    docker = host.docker()
    assert docker.load_image([image_tar]) == (IMAGE,)
    yield docker
    for name in ("contract-1", "contract-1b", "contract-2", "contract-3"):
        docker.remove_container(name, force=True)


def _meta(host: HostConnection, path: str) -> tuple[int, str]:
    if isinstance(host, FakeHost):
        found = host.files[path]
        return found.mode, found.owner
    mode, owner = host.run(f"stat -c '%a %U:%G' {path}").stdout.split()
    return int(mode, 8), owner


def _leftovers(host: HostConnection, directory: str) -> list[str]:
    if isinstance(host, FakeHost):
        return []  # the fake writes in one step
    listing = host.run(f"ls -A {directory}").stdout.split()
    return [name for name in listing if ".pyrke-" in name]


# -- shell ------------------------------------------------------------------------------------


def test_run_keeps_exit_code_stdout_and_stderr_apart(host: HostConnection) -> None:
    result = host.run("echo out; echo err >&2; exit 3")
    assert (result.exit_code, result.stdout, result.stderr, result.ok) == (
        3,
        "out\n",
        "err\n",
        False,
    )
    assert result.command == "echo out; echo err >&2; exit 3"


def test_run_feeds_stdin(host: HostConnection) -> None:
    big = os.urandom(3 * 2**20).hex()  # 6 MB back and forth: more than any SSH window
    assert host.run("cat", stdin=big.encode()).stdout == big


def test_an_unknown_command_exits_127(host: HostConnection) -> None:
    result = host.run("no-such-command-pyrke")
    assert result.exit_code == 127 and "not found" in result.stderr


# -- files ------------------------------------------------------------------------------------


def test_put_then_read_with_mode_owner_and_parent_directories(host: HostConnection) -> None:
    path = f"{DIR}/a/b/kube-ca.pem"
    host.put_file(path, b"certificate\n", mode=0o644, owner="nobody:nogroup")
    assert host.read_file(path) == b"certificate\n"
    assert _meta(host, path) == (0o644, "nobody:nogroup")
    host.put_file(path, b"replaced\n")  # the default: 0600, owned by the login user
    assert host.read_file(path) == b"replaced\n"
    assert _meta(host, path) == (0o600, "root:root")
    assert _leftovers(host, f"{DIR}/a/b") == []


def test_a_file_over_a_megabyte(host: HostConnection) -> None:
    data = os.urandom(3 * 2**20 + 7)
    host.put_file(f"{DIR}/big.bin", data, mode=0o600)
    read = host.read_file(f"{DIR}/big.bin", max_bytes=len(data))
    assert read is not None and hashlib.sha256(read).digest() == hashlib.sha256(data).digest()
    with pytest.raises(TransportError) as info:
        host.read_file(f"{DIR}/big.bin", max_bytes=len(data) - 1)
    assert f"{DIR}/big.bin is larger than {len(data) - 1} bytes" in str(info.value)


def test_a_missing_file_reads_as_none_and_bad_paths_are_refused(host: HostConnection) -> None:
    assert host.read_file(f"{DIR}/no/such/file") is None
    for bad in ("relative/path", f"{DIR}/dir/"):
        with pytest.raises(TransportError) as info:
            host.put_file(bad, b"x")
        assert "is not an absolute file path" in str(info.value)


def test_a_failed_write_leaves_the_old_file_and_no_part(host: HostConnection) -> None:
    path = f"{DIR}/keep.conf"
    host.put_file(path, b"old\n")
    with pytest.raises(TransportError) as info:
        host.put_file(path, b"new\n", owner="no-such-user-pyrke")
    assert f"cannot write {path}" in str(info.value)
    assert host.read_file(path) == b"old\n"
    assert _leftovers(host, DIR) == []


# -- containers and images --------------------------------------------------------------------

SPEC = ContainerSpec(
    name="contract-1",
    plane="worker",
    image=IMAGE,
    # stdout and stderr reach the log through separate pipes: the sleep keeps their order
    args=("sh", "-c", "echo one; sleep 1; echo two >&2; sleep 1; echo three; exec sleep 600"),
    env=(EnvVar(name="MODE", value="test"), EnvVar(name="TOKEN", value=Secret("s3cret"))),
    binds=(f"{DIR}:/data:ro",),
    network_mode="host",
    pid_mode="host",
    privileged=True,
    restart_policy="always",
    labels=(LABEL, ("io.pyrke.plane", "worker")),
)


def test_create_inspect_start_logs_rename_stop_remove(engine: DockerHost) -> None:
    assert engine.inspect_container("contract-1") is None
    container_id = engine.create_container(SPEC)
    state = engine.inspect_container("contract-1")
    assert state is not None and state.id == container_id
    assert (state.name, state.image, state.status, state.running, state.started_at) == (
        "contract-1",
        IMAGE,
        "created",
        False,
        "",
    )
    assert state.image_id.startswith("sha256:")
    assert state.entrypoint == ("/bin/busybox",)  # the image's own, as none was given
    assert state.args == SPEC.args
    assert state.env[:2] == ("MODE=test", "TOKEN=s3cret")  # then the image's own
    assert "s3cret" not in repr(state)
    assert state.binds == SPEC.binds
    assert state.labels == tuple(sorted(SPEC.labels))
    assert (state.network_mode, state.pid_mode, state.privileged, state.restart_policy) == (
        "host",
        "host",
        True,
        "always",
    )

    engine.start_container("contract-1")
    engine.start_container("contract-1")  # already running: no change
    state = engine.inspect_container("contract-1")
    assert state is not None and state.running and state.status == "running" and state.started_at

    def three_lines() -> str:
        logs = engine.container_logs("contract-1", tail=2)
        if "three" not in logs:
            raise Retry(f"logs so far: {logs!r}")
        return logs

    assert wait_until(three_lines, Deadline.after(20), what="logs") == "two\nthree\n"

    listed = engine.list_containers(labels=dict([LABEL]))
    assert [(c.name, c.image, c.state) for c in listed] == [("contract-1", IMAGE, "running")]
    assert engine.list_containers(labels={"io.pyrke.test": "other"}) == ()

    with pytest.raises(DockerError) as running:
        engine.remove_container("contract-1")
    assert "cannot remove container contract-1" in str(running.value)

    engine.rename_container("contract-1", "contract-1b")
    assert engine.inspect_container("contract-1") is None
    engine.stop_container("contract-1b", timeout=1)
    engine.stop_container("contract-1b", timeout=1)  # already stopped: no change
    stopped = engine.inspect_container("contract-1b")
    assert stopped is not None and not stopped.running and stopped.status == "exited"
    assert stopped.exit_code == 143  # sleep (not PID 1: --pid=host) ended by SIGTERM
    assert engine.remove_container("contract-1b") is True
    assert engine.remove_container("contract-1b") is False


def test_volumes_from_and_a_plain_spec(engine: DockerHost) -> None:
    engine.create_container(
        ContainerSpec(name="contract-2", plane="worker", image=IMAGE, args=("true",))
    )
    engine.create_container(
        ContainerSpec(
            name="contract-3",
            plane="worker",
            image=IMAGE,
            args=("true",),
            network_mode="",
            restart_policy="",
            volumes_from=("contract-2",),
        )
    )
    plain = engine.inspect_container("contract-3")
    assert plain is not None
    assert plain.volumes_from == ("contract-2",)
    assert (plain.network_mode, plain.pid_mode, plain.privileged, plain.binds) == (
        "default",
        "",
        False,
        (),
    )
    assert plain.restart_policy == ""


def test_refusals_name_the_host_the_container_and_what_to_do(
    engine: DockerHost, host: HostConnection
) -> None:
    engine.create_container(
        ContainerSpec(name="contract-2b", plane="worker", image=IMAGE, args=("true",))
    )
    try:
        with pytest.raises(DockerError) as taken:
            engine.create_container(
                ContainerSpec(name="contract-2b", plane="worker", image=IMAGE, args=("true",))
            )
        text = str(taken.value)
        assert text.startswith(f"[docker] host {host.info.address}: cannot create container")
        assert "run again" in text
    finally:
        engine.remove_container("contract-2b", force=True)
    with pytest.raises(DockerError) as missing:
        engine.create_container(
            ContainerSpec(name="contract-4", plane="worker", image="pyrke-test/none:1")
        )
    assert "cannot create container contract-4" in str(missing.value)
    for call in (
        lambda: engine.start_container("no-such-pyrke"),
        lambda: engine.rename_container("no-such-pyrke", "x"),
        lambda: engine.container_logs("no-such-pyrke"),
    ):
        with pytest.raises(DockerError) as absent:
            call()
        assert "no-such-pyrke" in str(absent.value)


def test_images_loaded_with_progress_and_a_failed_pull_keeps_its_secret(
    engine: DockerHost, image_tar: bytes, host: HostConnection
) -> None:
    seen: list[int] = []
    chunks = [image_tar[i : i + 65536] for i in range(0, len(image_tar), 65536)]
    assert engine.load_image(chunks, progress=seen.append) == (IMAGE,)
    assert seen[-1] == len(image_tar) and seen == sorted(seen) and len(seen) == len(chunks)
    assert engine.has_image(IMAGE)
    assert not engine.has_image("pyrke-test/none:1")
    auth = RegistryAuth(server="127.0.0.1:5999", username="ci", password=Secret("hunter2-pw"))
    with pytest.raises(DockerError) as info:
        engine.pull_image("127.0.0.1:5999/pyrke/none:1", auth=auth)
    text = str(info.value)
    assert text.startswith(f"[docker] host {host.info.address}: cannot pull image 127.0.0.1:5999")
    assert "hunter2-pw" not in text and "hunter2-pw" not in repr(info.value)
    assert "hunter2-pw" not in repr(auth)


def test_engine_says_what_it_is(engine: DockerHost) -> None:
    assert engine.engine_version["ApiVersion"]
    assert engine.engine_info()["DockerRootDir"] == "/var/lib/docker"


# -- the real adapter only: what a fake cannot show -------------------------------------------


def _logins(node: Any) -> int:
    return len(re.findall(r"Accepted (publickey|certificate)", node.sshd_log()))


@pytest.fixture(scope="module")
def real_node(node_factory: Any, test_keys: dict[str, Any]) -> tuple[Any, SSHTarget]:
    (node,) = node_factory(1)
    return node, SSHTarget(address=node.address, key_path=str(test_keys["ed25519"].private))


@pytest.mark.nodes
def test_every_port_on_one_ssh_login(real_node: tuple[Any, SSHTarget], image_tar: bytes) -> None:
    node, target = real_node
    before = _logins(node)
    with open_host(target, deadline=Deadline.after(60)) as real:
        assert real.run("hostname").stdout.strip() == node.name
        real.put_file(f"{DIR}/one-login", b"x" * (2 * 2**20))
        assert real.read_file(f"{DIR}/one-login") == b"x" * (2 * 2**20)
        engine = real.docker()
        assert engine.load_image([image_tar]) == (IMAGE,)
        engine.create_container(
            ContainerSpec(name="one-login", plane="worker", image=IMAGE, args=("echo", "hi"))
        )
        engine.start_container("one-login")
        for _ in range(20):
            assert engine.inspect_container("one-login") is not None
        engine.remove_container("one-login", force=True)
        second = real.docker()  # another Engine handle: more channels, not another login
        assert second.engine_info()["Name"] == node.name
        assert real.info.ssh_connections == 1
    assert _logins(node) - before == 1


@pytest.mark.nodes
def test_a_reader_sees_the_old_file_or_the_new_never_a_part(
    real_node: tuple[Any, SSHTarget],
) -> None:
    node, target = real_node
    path = f"{DIR}/atomic.bin"
    versions = [bytes([n]) * (2**20) for n in (1, 2)]
    digests = {hashlib.md5(v).hexdigest() for v in versions}
    with open_host(target, deadline=Deadline.after(60)) as real:
        real.put_file(path, versions[0])
        reader = subprocess.Popen(
            [
                "docker",
                "exec",
                node.name,
                "sh",
                "-c",
                f"for i in $(seq 300); do md5sum < {path}; done",
            ],
            stdout=subprocess.PIPE,
        )
        try:
            for n in range(10):
                real.put_file(path, versions[n % 2])
        finally:
            out, _ = reader.communicate(timeout=120)
    seen = {line.split()[0] for line in out.decode().splitlines()}
    assert seen and seen <= digests, f"a reader saw a partial file: {seen - digests}"
