"""`pyrke images list` from the plan alone, the archive source that sends only the images a host
lacks, and the per-host loading through the ports against the in-memory fake."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Sequence
from pathlib import Path

import pytest
import yaml

from pulumi_pyrke.cli.images import Archive, normalize
from pulumi_pyrke.cli.main import main
from pulumi_pyrke.engine.converge import ApplyError
from pulumi_pyrke.engine.fake import FakeDocker, FakeHost
from pulumi_pyrke.engine.images import (
    ImageStream,
    cluster_images,
    host_images,
    load_host_images,
    load_images,
)
from pulumi_pyrke.engine.ports import HostConnection
from pulumi_pyrke.model import parse_cluster_config
from pulumi_pyrke.plan import plan_cluster

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "cluster.yml"
IMAGES = {
    "etcd": "reg.example/etcd:1",
    "kubernetes": "reg.example/kube:1",
    "alpine": "reg.example/tools:1",
    "cert_downloader": "reg.example/tools:1",
    "kubernetes_services_sidecar": "reg.example/tools:1",
    "nginx_proxy": "reg.example/tools:1",
    "pod_infra_container": "reg.example/pause:1",
}


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "cluster.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "nodes": [
                    {
                        "address": "10.0.0.5",
                        "user": "root",
                        "role": ["etcd", "controlplane", "worker"],
                    },
                    {"address": "10.0.0.6", "user": "root", "role": ["worker"]},
                ],
                "system_images": IMAGES,
            }
        )
    )
    return path


def test_list_prints_every_image_sorted_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["images", "list", "-c", str(_config(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == sorted(set(IMAGES.values()))  # pause: kubelet's sandbox image


def test_list_of_the_example_contacts_no_host(capsys: pytest.CaptureFixture[str]) -> None:
    # the example's addresses are documentation addresses: any connection attempt would hang
    assert main(["images", "list", "-c", str(EXAMPLE)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == sorted(set(lines)) and any("rke-tools" in line for line in lines)


def test_a_worker_needs_no_etcd_image(tmp_path: Path) -> None:
    plan = plan_cluster(parse_cluster_config(yaml.safe_load(_config(tmp_path).read_text())).config)
    worker = next(h for h in plan.nodes if h.address == "10.0.0.6")
    assert "reg.example/etcd:1" not in host_images(worker, plan.tools_image)
    assert set(host_images(worker, plan.tools_image)) < set(cluster_images(plan))


def test_normalize_as_docker_save_tags() -> None:
    assert normalize("busybox") == "busybox:latest"
    assert normalize("docker.io/library/busybox:1") == "busybox:1"
    assert normalize("docker.io/rancher/rke-tools:v1") == "rancher/rke-tools:v1"
    assert normalize("reg:5000/a/b") == "reg:5000/a/b:latest"


# -- the archive source ----------------------------------------------------------------------


def _add(tar: tarfile.TarFile, name: str, data: bytes = b"", *, link: str = "") -> None:
    info = tarfile.TarInfo(name)
    if link:
        info.type, info.linkname = tarfile.SYMTYPE, link
    else:
        info.size = len(data)
    tar.addfile(info, io.BytesIO(data) if not link else None)


def _archive(path: Path) -> Path:
    """Three images as `docker save` writes them (legacy layout); b's layer links to a's."""
    manifest = [
        {"Config": f"{c}.json", "RepoTags": [tag], "Layers": [f"{c}0/layer.tar"]}
        for c, tag in (("aa", "x/a:1"), ("bb", "x/b:1"), ("cc", "x/c:1"))
    ]
    with tarfile.open(path, "w") as tar:
        for c in ("aa", "bb", "cc"):
            _add(tar, f"{c}.json", json.dumps({"config": {"Cmd": [c]}}).encode())
            _add(tar, f"{c}0/json", b"{}")
        _add(tar, "aa0/layer.tar", b"A" * 3000)
        _add(tar, "bb0/layer.tar", link="../aa0/layer.tar")
        _add(tar, "cc0/layer.tar", b"C" * 70000)
        _add(tar, "manifest.json", json.dumps(manifest).encode())
    return path


def test_archive_sends_only_the_images_asked_for(tmp_path: Path) -> None:
    archive = Archive(_archive(tmp_path / "all.tar"))
    assert archive.lacking(["x/a:1", "x/z:1"]) == ("x/z:1",)
    stream = archive.stream(["x/b:1"])
    data = b"".join(stream.chunks)
    assert stream.size == len(data)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        names = set(tar.getnames())
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        layer = tar.extractfile("aa0/layer.tar").read()  # type: ignore[union-attr]
    assert names == {"bb.json", "bb0/layer.tar", "aa0/layer.tar", "manifest.json"}
    assert layer == b"A" * 3000  # the symlink's target travels with it
    assert [e["RepoTags"] for e in manifest] == [["x/b:1"]]
    engine = FakeDocker()
    assert engine.load_image([data]) == ("x/b:1",)


def test_a_compressed_archive_is_sent_whole(tmp_path: Path) -> None:
    plain = _archive(tmp_path / "all.tar")
    gz = tmp_path / "all.tar.gz"
    with tarfile.open(gz, "w:gz") as out, tarfile.open(plain) as src:
        for member in src.getmembers():
            out.addfile(member, src.extractfile(member) if member.isfile() else None)
    archive = Archive(gz)
    assert not archive.subsets and archive.lacking(["x/c:1"]) == ()
    assert b"".join(archive.stream(["x/c:1"]).chunks) == gz.read_bytes()


def test_not_an_archive_says_how_to_make_one(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tar"
    bad.write_bytes(b"not a tar")
    with pytest.raises(ApplyError, match=r"\[images\] archive .*docker save -o"):
        Archive(bad)


# -- per host, through the ports -------------------------------------------------------------


class _Source:
    """Images from memory, counting what it was asked to stream."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self.streamed: list[tuple[str, ...]] = []

    def describe(self) -> str:
        return "memory"

    def remedy(self, images: Sequence[str]) -> str:
        return "Add them."

    def lacking(self, images: Sequence[str]) -> tuple[str, ...]:
        return self.archive.lacking(images)

    def stream(self, images: Sequence[str]) -> ImageStream:
        self.streamed.append(tuple(images))
        return self.archive.stream(images)


