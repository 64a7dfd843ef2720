"""`pyrke`: the command line for RKE users. `validate` and `plan` never contact a host; `hosts`
reaches every node over SSH and reports its facts, changing nothing; `up` and `remove` build and
tear down the cluster (cli/up.py)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from pulumi_pyrke import files
from pulumi_pyrke.cli import images
from pulumi_pyrke.cli.up import add_commands, run_remove, run_up
from pulumi_pyrke.errors import ConfigError, Problem, PyrkeError
from pulumi_pyrke.model.facts import NodeFacts, facts_from_json
from pulumi_pyrke.model.load import LoadedConfig, load_cluster_yml
from pulumi_pyrke.plan import ClusterState, plan_cluster, plan_cluster_with_pki
from pulumi_pyrke.plan.render import render_json, render_text
from pulumi_pyrke.plan.rkestate import is_rkestate, state_from_rkestate

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pyrke",
        description="Kubernetes clusters the RKE way: every component a Docker container on "
        "hosts reached over SSH, from an RKE cluster.yml.",
    )
    parser.add_argument("--version", action="version", version=f"pyrke {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    config_help = "cluster.yml path (default: %(default)s)"
    size_help = "largest cluster.yml (and --facts, --state file) read, in MB (default: %(default)s)"
    validate = sub.add_parser("validate", help="check a cluster.yml and list every problem")
    validate.add_argument("-c", "--config", default="cluster.yml", help=config_help)
    validate.add_argument("--max-input-mb", type=_megabytes, default=16, help=size_help)
    plan = sub.add_parser(
        "plan", help="print what would run and be written on each host (contacts no host)"
    )
    plan.add_argument("-c", "--config", default="cluster.yml", help=config_help)
    plan.add_argument("--max-input-mb", type=_megabytes, default=16, help=size_help)
    plan.add_argument("-o", "--output", choices=("text", "json"), default="text")
    plan.add_argument("--facts", help="JSON file of host facts by address (default: assumed)")
    plan.add_argument(
        "--state",
        help="previous state: RKE's cluster.rkestate or pulumi_pyrke's state JSON "
        "(default: <config dir>/<config name>.rkestate when it exists)",
    )
    hosts = sub.add_parser(
        "hosts", help="reach every node over SSH and Docker, in parallel, and report its facts"
    )
    hosts.add_argument("-c", "--config", default="cluster.yml", help=config_help)
    hosts.add_argument("--max-input-mb", type=_megabytes, default=16, help=size_help)
    hosts.add_argument(
        "-o",
        "--output",
        choices=("text", "json"),
        default="text",
        help="json: facts by address, the input of `pyrke plan --facts`",
    )
    hosts.add_argument(
        "--known-hosts",
        help="host keys seen before: recorded on first contact, enforced afterwards "
        "(default: <config dir>/<config name>.known_hosts)",
    )
    hosts.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="seconds to keep trying a host that does not answer yet (default: %(default)s)",
    )
    hosts.add_argument(
        "--parallel", type=int, default=10, help="hosts reached at once (default: %(default)s)"
    )
    add_commands(sub)
    images.add_commands(sub, megabytes=_megabytes, size_help=size_help)
    for name in ("up", "remove"):
        sub.choices[name].add_argument(
            "--max-input-mb", type=_megabytes, default=16, help=size_help
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit status (0 ok, 1 invalid input, 2 unreadable files)."""
    args = _parser().parse_args(argv)
    limit = int(args.max_input_mb * 1024 * 1024)
    try:
        loaded = load_cluster_yml(_read(args.config, "--config", limit), max_bytes=limit)
        for warning in loaded.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        if args.command == "validate":
            config = loaded.config
            print(
                f"{args.config}: valid ({len(config.nodes)} node{'s' if len(config.nodes) != 1 else ''}, "
                f"Kubernetes {config.kubernetes_version})"
            )
            return EXIT_OK
        if args.command == "hosts":
            return _hosts(args, loaded)
        if args.command == "up":
            return run_up(args, loaded)
        if args.command == "remove":
            return run_remove(args, loaded)
        if args.command == "images":
            return images.run_images(args, loaded)
        return _plan(args, loaded)
    except ConfigError as exc:
        count = len(exc.problems)
        print(f"{args.config}: {count} problem{'s' if count != 1 else ''}", file=sys.stderr)
        for problem in exc.problems:
            print(str(problem))
        return EXIT_INVALID
    except _Unreadable as exc:
        print(f"pyrke: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except _FileProblems as exc:
        count = len(exc.problems)
        print(f"{exc.path}: {count} problem{'s' if count != 1 else ''}", file=sys.stderr)
        for problem in exc.problems:
            print(str(problem))
        return EXIT_INVALID
    except PyrkeError as exc:
        print(f"pyrke: {exc}", file=sys.stderr)
        return EXIT_INVALID


def _plan(args: argparse.Namespace, loaded: LoadedConfig) -> int:
    limit = int(args.max_input_mb * 1024 * 1024)
    facts = _facts(args.facts, limit) if args.facts else {}
    state_path = args.state or _default_state_path(args.config)
    if state_path is None:
        plan = plan_cluster(loaded.config, facts)
    else:
        state = _state(state_path, limit)
        print(
            f"using state {state_path}: {len(state.certificates or ())} certificates, "
            f"{len(state.etcd_members)} etcd members",
            file=sys.stderr,
        )
        plan, _ = plan_cluster_with_pki(loaded.config, facts, state)
    sys.stdout.write(render_json(plan) if args.output == "json" else render_text(plan))
    return EXIT_OK


def _hosts(args: argparse.Namespace, loaded: LoadedConfig) -> int:
    from pulumi_pyrke.cli import hosts  # paramiko and docker load only for this command

    known_hosts = args.known_hosts or hosts.default_known_hosts(args.config)
    reports = hosts.check_hosts(
        loaded.config, known_hosts=known_hosts, timeout=args.timeout, parallel=args.parallel
    )
    for warning in hosts.docker_warnings(loaded.config, reports):
        print(f"warning: {warning}", file=sys.stderr)
    render = hosts.render_hosts_json if args.output == "json" else hosts.render_hosts_text
    sys.stdout.write(render(reports))
    failed = [r for r in reports if r.error is not None]
    if failed:
        if args.output == "json":
            for report in failed:
                print(f"{report.node.address}: {report.error}", file=sys.stderr)
        print(f"pyrke hosts: {len(failed)} of {len(reports)} failed", file=sys.stderr)
        return EXIT_INVALID
    return EXIT_OK


def _version() -> str:
    try:
        return metadata.version("pulumi-pyrke")
    except metadata.PackageNotFoundError:  # running from a source tree without install
        return "unknown"


def _megabytes(text: str) -> float:
    value = float(text)
    if not 0 < value <= 4096:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size in MB between 0 and 4096")
    return value


class _Unreadable(Exception):
    """A file named on the command line cannot be read or parsed."""


class _FileProblems(Exception):
    """A file named on the command line holds values of the wrong shape."""

    def __init__(self, path: str, problems: Sequence[Problem]) -> None:
        super().__init__(path)
        self.path = path
        self.problems = problems


def _read(path: str, option: str, limit: int) -> str:
    try:
        return files.read_text(path, field=option, max_bytes=limit)
    except ConfigError as exc:
        raise _Unreadable("; ".join(str(p) for p in exc.problems)) from None


def _json(path: str, option: str, limit: int) -> Any:
    text = _read(path, option, limit)
    try:
        return json.loads(text, parse_constant=_no_constant)
    except ValueError as exc:  # JSONDecodeError, and integers past Python's digit limit
        where = (
            f" (line {exc.lineno}, column {exc.colno}): {exc.msg}"
            if isinstance(exc, json.JSONDecodeError)
            else f": {exc}"
        )
        raise _Unreadable(f"{option}: {path} is not JSON{where}") from None
    except RecursionError:
        raise _Unreadable(f"{option}: {path} is nested too deeply to be facts or state") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _default_state_path(config_path: str) -> str | None:
    """RKE's rule: cluster.yml -> cluster.rkestate in the same directory."""
    candidate = Path(config_path).with_suffix(".rkestate")
    return str(candidate) if candidate.is_file() else None


def _state(path: str, limit: int) -> ClusterState:
    data = _json(path, "--state", limit)
    try:
        if not isinstance(data, dict):
            raise ConfigError([Problem(path="state", message="must be a JSON object")])
        return state_from_rkestate(data) if is_rkestate(data) else ClusterState.from_dict(data)
    except ConfigError as exc:
        raise _FileProblems(path, exc.problems) from None
    except PyrkeError as exc:  # PKIError: a certificate in the state does not load
        raise _FileProblems(path, [Problem(path="state", message=str(exc))]) from None


def _facts(path: str, limit: int) -> dict[str, NodeFacts]:
    data = _json(path, "--facts", limit)
    try:
        return facts_from_json(data)
    except ConfigError as exc:
        raise _FileProblems(path, exc.problems) from None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
