"""The cloud backend: DynamoDB through aioboto3's low-level client.

Key design (docs/dynamodb.md has the full picture):

* users table, key `pk`: `USER#<id>` profile, `EMAIL#<email>` pointer to the user id (written in
  the same transaction as the profile, so emails are unique), `REVOKED#<jti>` with a `ttl`,
  `IDEM#<uid>#<key>` idempotency claim/reply with a `ttl`.
* groups table, keys `pk` + `sk`: `GROUP#<gid>`/`META` group (with `last_activity_at`, the time
  of its latest activity entry), `GROUP#<gid>`/`MEMBER#<uid>` membership carrying the member's
  `balances` map {currency: minor units} and `spending` map {"<YYYY-MM>|<category>|<currency>":
  their share in minor units} (indexed by GSI `by_user` on `gsi1pk = USER#<uid>`,
  `gsi1sk = <joined_at>#<gid>`), `INVITE#<token_hash>`/`INVITE` pointer from a link's token to
  its live item `INVITES#<gid>`/`INVITE#<invite_id>` (uses, max_uses, and the maker's
  `joined_at`, so a link dies with the membership it was made in), `INVITES#<gid>`/`REMOVED#<uid>`
  removal record (keeps a removed member out of older links); all with a `ttl`.
* expenses table: `GROUP#<gid>`/`EXP#<id>` expense and `GROUP#<gid>`/`ACT#<at>#<id>` activity;
  the changes logs (`changelog`): a group's `CHANGES#<gid>`/`SEQ#<seq>` entries (counted by META's
  `change_seq`), a user's own `UCHANGES#<uid>`/`SEQ#<seq>` entries and their counter
  `UCHANGES#<uid>`/`HEAD`, each written in the transaction of the change it logs;
  transactions table: `GROUP#<gid>`/`TXN#<id>` settlement. Expenses and settlements carry
  `lsi1sk = <date>#<created_at>#<id>` for the LSI `by_date` (newest-first listing).
* chats table: `GROUP#<gid>`/`MSG#<created_at>#<id>` chat message, so a group's messages sort
  by time, then id (newest-first listing straight off the table).

Every method is a fixed number of round trips: no Scan, multi-item writes are one
TransactWriteItems (two may take a few, each atomic, when 100 actions cannot hold them: notifying
many recipients, deleting a group of over 33 members), and a group's partition is bounded by
MAX_GROUP_MEMBERS. An expense or
settlement write is one transaction: the record, one Update per member whose balance or spending
moves (conditioned on the membership existing), the META's `last_activity_at`, the activity entry
and the idempotent reply. Reads of base tables and LSIs are strongly consistent; the `by_user` GSI
(list_user_groups, dashboard) is eventually consistent.

Modules: `client` (requests, retries, error translation), `items` (item shapes and their
(de)serialization), `tables` (table specs and `create_tables`), `connection` (what the concerns
share), one module per concern of the contract (`users`, `groups`, `members`, `invites`,
`idempotency`, `ledger` with `expenses`, `settlements` and `balances`, `activity`, `chat`,
`dashboard`, `changes` reading the changes logs, and more), combined into `DynamoDBStore` in
`backend`.

Nothing here is imported until it is asked for (PEP 562): `create_tables` loads `tables` alone,
without the contract's methods, and `DynamoDBSettings` loads no boto at all.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from store.settings import DynamoDBSettings

if TYPE_CHECKING:
    from store.dynamodb.backend import DynamoDBStore
    from store.dynamodb.tables import BY_DATE_INDEX, TTL_ATTRIBUTE, USER_GROUPS_INDEX, create_tables

__all__ = [
    "BY_DATE_INDEX",
    "TTL_ATTRIBUTE",
    "USER_GROUPS_INDEX",
    "DynamoDBSettings",
    "DynamoDBStore",
    "create_tables",
]

_LAZY = {
    "DynamoDBStore": "store.dynamodb.backend",
    "create_tables": "store.dynamodb.tables",
    "BY_DATE_INDEX": "store.dynamodb.tables",
    "TTL_ATTRIBUTE": "store.dynamodb.tables",
    "USER_GROUPS_INDEX": "store.dynamodb.tables",
}
"""Each lazily exported name and the module that defines it."""


def __getattr__(name: str) -> Any:
    """Import the module defining `name` on first use, so that importing this package (or one of
    its modules) does not load the rest."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
