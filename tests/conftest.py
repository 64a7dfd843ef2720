"""Shared test fixtures, the --update-golden option, and real test nodes (harness.fixtures:
the `nodes` marker and the test_keys, node_factory and shared_nodes fixtures)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ("harness.fixtures", "harness.aws")

ROOT = Path(__file__).resolve().parent
GOLDEN = ROOT / "golden"
CONFIGS = ROOT / "configs"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/*/plan.json and plan.txt from the current planner (review the diff!)",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))
