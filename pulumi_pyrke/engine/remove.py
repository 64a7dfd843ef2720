"""`remove` (RKE's `rke remove`): every container and directory the cluster made, on every
host at once, in bounded time; a host that does not answer is reported, never waited for, and
can be cleaned by running remove again when it is back.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from pulumi_pyrke.engine.converge import MANAGED_LABEL
from pulumi_pyrke.engine.pool import HostPool, HostTask, Listener
from pulumi_pyrke.engine.ports import HostConnection
from pulumi_pyrke.engine.tools import HOST_ROOT, Tools
from pulumi_pyrke.engine.up import LOCK
from pulumi_pyrke.errors import PyrkeError
from pulumi_pyrke.model.plan import HostPlan
from pulumi_pyrke.plan import names

# what `rke remove` empties (rke-spec §6.5); snapshots, images and /var/lib/kubelet survive
CLEANED = (
    "/etc/kubernetes",
    "/etc/cni",
    "/opt/cni",
    "/var/run/calico",
    "/var/lib/cni",
    "/var/lib/etcd",
)


@dataclass(frozen=True, kw_only=True, slots=True)
class HostRemoval:
    """What remove did on one host, or why it could not."""

    host: str
    containers: tuple[str, ...] = ()
    directories: tuple[str, ...] = ()
    error: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class RemoveReport:
    """Per host: what was removed, and what could not be cleaned."""

    hosts: tuple[HostRemoval, ...]

    @property
    def complete(self) -> bool:
        return all(not h.error for h in self.hosts)

    def summary(self) -> str:
        lines = []
        for h in self.hosts:
            if h.error:
                lines.append(f"  {h.host}: NOT cleaned: {h.error}")
            else:
                lines.append(
                    f"  {h.host}: removed {len(h.containers)} containers, emptied "
                    f"{len(h.directories)} directories"
                )
        head = "cluster removed" if self.complete else "cluster removed except on some hosts"
        return head + "\n" + "\n".join(lines)


def remove(
    plans: Sequence[HostPlan],
    connect: Callable[[HostPlan, float], HostConnection],
    *,
    cluster: str,
    tools_image: str,
    docker_sockets: Mapping[str, str] | None = None,
    parallel: int = 20,
    host_timeout: float = 120.0,
    on_event: Listener | None = None,
) -> RemoveReport:
    """Remove the cluster from every host in ``plans``; ``connect(host, seconds)`` opens a host.

    Never raises for one host: each host's outcome is in the report, and the whole run ends
    within about ``host_timeout`` seconds however many hosts are down.
    """
    sockets = docker_sockets or {}

    def clean(host: HostPlan, task: HostTask) -> HostRemoval:
        conn = connect(host, max(1.0, task.deadline.remaining()))
        try:
            socket = sockets.get(host.address, "/var/run/docker.sock")
            docker = conn.docker(socket, timeout=max(1.0, task.deadline.remaining()))
            planned = {c.name for c in host.containers} | {LOCK}
            found = sorted(
                {c.name for c in docker.list_containers(labels={MANAGED_LABEL: cluster})}
                | {c.name for c in docker.list_containers() if c.name in planned}
            )
            for name in found:
                task.say(f"[remove] host {host.address}: removing {name}")
                docker.remove_container(name, force=True)
            directories = [names.on_host(host.prefix_path, d) for d in CLEANED]
            tools = Tools(
                shell=conn,
                host=host.address,
                image=tools_image,
                docker_socket=socket,
                timeout=max(5.0, task.deadline.remaining()),
            )
            if not docker.has_image(tools_image):
                raise PyrkeError(
                    f"[remove] host {host.address}: the tools image {tools_image} is not on the "
                    "host, so its directories were not emptied; load it (pyrke images load) and "
                    "run remove again"
                )
            inner = " ".join(shlex.quote(HOST_ROOT + d) for d in directories)
            # -exec rm (not -delete): every busybox and GNU find has it
            result = tools.run(
                f'for d in {inner}; do [ ! -d "$d" ] || find "$d" -mindepth 1 -maxdepth 1 '
                "-exec rm -rf {} + || exit 1; done; echo pyrke-ok",
                mounts=directories,
                read_only=False,
                timeout=max(5.0, task.deadline.remaining()),
            )
            if result.exit_code != 0 or "pyrke-ok" not in result.stdout:
                said = " ".join(result.stderr.split())[-300:]
                raise PyrkeError(f"[remove] host {host.address}: cleaning failed: {said}")
            return HostRemoval(
                host=host.address, containers=tuple(found), directories=tuple(directories)
            )
        finally:
            conn.close()

    pool = HostPool(size=parallel, timeout=host_timeout, on_event=on_event, plane="remove")
    outcomes = pool.run(list(plans), clean, name=lambda h: h.address)
    return RemoveReport(
        hosts=tuple(
            o.value
            if o.value is not None
            else HostRemoval(host=o.host, error=f"{o.error}. Run remove again once it is back.")
            for o in outcomes
        )
    )
