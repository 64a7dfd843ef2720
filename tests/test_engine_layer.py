"""engine/ sees hosts only through its ports: it imports no adapter and no I/O library."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parent.parent / "pulumi_pyrke" / "engine"
FORBIDDEN = (
    "paramiko",
    "docker",
    "requests",
    "urllib3",
    "socket",
    "subprocess",
    "pulumi",
    "pulumi_pyrke.transport",
    "pulumi_pyrke.providers",
    "pulumi_pyrke.cli",
)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(ENGINE.glob("*.py")), ids=lambda p: p.name)
def test_engine_module_imports_no_adapter(path: Path) -> None:
    bad = {n for n in _imports(path) if any(n == f or n.startswith(f + ".") for f in FORBIDDEN)}
    assert not bad, f"engine/{path.name} imports {sorted(bad)}"


@pytest.mark.parametrize(
    "path",
    sorted((ENGINE.parent / "providers").glob("*.py"))
    + sorted((ENGINE.parent / "transport").glob("*.py")),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_providers_and_transport_never_import_the_cli(path: Path) -> None:
    """The CLI sits on top: the resources and the adapters never reach up into it."""
    assert not {n for n in _imports(path) if n.startswith("pulumi_pyrke.cli")}
