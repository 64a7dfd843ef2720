"""Images onto hosts that cannot reach a registry: which images a cluster needs, and per host
the ones it lacks streamed from an image source (the local Docker Engine, a `docker save`
archive) through the ports, all hosts at once. Where the bytes come from is an argument.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from pulumi_pyrke.engine.converge import ApplyError
from pulumi_pyrke.engine.pool import HostPool, HostTask, Listener
from pulumi_pyrke.engine.ports import DockerHost, HostConnection
from pulumi_pyrke.errors import PyrkeError
from pulumi_pyrke.model.plan import ClusterPlan, HostPlan

MB = 2**20
POD_INFRA_FLAG = "--pod-infra-container-image="
"""kubelet runs every pod's sandbox in this image, which it does not pull on a host without
a registry: it belongs on the host like the containers' own."""


def host_images(host: HostPlan, tools_image: str) -> tuple[str, ...]:
    """Every image ``host`` needs, sorted: its containers', kubelet's pod sandbox image, and
    the tools image (host work and the lock run in it)."""
    images = {c.image for c in host.containers} | ({tools_image} - {""})
    images |= {
        arg.removeprefix(POD_INFRA_FLAG)
        for c in host.containers
        for arg in c.args
        if arg.startswith(POD_INFRA_FLAG)
    }
    return tuple(sorted(images))


def cluster_images(plan: ClusterPlan) -> tuple[str, ...]:
    """Every image the cluster needs on any host, sorted (`pyrke images list`)."""
    return tuple(sorted({i for h in plan.nodes for i in host_images(h, plan.tools_image)}))


@dataclass(frozen=True, kw_only=True, slots=True)
class ImageStream:
    """A `docker save` tar stream of some images; ``size`` in bytes when known beforehand."""

    chunks: Iterable[bytes]
    size: int | None = None


class ImageSource(Protocol):
    """Where images come from on this machine. Implementations are thread-safe: every host's
    work asks at once."""

    def describe(self) -> str:
        """What it is, for messages: ``the local Docker Engine``, ``archive images.tar``."""
        ...

    def lacking(self, images: Sequence[str]) -> tuple[str, ...]:
        """Which of ``images`` it cannot provide."""
        ...

    def stream(self, images: Sequence[str]) -> ImageStream:
        """A `docker save` stream holding at least ``images``; errors are ``PyrkeError``s."""
        ...

    def remedy(self, images: Sequence[str]) -> str:
        """What to do about ``images`` it cannot provide (one sentence or two)."""
        ...


@dataclass(frozen=True, kw_only=True, slots=True)
class HostLoad:
    """What one host got: the images it lacked and was sent, the bytes, how long it took."""

    host: str
    needed: int  # images the host needs in all
    loaded: tuple[str, ...] = ()
    bytes_sent: int = 0
    seconds: float = 0.0

    def __str__(self) -> str:
        if not self.loaded:
            return f"{self.host}: has all {self.needed} images, nothing sent"
        return (
            f"{self.host}: loaded {len(self.loaded)} of {self.needed} images "
            f"({self.bytes_sent / MB:.1f} MB in {self.seconds:.1f}s): {', '.join(self.loaded)}"
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class LoadReport:
    """Every host's outcome, in plan order: what it got, or the error that stopped it."""

    loads: tuple[HostLoad, ...] = ()
    errors: tuple[tuple[str, PyrkeError], ...] = ()

    @property
    def complete(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        sent = sum(1 for load in self.loads if load.loaded)
        total = sum(load.bytes_sent for load in self.loads)
        text = (
            f"images: {sent} of {len(self.loads) + len(self.errors)} hosts needed images, "
            f"{total / MB:.1f} MB sent"
        )
        if self.errors:
            text += f"; {len(self.errors)} host(s) failed"
        return text


def load_host_images(
    docker: DockerHost,
    host: str,
    wanted: Sequence[str],
    source: ImageSource,
    say: Callable[[str], None],
) -> HostLoad:
    """Send ``host`` the images of ``wanted`` it lacks (one stream), then check they arrived."""
    started = time.monotonic()
    missing = [image for image in wanted if not docker.has_image(image)]
    if not missing:
        return HostLoad(host=host, needed=len(wanted))
    absent = source.lacking(missing)
    if absent:
        raise ApplyError(
            f"[images] host {host}: {_images(absent)} not on the host and not in "
            f"{source.describe()}. {source.remedy(absent)}"
        )
    stream = source.stream(missing)
    sent = _Sent(host, len(missing), stream.size, say)
    say(f"[images] sending {_count(missing)} from {source.describe()}{sent.of()}")
    docker.load_image(stream.chunks, progress=sent)
    still = [image for image in missing if not docker.has_image(image)]
    if still:
        raise ApplyError(
            f"[images] host {host}: Docker loaded the stream from {source.describe()} but "
            f"{_images(still)} still missing. Check that {source.describe()} tags them so "
            "(docker image ls), then run again."
        )
    return HostLoad(
        host=host,
        needed=len(wanted),
        loaded=tuple(missing),
        bytes_sent=sent.bytes,
        seconds=time.monotonic() - started,
    )


def load_images(
    plan: ClusterPlan,
    hosts: Mapping[str, HostConnection],
    source: ImageSource,
    *,
    docker_sockets: Mapping[str, str] | None = None,
    parallel: int = 20,
    timeout: float = 1800.0,
    on_event: Listener | None = None,
) -> LoadReport:
    """Every host of ``plan`` (open connections by address) gets the images it lacks, all
    hosts at once; one host's failure costs the others nothing."""
    sockets = docker_sockets or {}

    def work(host: HostPlan, task: HostTask) -> HostLoad:
        docker = hosts[host.address].docker(
            sockets.get(host.address, "/var/run/docker.sock"),
            timeout=max(1.0, task.deadline.remaining()),
        )
        try:
            return load_host_images(
                docker, host.address, host_images(host, plan.tools_image), source, task.say
            )
        finally:
            docker.close()

    outcomes = HostPool(size=parallel, timeout=timeout, on_event=on_event, plane="images").run(
        list(plan.nodes), work, name=lambda h: h.address
    )
    return LoadReport(
        loads=tuple(o.value for o in outcomes if o.value is not None),
        errors=tuple((o.host, o.error) for o in outcomes if o.error is not None),
    )


class _Sent:
    """The ``progress`` of one host's stream: counts bytes, says so about twice a second."""

    def __init__(self, host: str, count: int, size: int | None, say: Callable[[str], None]):
        self.host, self.count, self.size, self.say = host, count, size, say
        self.bytes = 0
        self.lock = threading.Lock()
        self.last = time.monotonic()

    def of(self) -> str:
        return f" ({self.size / MB:.1f} MB)" if self.size else ""

    def __call__(self, sent: int) -> None:
        with self.lock:
            self.bytes = sent
            now = time.monotonic()
            if now - self.last < 0.5:
                return
            self.last = now
        total = f" of {self.size / MB:.1f}" if self.size else ""
        self.say(f"[images] {sent / MB:.1f}{total} MB sent")


def _count(images: Sequence[str]) -> str:
    return f"{len(images)} image{'s' if len(images) != 1 else ''}"


def _images(images: Sequence[str]) -> str:
    if len(images) == 1:
        return f"image {images[0]} is"
    return f"images {', '.join(images)} are"
