"""`pyrke up` and `pyrke remove` as an RKE user runs them, on one real test node: the files RKE
left beside cluster.yml, a second up that says nothing changed, remove that asks first."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from harness import images
from harness.fixtures import NodeFactory
from harness.keys import KeyPair

pytestmark = pytest.mark.nodes


def pyrke(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pulumi_pyrke.cli.main", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )


def test_up_twice_then_remove(
    tmp_path: Path,
    node_factory: NodeFactory,
    test_keys: dict[str, KeyPair],
    system_images: dict[str, str],
) -> None:
    (node,) = node_factory(1)
    images.load(node.name, system_images.values())
    node.harden_sshd()
    config = tmp_path / "cluster.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "nodes": [
                    {
                        "address": node.address,
                        "user": "root",
                        "role": ["etcd", "controlplane", "worker"],
                        "ssh_key_path": str(test_keys["ed25519"].private_path),
                    }
                ],
                "system_images": system_images,
            }
        )
    )
    first = pyrke("up", "-c", str(config))
    assert first.returncode == 0, first.stderr
    assert "container change(s)" in first.stdout
    assert "[" in first.stderr and "ok " in first.stderr  # the progress display
    kubeconfig, state = tmp_path / "kube_config_cluster.yml", tmp_path / "cluster.rkestate"
    for secret in (kubeconfig, state):
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert "certificatesBundle" in json.loads(state.read_text())["currentState"]
    assert "PRIVATE KEY" not in first.stdout + first.stderr
    second = pyrke("up", "-c", str(config))
    assert second.returncode == 0, second.stderr
    assert "no changes" in second.stdout
    refused = pyrke("remove", "-c", str(config), stdin="n\n")
    assert refused.returncode == 1 and "nothing removed" in refused.stdout
    gone = pyrke("remove", "-c", str(config), "--force")
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert not kubeconfig.exists() and not state.exists()
    assert node.exec("docker ps -aq --filter label=io.pyrke.cluster").stdout.strip() == b""
