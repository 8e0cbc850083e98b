"""Imports point one way: server/app.py and server/cli.py (assembly) → handlers/ → services/ →
ledger/, store/, realtime/, ocr/ → domain/ (docs/architecture.md). Read from the source, so a
violating import fails here even where it happens inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("server", "handlers", "services", "ledger", "store", "realtime", "ocr", "domain")
ASSEMBLY = {"server/app.py", "server/cli.py"}
BELOW_SERVICES = ("ledger", "store", "realtime", "ocr", "domain")
STORAGE_CLIENTS = {"sqlite3", "aioboto3", "boto3", "botocore"}
"""Only store/ (and ocr/'s receipt storage) talk to a database or AWS."""


def imported(path: Path) -> set[str]:
    """Every module `path` imports, as written (absolute imports only, as the project uses)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def top(name: str) -> str:
    return name.split(".")[0]


def forbidden(relative: str) -> set[str]:
    package = relative.split("/")[0]
    if relative in ASSEMBLY:
        return set()
    if package == "server":
        return {"handlers"}
    if package == "handlers":
        return set(STORAGE_CLIENTS)
    if package == "services":
        return {"server", "handlers", "aiohttp"} | STORAGE_CLIENTS
    if package == "domain":
        return set(PACKAGES) - {"domain"}
    if package == "ledger":
        return set(PACKAGES) - {"ledger", "domain"}
    return {"server", "handlers", "services"}


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down(path: Path) -> None:
    relative = str(path.relative_to(ROOT))
    wrong = sorted(name for name in imported(path) if top(name) in forbidden(relative))
    assert not wrong, f"{relative} imports {wrong}"


def test_every_layer_is_checked() -> None:
    seen = {str(p.relative_to(ROOT)).split("/")[0] for p in modules()}
    assert seen == set(PACKAGES)
    assert all(package in seen for package in BELOW_SERVICES)
