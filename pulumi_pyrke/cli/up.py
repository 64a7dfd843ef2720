"""`pyrke up` and `pyrke remove`: RKE's two verbs, on the engine, with a progress display.

`up` connects to every node once, adopts the state it finds (the local `<name>.rkestate`, else
the copy on the control-plane hosts), plans, converges, then writes `kube_config_<name>.yml`
and `<name>.rkestate` beside cluster.yml, as RKE did. `remove` asks first unless `--force`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from pulumi_pyrke import files
from pulumi_pyrke.deadline import Deadline
from pulumi_pyrke.engine.cluster import apply_config, close_all, open_hosts
from pulumi_pyrke.engine.pool import HostEvent
from pulumi_pyrke.engine.ports import HostConnection
from pulumi_pyrke.engine.remove import remove
from pulumi_pyrke.errors import ConfigError, PyrkeError
from pulumi_pyrke.model.cluster import ClusterConfig
from pulumi_pyrke.model.load import LoadedConfig
from pulumi_pyrke.plan import ClusterState, plan_cluster
from pulumi_pyrke.plan.rkestate import is_rkestate, rkestate_from_state, state_from_rkestate

if TYPE_CHECKING:
    from pulumi_pyrke.transport.known_hosts import KnownHosts


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `up` and `remove` subcommands."""
    config_help = "cluster.yml path (default: %(default)s)"
    cmd = sub.add_parser("up", help="bring the cluster up (or to its new cluster.yml)")
    cmd.add_argument("-c", "--config", default="cluster.yml", help=config_help)
    cmd.add_argument(
        "--parallel", type=int, default=20, help="hosts at once (default: %(default)s)"
    )
    cmd.add_argument("--timeout", type=float, default=900.0, help="seconds per host per step")
    cmd.add_argument("--state", help="state file (default: <config dir>/<name>.rkestate)")
    gone = sub.add_parser("remove", help="remove the cluster from every host (RKE's rke remove)")
    gone.add_argument("-c", "--config", default="cluster.yml", help=config_help)
    gone.add_argument("--force", action="store_true", help="do not ask")
    gone.add_argument("--timeout", type=float, default=120.0, help="seconds per host")


