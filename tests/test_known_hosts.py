"""pyrke's known_hosts store: OpenSSH's line format, first contact records, nothing overwritten."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

from pulumi_pyrke.transport.known_hosts import KnownHosts, host_entry_name


def test_record_save_load_round_trip(tmp_path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "hk")], check=True
    )
    key = " ".join((tmp_path / "hk.pub").read_text().split()[:2])
    path = tmp_path / "cluster.known_hosts"
    store = KnownHosts.load(path)  # a missing file is an empty store
    assert store.get("10.0.0.5", 22) is None
    assert store.record("10.0.0.5", 22, key) is True
    assert store.record("10.0.0.5", 22, "ssh-ed25519 OTHER") is False  # first key stays
    assert store.record("10.0.0.6", 2222, key) is True
    store.save()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == f"10.0.0.5 {key}\n[10.0.0.6]:2222 {key}\n"
    again = KnownHosts.load(path)
    assert again.get("10.0.0.5", 22) == key and again.get("10.0.0.6", 2222) == key
    assert again.get("10.0.0.6", 22) is None


def test_malformed_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "kh"
    path.write_text("# comment\n10.0.0.5 ssh-ed25519 !!!\nonly-two fields\n")
    assert KnownHosts.load(path).keys == {}


def test_entry_names_follow_openssh() -> None:
    assert host_entry_name("h", 22) == "h"
    assert host_entry_name("h", 2200) == "[h]:2200"
