"""`pyrke images load` on two fresh real test nodes: every image the cluster needs arrives over
one SSH login per host, a second load sends nothing, a `docker save` archive sends only what a
host lacks, and an image found nowhere is named with its host."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from harness.fixtures import NodeFactory
from harness.keys import KeyPair
from harness.nodes import TestNode

pytestmark = pytest.mark.nodes
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Site:
    nodes: list[TestNode]
    key: Path
    images: dict[str, str]
    tmp: Path

    def config(self, **images: str) -> Path:
        path = self.tmp / "cluster.yml"
        path.write_text(
            yaml.safe_dump(
                {
                    "nodes": [
                        {
                            "address": node.address,
                            "user": "root",
                            "role": roles,
                            "ssh_key_path": str(self.key),
                        }
                        for node, roles in zip(
                            self.nodes,
                            (["etcd", "controlplane", "worker"], ["worker"]),
                            strict=True,
                        )
                    ],
                    "system_images": {**self.images, **images},
                }
            )
        )
        return path


def pyrke(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pulumi_pyrke.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def logins(node: TestNode) -> int:
    return len(re.findall(r"Accepted (publickey|certificate)", node.sshd_log()))


def node_images(node: TestNode) -> set[str]:
    out = node.output("docker image ls --format '{{.Repository}}:{{.Tag}}'")
    return set(out.split())


@pytest.fixture(scope="module")
def site(
    node_factory: NodeFactory,
    test_keys: dict[str, KeyPair],
    system_images: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Site]:
    nodes = node_factory(2)
    yield Site(
        nodes=nodes,
        key=test_keys["ed25519"].private_path,
        images=system_images,
        tmp=tmp_path_factory.mktemp("images"),
    )


def test_load_into_fresh_nodes_then_a_second_load_sends_nothing(site: Site) -> None:
    config = site.config()
    listed = pyrke("images", "list", "-c", str(config))
    assert listed.returncode == 0, listed.stderr
    wanted = set(listed.stdout.split())
    assert wanted == set(site.images.values())
    worker_wanted = wanted - {site.images["etcd"]}  # a worker runs no etcd
    before = [logins(n) for n in site.nodes]
    first = pyrke("images", "load", "-c", str(config))
    assert first.returncode == 0, first.stdout + first.stderr
    assert "MB sent" in first.stderr  # the progress display, per host
    assert "images: 2 of 2 hosts needed images" in first.stdout
    cp, worker = site.nodes
    assert wanted <= node_images(cp)
    assert worker_wanted <= node_images(worker) and site.images["etcd"] not in node_images(worker)
    assert [logins(n) - b for n, b in zip(site.nodes, before, strict=True)] == [1, 1]

    again = pyrke("images", "load", "-c", str(config))
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.count("nothing sent") == 2, again.stdout
    assert "0.0 MB sent" in again.stdout


def test_an_archive_sends_only_what_a_host_lacks(site: Site) -> None:
    config = site.config()
    archive = site.tmp / "all.tar"
    every = sorted(set(site.images.values()))
    subprocess.run(["docker", "save", "-o", str(archive), *every], check=True)
    cp, worker = site.nodes
    pause = site.images["pod_infra_container"]
    cp.exec(f"docker rmi {pause}")
    loaded = pyrke("images", "load", "-c", str(config), "--archive", str(archive))
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert f"{cp.address}: loaded 1 of" in loaded.stdout and pause in loaded.stdout
    assert f"{worker.address}: has all" in loaded.stdout
    sent = float(re.search(r"([\d.]+) MB sent", loaded.stdout.splitlines()[-1]).group(1))  # type: ignore[union-attr]
    assert sent < archive.stat().st_size / 2**20 / 4  # the pause image, not the whole archive
    assert pause in node_images(cp)


def test_an_image_found_nowhere_is_named_with_its_host(site: Site) -> None:
    config = site.config(pod_infra_container="pyrke-test/absent:1")
    failed = pyrke("images", "load", "-c", str(config))
    assert failed.returncode == 1
    for node in site.nodes:
        assert (
            f"[images] host {node.address}: image pyrke-test/absent:1 is not on the host and "
            "not in the local Docker Engine. Pull or build it on this machine"
        ) in failed.stderr
    archive = site.tmp / "all.tar"
    if archive.exists():
        from_archive = pyrke("images", "load", "-c", str(config), "--archive", str(archive))
        assert from_archive.returncode == 1
        assert f"not in archive {archive}" in from_archive.stderr
        assert "docker save -o FILE.tar $(pyrke images list" in from_archive.stderr