class Progress:
    """A live, line-per-event display on stderr: plane, host, what it is doing, how many done."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.started = time.monotonic()
        self.lock = threading.Lock()

    def __call__(self, event: HostEvent) -> None:
        if event.phase == "start":
            return
        mark = {"done": "ok ", "failed": "ERR", "progress": " ..", "start": ""}[event.phase]
        text = event.message.splitlines()[0] if event.message else event.phase
        with self.lock:
            print(
                f"[{time.monotonic() - self.started:6.1f}s] {mark} {event.host} "
                f"({event.finished}/{event.total}) {text}",
                file=self.out,
                flush=True,
            )

    def say(self, message: str) -> None:
        with self.lock:
            print(f"[{time.monotonic() - self.started:6.1f}s] {message}", file=self.out, flush=True)


def run_up(args: argparse.Namespace, loaded: LoadedConfig) -> int:
    """`pyrke up`."""
    from pulumi_pyrke.transport import observe_facts, open_host
    from pulumi_pyrke.transport.targets import node_target

    config = loaded.config
    show = Progress(sys.stderr)
    base = Path(args.config)
    state_path = Path(args.state) if args.state else base.with_suffix(".rkestate")
    state = _local_state(state_path)
    hosts, known = connect_nodes(
        config, args.config, parallel=args.parallel, timeout=args.timeout, show=show
    )
    try:
        applied = apply_config(
            config,
            hosts,
            lambda conn, socket, deadline: observe_facts(
                conn, docker_socket=socket, deadline=deadline
            ),
            state=state,
            parallel=args.parallel,
            timeout=args.timeout,
            holder=f"pyrke up by {os.environ.get('USER', 'someone')} on {os.uname().nodename} "
            f"(pid {os.getpid()})",
            on_event=show,
            say=show.say,
            connect=lambda node, deadline: open_host(
                node_target(node, config.bastion_host, known, path="state.nodes"),
                deadline=deadline,
            ),
        )
    finally:
        close_all(hosts)
    nodes = [(n.address, n.roles) for n in applied.plan.nodes]
    _write_secret(state_path, json.dumps(rkestate_from_state(applied.state, nodes), indent=2))
    kubeconfig = base.with_name(f"kube_config_{base.stem}.yml")
    _write_secret(kubeconfig, applied.kubeconfig.reveal())
    print(applied.report.summary())
    for made in applied.report.containers:
        print(f"  {made}")
    print("no addons were deployed (network plugin, DNS and ingress come with a later release)")
    print(f"kubeconfig: {kubeconfig}; state: {state_path}")
    return 0


def connect_nodes(
    config: ClusterConfig, config_path: str, *, parallel: int, timeout: float, show: Progress
) -> tuple[dict[str, HostConnection], KnownHosts]:
    """One connection per cluster.yml node, as cluster.yml says (keys, agent, certificates,
    bastion); host keys recorded on first contact in <config>.known_hosts, enforced after."""
    # paramiko loads only for the commands that reach hosts (`pyrke validate` stays quick)
    from pulumi_pyrke.cli.hosts import default_known_hosts
    from pulumi_pyrke.transport import open_host
    from pulumi_pyrke.transport.known_hosts import KnownHosts
    from pulumi_pyrke.transport.targets import node_target, record_host_keys

    known = KnownHosts.load(default_known_hosts(config_path))
    targets = {
        n.address: node_target(n, config.bastion_host, known, path=f"nodes[{i}]")
        for i, n in enumerate(config.nodes)
    }
    hosts = open_hosts(
        config.nodes,
        lambda node, deadline: open_host(targets[node.address], deadline=deadline),
        parallel=parallel,
        timeout=timeout,
        on_event=show,
    )
    for node in config.nodes:
        record_host_keys(known, node, config.bastion_host, hosts[node.address].info)
    known.save()
    return hosts, known


def run_remove(args: argparse.Namespace, loaded: LoadedConfig) -> int:
    """`pyrke remove`."""
    from pulumi_pyrke.cli.hosts import default_known_hosts
    from pulumi_pyrke.transport import open_host
    from pulumi_pyrke.transport.known_hosts import KnownHosts
    from pulumi_pyrke.transport.targets import node_target

    config = loaded.config
    if not args.force:
        answer = input(
            f"Are you sure you want to remove the cluster {config.cluster_name!r}? [y/N] "
        )
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing removed")
            return 1
    plan = plan_cluster(config)
    known = KnownHosts.load(default_known_hosts(args.config))
    targets = {
        n.address: node_target(n, config.bastion_host, known, path=f"nodes[{i}]")
        for i, n in enumerate(config.nodes)
    }
    show = Progress(sys.stderr)
    report = remove(
        plan.nodes,
        lambda host, seconds: open_host(targets[host.address], deadline=Deadline.after(seconds)),
        cluster=plan.cluster_name,
        tools_image=plan.tools_image,
        docker_sockets=_sockets(config),
        host_timeout=args.timeout,
        on_event=show,
    )
    print(report.summary())
    if report.complete:
        base = Path(args.config)
        for leftover in (
            base.with_suffix(".rkestate"),
            base.with_name(f"kube_config_{base.stem}.yml"),
        ):
            leftover.unlink(missing_ok=True)
    return 0 if report.complete else 1


def _sockets(config: ClusterConfig) -> dict[str, str]:
    return {n.address: n.docker_socket for n in config.nodes}


def _local_state(path: Path) -> ClusterState | None:
    if not os.path.lexists(path):
        return None
    try:
        data = json.loads(files.read_text(str(path), field="--state"))
    except ConfigError as exc:  # not a regular file, too large, not UTF-8
        raise PyrkeError(f"[state] {exc}; restore it or move it away") from None
    except (ValueError, RecursionError) as exc:
        raise PyrkeError(
            f"[state] {path} cannot be read as JSON ({exc}); restore it or move it away"
        ) from None
    if not isinstance(data, dict):
        raise PyrkeError(f"[state] {path} must hold a JSON object; restore it or move it away")
    return state_from_rkestate(data) if is_rkestate(data) else ClusterState.from_dict(data)


def _write_secret(path: Path, text: str) -> None:
    """Write a file only its owner may read (mode 0600), replacing it whole."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)  # a leftover (or a planted link) must not lend its mode
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(tmp, path)
