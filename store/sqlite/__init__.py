"""The embedded backend: one SQLite file in WAL mode, through the standard library's `sqlite3`.

`engine` runs every statement (group commit, read snapshots, WAL checkpoints, busy handling: its
docstring explains them), `schema` creates and migrates the file, `rows` maps rows to records, and
the contract's methods live by concern (`users`, `groups`, `invites`, `idempotency`, `history`,
`balances`, `feeds`), combined into `SQLiteStore` in `backend`."""

from store.sqlite.backend import SQLiteStore

__all__ = ["SQLiteStore"]
