"""Invites to a group: made, listed, revoked, accepted (with their use count), and kept for a
while after they expire."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import Any

from domain import ActivityEntry, Conflict, Invite, Member, Page
from domain.clock import from_text, to_text, utc_now
from domain.models import MAX_GROUP_MEMBERS
from store.cursor import encode_cursor, invite_cursor
from store.errors import (
    group_not_found,
    invite_expired,
    invite_not_found,
    invite_used_up,
    removed_from_group,
)
from store.sqlite.engine import Db, _Engine, _fetchone
from store.sqlite.rows import _activity_row
from store.sqlite.writes import _log, _require_user

INVITE_RETENTION = timedelta(days=30)
"""How long an expired invite is kept before it is purged (DynamoDB's TTL purges lazily, too)."""

_COLUMNS = "i.token_hash, i.group_id, i.created_by, i.created_at, i.expires_at, i.id, i.max_uses, i.uses"
_LIVE_MAKER = "JOIN memberships m ON m.group_id = i.group_id AND m.user_id = i.created_by"
"""An invite lives only while its maker is a member (`remove_member` also deletes a leaver's
invites; the join covers those of makers who left before that rule)."""


def _invite(row: Any) -> Invite:
    return Invite(
        token_hash=row[0],
        group_id=row[1],
        created_by=row[2],
        created_at=from_text(row[3]),
        expires_at=from_text(row[4]),
        id=row[5],
        max_uses=row[6],
        uses=row[7],
    )


class _Invites(_Engine):
    """The invite methods of `SQLiteStore`."""

    async def create_invite(self, invite: Invite) -> None:
        row = (
            invite.token_hash,
            invite.id,
            invite.group_id,
            invite.created_by,
            to_text(invite.created_at),
            to_text(invite.expires_at),
            invite.max_uses,
        )
        purge_before = to_text(utc_now() - INVITE_RETENTION)

        def work(db: Db) -> None:
            if (
                _fetchone(
                    db,
                    "SELECT 1 FROM memberships WHERE group_id = ? AND user_id = ?",
                    (invite.group_id, invite.created_by),
                )
                is None
            ):
                raise group_not_found()
            try:
                db.execute(
                    "INSERT INTO invites (token_hash, id, group_id, created_by, created_at, expires_at,"
                    " max_uses) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    row,
                )
            except sqlite3.IntegrityError as exc:
                raise Conflict("an invite with this token exists", code="invite_exists") from exc
            # Long-expired invites are dead weight; recently expired ones stay so that their holders
            # hear "expired" (410) rather than "unknown". The index bounds this to one group.
            db.execute(
                "DELETE FROM invites WHERE group_id = ? AND expires_at < ?",
                (invite.group_id, purge_before),
            )

        await self._write(work)

    async def get_invite(self, token_hash: str) -> Invite:
        row = await self._one(
            f"SELECT {_COLUMNS} FROM invites i {_LIVE_MAKER} WHERE i.token_hash = ?", (token_hash,)
        )
        if row is None:
            raise invite_not_found()
        return _invite(row)

    async def get_group_invite(self, group_id: str, invite_id: str) -> Invite:
        row = await self._one(
            f"SELECT {_COLUMNS} FROM invites i {_LIVE_MAKER} WHERE i.group_id = ? AND i.id = ?",
            (group_id, invite_id),
        )
        if row is None:
            raise invite_not_found()
        return _invite(row)

    async def list_invites(
        self, group_id: str, *, now: datetime, limit: int, cursor: str | None = None
    ) -> Page[Invite]:
        where = "i.group_id = ? AND i.expires_at > ? AND (i.max_uses IS NULL OR i.uses < i.max_uses)"
        params: list[Any] = [group_id, to_text(now)]
        if cursor is not None:
            after = invite_cursor(cursor)
            where += " AND i.id < ?"
            params.append(after)
        rows = await self._all(
            f"SELECT {_COLUMNS} FROM invites i {_LIVE_MAKER} WHERE {where} ORDER BY i.id DESC LIMIT ?",
            (*params, limit + 1),
        )
        items = [_invite(row) for row in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            next_cursor = encode_cursor("invites", ["after", items[-1].id])
        return Page(items=items, next_cursor=next_cursor)

    async def revoke_invite(self, group_id: str, invite_id: str, activity: ActivityEntry) -> None:
        def work(db: Db) -> None:
            if (
                db.execute(
                    "DELETE FROM invites WHERE group_id = ? AND id = ?", (group_id, invite_id)
                ).rowcount
                == 0
            ):
                raise invite_not_found()
            _log(db, _activity_row(activity))

        await self._write(work)

    async def accept_invite(
        self, invite: Invite, user_id: str, now: datetime, activity: ActivityEntry
    ) -> tuple[Member, bool]:
        joined = to_text(now)

        def work(db: Db) -> tuple[Member, bool]:
            live = _fetchone(
                db,
                f"SELECT i.created_at, i.expires_at, i.max_uses, i.uses FROM invites i {_LIVE_MAKER} "
                "WHERE i.token_hash = ? AND i.group_id = ?",
                (invite.token_hash, invite.group_id),
            )
            if live is None:
                raise invite_not_found()
            group = _fetchone(
                db,
                "SELECT g.member_count, m.role, m.joined_at FROM groups g LEFT JOIN memberships m "
                "ON m.group_id = g.id AND m.user_id = ? WHERE g.id = ?",
                (user_id, invite.group_id),
            )
            if group is None:
                raise group_not_found()
            if group[1] is not None:
                return Member(user_id=user_id, role=group[1], joined_at=from_text(group[2])), False
            if live[1] <= joined:
                raise invite_expired()
            if live[2] is not None and live[3] >= live[2]:
                raise invite_used_up()
            removal = _fetchone(
                db,
                "SELECT removed_at FROM member_removals WHERE group_id = ? AND user_id = ?",
                (invite.group_id, user_id),
            )
            if removal is not None and removal[0] >= live[0]:
                raise removed_from_group()
            _require_user(db, user_id)
            if group[0] >= MAX_GROUP_MEMBERS:
                raise Conflict(f"group is full: at most {MAX_GROUP_MEMBERS} members", code="group_full")
            db.execute(
                "INSERT INTO memberships (group_id, user_id, role, joined_at) VALUES (?, ?, 'member', ?)",
                (invite.group_id, user_id, joined),
            )
            db.execute("UPDATE groups SET member_count = member_count + 1 WHERE id = ?", (invite.group_id,))
            db.execute("UPDATE invites SET uses = uses + 1 WHERE token_hash = ?", (invite.token_hash,))
            _log(db, _activity_row(activity))
            return Member(user_id=user_id, role="member", joined_at=now), True

        return await self._write(work)
