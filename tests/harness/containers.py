"""Run the planner's containers inside test nodes with the docker CLI, no engine: the
files of a HostPlan written in one tar stream, each ContainerSpec as `docker create/start`.
For tests of the images and as a baseline to compare the engine with."""

from __future__ import annotations

import io
import shlex
import tarfile
import time

from harness.nodes import TestNode, wait_until
from pulumi_pyrke.model.plan import ContainerSpec, HostPlan
from pulumi_pyrke.model.secret import reveal


def write_files(node: TestNode, host: HostPlan) -> None:
    """Write every file of `host` into the node (mode as planned, owner root), in one call."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for spec in host.files:
            data = (reveal(spec.content) or "").encode()
            info = tarfile.TarInfo(spec.path.lstrip("/"))
            info.size, info.mode, info.mtime = len(data), spec.mode, int(time.time())
            tar.addfile(info, io.BytesIO(data))
    # etcd refuses a data directory other users can read (RKE's etcd-fix-perm does this)
    node.exec(
        "tar -x -C / && mkdir -p /var/lib/etcd && chmod 700 /var/lib/etcd", input=buffer.getvalue()
    )


def create_command(
    spec: ContainerSpec, *, name: str = "", args: tuple[str, ...] | None = None, restart: str = ""
) -> list[str]:
    """`docker create` for `spec` (optionally renamed, with other arguments or restart policy)."""
    command = ["docker", "create", "--name", name or spec.name, f"--network={spec.network_mode}"]
    policy = restart or spec.restart_policy
    if policy and policy != "no":
        command.append(f"--restart={policy}")
    if spec.pid_mode:
        command.append(f"--pid={spec.pid_mode}")
    if spec.privileged:
        command.append("--privileged")
    if spec.user:
        command += ["--user", spec.user]
    for var in spec.env:
        command += ["-e", f"{var.name}={reveal(var.value)}"]
    for bind in spec.binds:
        command += ["-v", bind]
    for source in spec.volumes_from:
        command += ["--volumes-from", source]
    for key, value in spec.labels:
        command += ["--label", f"{key}={value}"]
    entrypoint = spec.entrypoint
    if entrypoint:
        command += ["--entrypoint", entrypoint[0]]
    command.append(spec.image)
    command += [*entrypoint[1:], *(spec.args if args is None else args)]
    return command


def run(
    node: TestNode,
    spec: ContainerSpec,
    *,
    name: str = "",
    args: tuple[str, ...] | None = None,
    restart: str = "",
) -> str:
    """Create `spec` in the node and start it unless the plan says not to; its name."""
    name = name or spec.name
    command = shlex.join(create_command(spec, name=name, args=args, restart=restart))
    node.exec(
        f"{command} >/dev/null" + (f" && docker start {name} >/dev/null" if spec.start else "")
    )
    return name


def state(node: TestNode, name: str) -> tuple[str, int]:
    """(status, exit code) of a container in the node, e.g. ("running", 0), ("exited", 1)."""
    out = node.output(f"docker inspect -f '{{{{.State.Status}}}} {{{{.State.ExitCode}}}}' {name}")
    status, code = out.split()
    return status, int(code)


def logs(node: TestNode, name: str) -> str:
    """stdout and stderr of a container in the node."""
    result = node.exec(f"docker logs {name} 2>&1", check=False)
    return result.stdout.decode(errors="replace")


def wait_exited(node: TestNode, name: str, timeout: float = 30) -> int:
    """Wait until the container has stopped; its exit code."""
    wait_until(lambda: state(node, name)[0] == "exited", timeout, f"{name} on {node.name} exits")
    return state(node, name)[1]
