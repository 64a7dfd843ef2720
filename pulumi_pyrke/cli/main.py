"""`pyrke`: the command line for RKE users. `validate` and `plan` never contact a host."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from pulumi_pyrke.errors import ConfigError, PyrkeError
from pulumi_pyrke.model.facts import NodeFacts
from pulumi_pyrke.model.load import LoadedConfig, load_cluster_yml
from pulumi_pyrke.plan import plan_cluster
from pulumi_pyrke.plan.render import render_json, render_text

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pyrke",
        description="Kubernetes clusters the RKE way: plan and run every component as a Docker "
        "container on hosts reached over SSH, from an RKE cluster.yml.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    validate = sub.add_parser("validate", help="check a cluster.yml and list every problem")
    validate.add_argument(
        "-c", "--config", default="cluster.yml", help="cluster.yml path (default: %(default)s)"
    )
    plan = sub.add_parser("plan", help="print what would run and be written on each host")
    plan.add_argument(
        "-c", "--config", default="cluster.yml", help="cluster.yml path (default: %(default)s)"
    )
    plan.add_argument(
        "-o", "--output", choices=("text", "json"), default="text", help="output format"
    )
    plan.add_argument(
        "--facts",
        help="JSON file of host facts by address (as `pyrke` records them); without it defaults are assumed",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit status (0 ok, 1 invalid input, 2 usage or file errors)."""
    args = _parser().parse_args(argv)
    try:
        loaded = _load(args.config)
    except ConfigError as exc:
        print(
            f"{args.config}: {len(exc.problems)} problem{'s' if len(exc.problems) != 1 else ''}",
            file=sys.stderr,
        )
        for problem in exc.problems:
            print(str(problem))
        return EXIT_INVALID
    except OSError as exc:
        print(f"pyrke: cannot read {args.config}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    for warning in loaded.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.command == "validate":
        print(
            f"{args.config}: valid ({len(loaded.config.nodes)} nodes, Kubernetes {loaded.config.kubernetes_version})"
        )
        return EXIT_OK
    try:
        facts = _facts(args.facts) if args.facts else {}
        plan = plan_cluster(loaded.config, facts)
    except ConfigError as exc:
        for problem in exc.problems:
            print(str(problem))
        return EXIT_INVALID
    except OSError as exc:
        print(f"pyrke: cannot read {args.facts}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except PyrkeError as exc:
        print(f"pyrke: {exc}", file=sys.stderr)
        return EXIT_INVALID
    sys.stdout.write(render_json(plan) if args.output == "json" else render_text(plan))
    return EXIT_OK


def _load(path: str) -> LoadedConfig:
    return load_cluster_yml(Path(path).read_text(encoding="utf-8"))


def _facts(path: str) -> dict[str, NodeFacts]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ConfigError([])
    return {addr: NodeFacts.from_dict(value, path=f"facts[{addr}]") for addr, value in data.items()}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
