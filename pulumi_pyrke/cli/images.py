"""`pyrke images list` and `pyrke images load`: the images a cluster needs, and those each host
lacks streamed to it over its one SSH connection, for hosts that cannot reach a registry.

The image sources live here because they touch this machine: the local Docker Engine through
the docker CLI (`docker save` of several images is one stream with shared layers once, which
the SDK offers only through a private call; the CLI also honours the user's docker context),
and a `docker save` archive, of which only the images a host lacks are sent.
"""

from __future__ import annotations

import argparse
import json
import posixpath
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from pulumi_pyrke.cli.up import Progress, connect_nodes
from pulumi_pyrke.engine.cluster import close_all
from pulumi_pyrke.engine.converge import ApplyError
from pulumi_pyrke.engine.images import ImageStream, cluster_images, load_images
from pulumi_pyrke.errors import PyrkeError
from pulumi_pyrke.model.load import LoadedConfig
from pulumi_pyrke.plan import plan_cluster

CHUNK = 2**20
BLOCK = 512


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    *,
    megabytes: Callable[[str], float] = float,
    size_help: str = "largest cluster.yml read, in MB (default: %(default)s)",
) -> None:
    """The `images` subcommand and its `list` and `load`; ``megabytes`` parses
    `--max-input-mb` as the other commands do."""
    config_help = "cluster.yml path (default: %(default)s)"
    images = sub.add_parser("images", help="the images a cluster needs; copy them to hosts")
    verbs = images.add_subparsers(dest="images_command", required=True, metavar="VERB")
    listing = verbs.add_parser(
        "list", help="print every image the cluster needs, one a line (contacts no host)"
    )
    listing.add_argument("-c", "--config", default="cluster.yml", help=config_help)
    listing.add_argument("--max-input-mb", type=megabytes, default=16, help=size_help)
    load = verbs.add_parser(
        "load", help="stream to each host the images it lacks, over SSH, all hosts at once"
    )
    load.add_argument("-c", "--config", default="cluster.yml", help=config_help)
    load.add_argument("--max-input-mb", type=megabytes, default=16, help=size_help)
    load.add_argument(
        "--archive",
        help="a `docker save` archive to take the images from (default: the local Docker Engine)",
    )
    load.add_argument(
        "--parallel", type=int, default=20, help="hosts at once (default: %(default)s)"
    )
    load.add_argument("--timeout", type=float, default=1800.0, help="seconds per host")


def run_images(args: argparse.Namespace, loaded: LoadedConfig) -> int:
    """`pyrke images list|load`."""
    config = loaded.config
    plan = plan_cluster(config)
    if args.images_command == "list":
        sys.stdout.write("".join(f"{image}\n" for image in cluster_images(plan)))
        return 0

    source: LocalEngine | Archive = Archive(Path(args.archive)) if args.archive else LocalEngine()
    show = Progress(sys.stderr)
    if isinstance(source, Archive) and not source.subsets:
        show.say(f"{source.describe()} is compressed: each host that lacks an image gets all of it")
    hosts, _ = connect_nodes(config, args.config, parallel=args.parallel, timeout=60.0, show=show)
    try:
        report = load_images(
            plan,
            hosts,
            source,
            docker_sockets={n.address: n.docker_socket for n in config.nodes},
            parallel=args.parallel,
            timeout=args.timeout,
            on_event=show,
        )
    finally:
        close_all(hosts)
    for load in report.loads:
        print(load)
    for _, error in report.errors:
        print(error, file=sys.stderr)
    print(report.summary())
    return 0 if report.complete else 1


