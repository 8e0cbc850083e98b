"""What the changes feeds (a group's, `services.changes`, and a user's own,
`services.user_changes`) share: cursors bound to whose feed they read, and "each record once per
page, at its last change"."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import TypeVar

from domain import BadRequest
from store.cursor import decode_cursor, encode_cursor, foreign_cursor

MAX_SEQ = 2**62
"""No log position is larger (SQLite's integers are 64-bit): a cursor beyond it is not ours."""

C = TypeVar("C")


def feed_cursor(kind: str, owner_id: str, seq: int) -> str:
    """A cursor at position `seq` of the feed of `kind` that belongs to `owner_id`."""
    return encode_cursor(kind, [owner_id, seq])


def feed_position(kind: str, owner_id: str, cursor: str, *, foreign: str) -> int:
    """The position a cursor of `owner_id`'s feed of `kind` stands at. Raises BadRequest
    (`invalid_cursor`) for anything else; `foreign` is the message for a cursor of the same kind
    of feed that belongs to someone (or some group) else."""
    position = decode_cursor(kind, cursor)
    if (
        not isinstance(position, list)
        or len(position) != 2
        or not isinstance(position[1], int)
        or isinstance(position[1], bool)
        or not 0 <= position[1] <= MAX_SEQ
    ):
        raise foreign_cursor()
    if position[0] != owner_id:
        raise BadRequest(foreign, code="invalid_cursor")
    return position[1]


def latest_each(changes: Iterable[C], key: Callable[[C], Hashable]) -> list[C]:
    """Each record's last change (records told apart by `key`), in commit order."""
    last: dict[Hashable, C] = {}
    for change in changes:
        k = key(change)
        last.pop(k, None)
        last[k] = change
    return list(last.values())
