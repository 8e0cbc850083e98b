"""The ledger stays pure: importing it pulls in no web framework, storage or network client."""

from __future__ import annotations

import subprocess
import sys

import ledger


def test_imports_nothing_with_io() -> None:
    code = (
        "import sys, ledger\n"
        "bad = [m for m in ('aiohttp', 'aiosqlite', 'aioboto3', 'boto3', 'redis', 'socket', 'sqlite3')"
        " if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_exports_exist() -> None:
    assert all(hasattr(ledger, name) for name in ledger.__all__)