class LocalEngine:
    """Images from this machine's Docker Engine, through the docker CLI."""

    def __init__(self, docker: str = "docker") -> None:
        self.docker = docker
        self._sizes: dict[str, int | None] = {}  # image -> bytes, None when not there
        self._lock = threading.Lock()

    def describe(self) -> str:
        return "the local Docker Engine"

    def remedy(self, images: Sequence[str]) -> str:
        return (
            f"Pull or build {'it' if len(images) == 1 else 'them'} on this machine "
            f"(docker pull {images[0]}), or give a `docker save` archive that holds "
            f"{'it' if len(images) == 1 else 'them'}: pyrke images load --archive FILE.tar"
        )

    def lacking(self, images: Sequence[str]) -> tuple[str, ...]:
        return tuple(image for image in images if self._size(image) is None)

    def _size(self, image: str) -> int | None:
        with self._lock:
            if image in self._sizes:
                return self._sizes[image]
        found = self._cli("image", "inspect", "--format", "{{.Size}}", image, check=False)
        if found.returncode == 0:
            size: int | None = int(found.stdout.strip() or 0)
        elif "no such image" in found.stderr.lower():
            size = None
        else:
            raise ApplyError(
                f"[images] the local Docker Engine cannot be asked for {image}: "
                f"{_first_line(found.stderr)}. Start Docker on this machine, or give an "
                "archive: pyrke images load --archive FILE.tar"
            )
        with self._lock:
            self._sizes[image] = size
        return size

    def stream(self, images: Sequence[str]) -> ImageStream:
        size = sum(self._size(image) or 0 for image in images)
        return ImageStream(chunks=self._save(list(images)), size=size or None)

    def _save(self, images: list[str]) -> Iterator[bytes]:
        with tempfile.TemporaryFile() as errors:
            save = subprocess.Popen(
                [self._binary(), "save", *images],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=errors,
            )
            assert save.stdout is not None
            try:
                while chunk := save.stdout.read(CHUNK):
                    yield chunk
            finally:
                save.stdout.close()
                if save.poll() is None:  # the host stopped reading: do not leave it running
                    save.kill()
                code = save.wait()
            if code != 0:
                errors.seek(0)
                said = errors.read().decode(errors="replace")
                raise ApplyError(
                    f"[images] docker save {' '.join(images)} on this machine failed "
                    f"({code}): {_first_line(said)}. Check the local Docker Engine, then run "
                    "again."
                )

    def _binary(self) -> str:
        found = shutil.which(self.docker)
        if found is None:
            raise ApplyError(
                f"[images] there is no {self.docker} CLI on this machine to save images from. "
                "Install Docker, or give an archive: pyrke images load --archive FILE.tar"
            )
        return found

    def _cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self._binary(), *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=check,
            timeout=120,
        )


