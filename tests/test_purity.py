"""The pure core (model/, pki/, plan/, versions/, and the fact parsers in transport/facts.py)
never imports an I/O library (STYLE.md rule 1)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "pulumi_pyrke"
PURE = ("model", "pki", "plan", "versions")
PURE_FILES = ("transport/facts.py",)  # the fact parsers live beside the probe they read
FORBIDDEN = {
    "paramiko",
    "docker",
    "boto3",
    "botocore",
    "lightkube",
    "kubernetes",
    "pulumi",
    "socket",
    "subprocess",
    "requests",
    "urllib",
    "http",
    "asyncio",
    "threading",
    "multiprocessing",
    "pulumi_pyrke.transport",
    "pulumi_pyrke.kube",
    "pulumi_pyrke.sources",
    "pulumi_pyrke.engine",
    "pulumi_pyrke.providers",
    "pulumi_pyrke.cli",
}


def _modules() -> list[Path]:
    modules = [p for layer in PURE for p in (PACKAGE / layer).rglob("*.py")]
    return sorted([*modules, *(PACKAGE / f for f in PURE_FILES)])


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_pure_layers_have_modules() -> None:
    assert len(_modules()) > 20


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_pure_module_imports_no_io(path: Path) -> None:
    bad = {
        name
        for name in _imports(path)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
    }
    assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"


def test_the_check_catches_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "x.py"
    sample.write_text("import socket\nfrom paramiko import SSHClient\n")
    assert {"socket", "paramiko"} <= _imports(sample)