def test_a_host_gets_only_what_it_lacks_then_nothing(tmp_path: Path) -> None:
    source = _Source(Archive(_archive(tmp_path / "all.tar")))
    engine = FakeDocker(host="10.0.0.5", images={"x/a:1": "sha256:aa"})
    said: list[str] = []
    first = load_host_images(engine, "10.0.0.5", ["x/a:1", "x/c:1"], source, said.append)
    assert first.loaded == ("x/c:1",) and first.bytes_sent > 70000
    assert source.streamed == [("x/c:1",)] and any("sending 1 image" in s for s in said)
    again = load_host_images(engine, "10.0.0.5", ["x/a:1", "x/c:1"], source, said.append)
    assert again.loaded == () and again.bytes_sent == 0 and len(source.streamed) == 1
    assert str(again) == "10.0.0.5: has all 2 images, nothing sent"


def test_an_image_nowhere_names_host_and_image(tmp_path: Path) -> None:
    source = _Source(Archive(_archive(tmp_path / "all.tar")))
    with pytest.raises(ApplyError) as raised:
        load_host_images(FakeDocker(), "10.0.0.7", ["x/a:1", "x/z:9"], source, lambda _: None)
    assert str(raised.value) == (
        "[images] host 10.0.0.7: image x/z:9 is not on the host and not in memory. Add them."
    )
    assert source.streamed == []  # nothing sent when one image cannot be


def test_load_images_reports_every_host(tmp_path: Path) -> None:
    config = parse_cluster_config(
        {
            "nodes": [
                {"address": "10.0.0.5", "user": "root", "role": ["etcd", "controlplane", "worker"]},
                {"address": "10.0.0.6", "user": "root", "role": ["worker"]},
            ],
            "system_images": {k: "x/a:1" for k in IMAGES},
        }
    ).config
    plan = plan_cluster(config)
    hosts = {a: FakeHost(address=a) for a in ("10.0.0.5", "10.0.0.6")}
    hosts["10.0.0.6"].engine.images["x/a:1"] = "sha256:aa"
    conns: dict[str, HostConnection] = dict(hosts)
    report = load_images(plan, conns, _Source(Archive(_archive(tmp_path / "all.tar"))))
    assert report.complete
    assert [(load.host, load.loaded) for load in report.loads] == [
        ("10.0.0.5", ("x/a:1",)),
        ("10.0.0.6", ()),
    ]
    assert report.summary().startswith("images: 1 of 2 hosts needed images")