class Archive:
    """Images from a `docker save` archive. A plain tar is read in place, and each host gets a
    tar of only the images it lacks (their manifest entry, config and layers); a compressed
    one is sent whole."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.members: dict[str, tarfile.TarInfo] = {}
        self.manifest: list[dict[str, Any]] = []
        self.subsets = True
        try:
            with tarfile.open(path, "r:") as tar:
                self.members = {m.name: m for m in tar.getmembers()}
                self.manifest = self._manifest(tar)
        except tarfile.ReadError:
            self.subsets = False  # compressed (docker load takes gzip too): index it all the same
            try:
                with tarfile.open(path, "r:*") as tar:
                    self.members = {m.name: m for m in tar.getmembers()}
                    self.manifest = self._manifest(tar)
            except tarfile.ReadError:
                raise self._unreadable(
                    ValueError("it is not a tar file, plain or compressed")
                ) from None
            except (OSError, tarfile.TarError) as exc:
                raise self._unreadable(exc) from None
        except OSError as exc:
            raise self._unreadable(exc) from None
        self.tags = {
            normalize(tag): (index, tag)
            for index, entry in enumerate(self.manifest)
            for tag in entry.get("RepoTags") or ()
        }

    def _unreadable(self, exc: Exception) -> PyrkeError:
        return ApplyError(
            f"[images] archive {self.path} cannot be read as a `docker save` archive: {exc}. "
            "Make it with: docker save -o FILE.tar $(pyrke images list -c cluster.yml)"
        )

    def _manifest(self, tar: tarfile.TarFile) -> list[dict[str, Any]]:
        member = self.members.get("manifest.json")
        read = tar.extractfile(member) if member is not None else None
        if read is None:
            raise self._unreadable(ValueError("it has no manifest.json"))
        try:
            data = json.loads(read.read())
        except ValueError as exc:
            raise self._unreadable(exc) from None
        if not isinstance(data, list):
            raise self._unreadable(ValueError("its manifest.json is not a list"))
        return [entry for entry in data if isinstance(entry, dict)]

    def describe(self) -> str:
        return f"archive {self.path}"

    def remedy(self, images: Sequence[str]) -> str:
        return (
            "Save an archive with every image the cluster needs: "
            "docker save -o FILE.tar $(pyrke images list -c cluster.yml)"
        )

    def lacking(self, images: Sequence[str]) -> tuple[str, ...]:
        return tuple(image for image in images if normalize(image) not in self.tags)

    def stream(self, images: Sequence[str]) -> ImageStream:
        if not self.subsets:
            return ImageStream(chunks=self._whole(), size=self.path.stat().st_size)
        entries: dict[int, dict[str, Any]] = {}
        for image in images:
            index, tag = self.tags[normalize(image)]
            entry = entries.setdefault(index, {**self.manifest[index], "RepoTags": []})
            entry["RepoTags"].append(tag)
        manifest = json.dumps(list(entries.values())).encode()
        members = self._members_of(entries.values())
        size = sum(BLOCK + _padded(m.size if m.isfile() else 0) for m in members)
        size += BLOCK + _padded(len(manifest)) + 2 * BLOCK
        return ImageStream(chunks=self._subset(manifest, members), size=size)

    def _members_of(self, entries: Any) -> list[tarfile.TarInfo]:
        """The files the entries name (config, layers), with what a symlink points at."""
        names: list[str] = []
        for entry in entries:
            names += [str(entry.get("Config", "")), *map(str, entry.get("Layers") or ())]
        chosen: dict[str, tarfile.TarInfo] = {}
        while names:
            name = names.pop()
            member = self.members.get(name)
            if member is None:
                raise self._unreadable(ValueError(f"its manifest names {name!r}, which it lacks"))
            if name in chosen:
                continue
            chosen[name] = member
            if member.issym():
                target = posixpath.join(posixpath.dirname(name), member.linkname)
                names.append(posixpath.normpath(target))
        return sorted(chosen.values(), key=lambda m: m.offset)

    def _subset(self, manifest: bytes, members: list[tarfile.TarInfo]) -> Iterator[bytes]:
        with self.path.open("rb") as archive:
            for member in members:
                yield member.tobuf(tarfile.GNU_FORMAT, "utf-8", "surrogateescape")
                if member.isfile():
                    archive.seek(member.offset_data)
                    yield from _copy(archive, member.size)
                    yield bytes(_padded(member.size) - member.size)
        head = tarfile.TarInfo("manifest.json")
        head.size, head.mode = len(manifest), 0o644
        yield head.tobuf(tarfile.GNU_FORMAT, "utf-8", "surrogateescape")
        yield manifest + bytes(_padded(len(manifest)) - len(manifest))
        yield bytes(2 * BLOCK)

    def _whole(self) -> Iterator[bytes]:
        with self.path.open("rb") as archive:
            while chunk := archive.read(CHUNK):
                yield chunk


def normalize(image: str) -> str:
    """An image reference as `docker save` tags it: ``docker.io/library/`` dropped, ``:latest``
    added when there is neither tag nor digest."""
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/library/"):
        if image.startswith(prefix):
            image = image[len(prefix) :]
            break
    last = image.rsplit("/", 1)[-1]
    return image if ":" in last or "@" in last else f"{image}:latest"


def _padded(size: int) -> int:
    return -(-size // BLOCK) * BLOCK


def _copy(source: IO[bytes], size: int) -> Iterator[bytes]:
    left = size
    while left > 0:
        chunk = source.read(min(CHUNK, left))
        if not chunk:
            raise ApplyError(f"[images] archive {getattr(source, 'name', '?')} ends early")
        left -= len(chunk)
        yield chunk


def _first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "(no message)"
