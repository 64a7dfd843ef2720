"""Bounded reads of user-named files: regular files only, a size cap, UTF-8 or a clear error,
and no FIFO ever blocks."""

from __future__ import annotations

import json
import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from pulumi_pyrke import files
from pulumi_pyrke.cli.main import main
from pulumi_pyrke.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "cluster.yml"


@pytest.fixture(autouse=True)
def _no_hang() -> Iterator[None]:
    """A read that blocks fails the test after 10 s instead of hanging the suite."""

    def fail(signum: int, frame: object) -> None:
        raise TimeoutError("a read blocked")

    old = signal.signal(signal.SIGALRM, fail)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def _refusal(path: str, **kwargs: int) -> str:
    with pytest.raises(ConfigError) as info:
        files.read_text(path, field="--config", **kwargs)
    (problem,) = info.value.problems
    return str(problem)


def test_devices_directories_fifos_and_sockets_are_refused(tmp_path: Path) -> None:
    assert _refusal("/dev/zero") == "--config: /dev/zero is a device, not a regular file"
    assert _refusal(str(tmp_path)).endswith("is a directory, not a regular file")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert _refusal(str(fifo)).endswith("is a FIFO, not a regular file")
    sock_path = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(sock_path))
        assert _refusal(str(sock_path)).endswith("is a socket, not a regular file")
    link = tmp_path / "link"
    link.symlink_to("/dev/zero")
    assert _refusal(str(link)).endswith("is a device, not a regular file")


def test_missing_and_unreadable_files_say_why(tmp_path: Path) -> None:
    assert _refusal(str(tmp_path / "absent")).endswith("No such file or directory")


def test_size_cap(tmp_path: Path) -> None:
    big = tmp_path / "big.yml"
    big.write_bytes(b"#" * 2048)
    assert _refusal(str(big), max_bytes=1024).endswith("is 2 kB, over the 1 kB limit")
    assert files.read_text(str(big), field="x", max_bytes=2048) == "#" * 2048


def test_bad_bytes_name_the_line_never_the_content(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_bytes(b"cluster_name: ok\npassword: s3cr3t\xff\xfe\n")
    message = _refusal(str(bad))
    assert message == f"--config: {bad} is not UTF-8 text (byte 34, line 2); save it as UTF-8"
    assert "s3cr3t" not in message


def test_home_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "k").write_text("x")
    assert files.read_text("~/k", field="f") == "x"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_refuses_dev_zero_and_a_fifo_for_every_file_option(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "validate", "-c", "/dev/zero")
    assert code == 2 and err == "pyrke: --config: /dev/zero is a device, not a regular file\n"
    fifo = tmp_path / "facts.fifo"
    os.mkfifo(fifo)
    code, _, err = run(capsys, "plan", "-c", str(EXAMPLE), "--facts", str(fifo))
    assert code == 2 and err.startswith(f"pyrke: --facts: {fifo} is a FIFO")
    code, _, err = run(capsys, "plan", "-c", str(EXAMPLE), "--state", "/dev/zero")
    assert code == 2 and "--state: /dev/zero is a device" in err


def test_cli_size_limit_can_be_raised(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    big = tmp_path / "cluster.yml"
    big.write_text(EXAMPLE.read_text() + "#" * (2 * 1024 * 1024))
    code, _, err = run(capsys, "validate", "-c", str(big), "--max-input-mb", "1")
    assert code == 2 and "over the 1 MB limit" in err
    assert run(capsys, "validate", "-c", str(big), "--max-input-mb", "3")[0] == 0


def test_cli_non_utf8_cluster_yml(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "cluster.yml"
    bad.write_bytes(EXAMPLE.read_bytes() + b"\ncluster_name: \xff\n")
    code, _, err = run(capsys, "validate", "-c", str(bad))
    assert code == 2 and "is not UTF-8 text" in err


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ([1, 2], "facts: must map node addresses to facts"),
        ({"10.0.0.11": 5}, "facts[10.0.0.11]: must be a mapping of facts"),
        ({"10.0.0.11": {"cpus": "four"}}, "facts[10.0.0.11].cpus: must be a whole number"),
        ({"10.0.0.11": {"cpus": True}}, "facts[10.0.0.11].cpus: must be a whole number"),
        ({"10.0.0.11": {"os": 7}}, "facts[10.0.0.11].os: must be a string"),
        ({"10.0.0.11": {"containers": {}}}, "facts[10.0.0.11].containers: must be a list"),
        (
            {"10.0.0.11": {"containers": [{"image": "x"}]}},
            "facts[10.0.0.11].containers[0]: must be a mapping with a name",
        ),
        (
            {"10.0.0.11": {"containers": [{"name": "x", "labels": [1]}]}},
            "facts[10.0.0.11].containers[0]: image, state and labels must hold strings",
        ),
    ],
)
def test_facts_files_are_checked_against_their_shape(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, facts: object, expected: str
) -> None:
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(facts))
    code, out, err = run(capsys, "plan", "-c", str(EXAMPLE), "--facts", str(path))
    assert code == 1 and err.startswith(f"{path}: ")
    assert out.startswith(expected), out


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ([], "state: must be a JSON object"),
        ({"currentState": []}, "state.currentState: must be a JSON object"),
        (
            {"currentState": {"rkeConfig": {"nodes": 3}}},
            "state.currentState.rkeConfig.nodes: must be a list",
        ),
        ({"etcd_members": "10.0.0.1"}, "state.etcd_members: must be a list of addresses"),
        ({"encryption_key": 5}, "state.encryption_key: must be a string"),
        ({"currentState": {"certificatesBundle": 4}}, "state: [certificates] RKE state"),
    ],
)
def test_state_files_are_checked_against_their_shape(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, state: object, expected: str
) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps(state))
    code, out, err = run(capsys, "plan", "-c", str(EXAMPLE), "--state", str(path))
    assert code == 1 and err.startswith(f"{path}: "), err
    assert out.startswith(expected), out


@pytest.mark.parametrize("text", ["{not json", "[" * 100_000, "NaN", "1" * 5000])
def test_malformed_json_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str
) -> None:
    path = tmp_path / "facts.json"
    path.write_text(text)
    code, _, err = run(capsys, "plan", "-c", str(EXAMPLE), "--facts", str(path))
    assert code == 2 and err.startswith(f"pyrke: --facts: {path} is "), err
