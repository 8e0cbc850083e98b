"""The operator's upkeep commands: `verify-balances`, `check`, `backup` and `restore`. Each prints
what it did or found and returns the process's exit code: 0 done and clean, 1 a problem found,
2 refused (nothing changed)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from server.config import Config

if TYPE_CHECKING:
    from store import Store

_NOT_SQLITE = (
    "{command} works on the embedded store (SQLite); on DynamoDB use its point-in-time recovery "
    "or on-demand backups (see docs/operations.md)"
)


async def verify_balances(config: Config, group_ids: list[str]) -> int:
    """Exit 0 when every group's stored balances match its history, 1 otherwise."""
    from domain import NotFound
    from server.app import open_store

    clean = True
    async with open_store(config) as store:
        for group_id in group_ids:
            try:
                await store.get_group(group_id)
            except NotFound:
                print(f"{group_id}: no such group")
                clean = False
                continue
            clean = await _verify(store, group_id) and clean
    return 0 if clean else 1


async def check(config: Config) -> int:
    """The store's integrity checks (SQLite), then verify-balances for every group."""
    from server.app import open_store

    if config.store_backend == "sqlite":
        from store.sqlite.backup import BackupError, group_ids, problems

        try:
            found = problems(config.sqlite_path)
            groups = group_ids(config.sqlite_path)
        except BackupError as exc:
            print(f"expense-tracker: {exc}", file=sys.stderr)
            return 2
        for problem in found:
            print(f"integrity: {problem}")
        print(f"integrity: {'ok' if not found else f'{len(found)} problem(s)'}")
        clean = not found
    else:
        from store.dynamodb.backfill import all_group_ids

        groups, clean = await all_group_ids(config.dynamodb), True
    async with open_store(config) as store:
        for group_id in groups:
            clean = await _verify(store, group_id) and clean
    print(f"{len(groups)} group(s) checked: {'ok' if clean else 'problems found'}")
    return 0 if clean else 1


def backup(config: Config, target: str) -> int:
    if config.store_backend != "sqlite":
        print(f"expense-tracker: {_NOT_SQLITE.format(command='backup')}", file=sys.stderr)
        return 2
    from store.sqlite.backup import BackupError
    from store.sqlite.backup import backup as copy

    try:
        copied = copy(config.sqlite_path, Path(target))
    except (BackupError, OSError) as exc:
        print(f"expense-tracker: backup failed: {exc}", file=sys.stderr)
        return 2
    print(f"backed up {config.sqlite_path} to {target}: {copied.size:,} bytes in {copied.seconds:.2f} s")
    return 0


def restore(config: Config, source: str, *, force: bool) -> int:
    if config.store_backend != "sqlite":
        print(f"expense-tracker: {_NOT_SQLITE.format(command='restore')}", file=sys.stderr)
        return 2
    from store.sqlite.backup import BackupError
    from store.sqlite.backup import restore as copy

    try:
        copied = copy(Path(source), config.sqlite_path, force=force)
    except (BackupError, OSError) as exc:
        print(f"expense-tracker: restore refused: {exc}", file=sys.stderr)
        return 2
    print(f"restored {source} to {config.sqlite_path}: {copied.pages:,} pages in {copied.seconds:.2f} s")
    return 0


async def _verify(store: Store, group_id: str) -> bool:
    from ledger import format_amount
    from services.verify import verify_group

    result = await verify_group(store, group_id)
    status = "ok" if not result.differences else f"{len(result.differences)} difference(s)"
    print(f"{group_id}: {result.expenses} expenses, {result.settlements} transactions: {status}")
    for (user_id, currency), (stored, recomputed) in result.differences.items():
        print(
            f"  {user_id} {currency}: stored {format_amount(stored, currency)}, "
            f"history says {format_amount(recomputed, currency)}"
        )
    return not result.differences
