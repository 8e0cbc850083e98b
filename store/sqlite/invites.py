"""Invites to a group, kept for a while after they expire."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

from domain import Conflict, Invite, NotFound
from domain.clock import from_text, to_text, utc_now
from store.sqlite.engine import Db, _Engine
from store.sqlite.writes import _require_group

INVITE_RETENTION = timedelta(days=30)
"""How long an expired invite is kept before it is purged (DynamoDB's TTL purges lazily, too)."""


class _Invites(_Engine):
    """The invite methods of `SQLiteStore`."""

    async def create_invite(self, invite: Invite) -> None:
        row = (
            invite.token_hash,
            invite.group_id,
            invite.created_by,
            to_text(invite.created_at),
            to_text(invite.expires_at),
        )
        purge_before = to_text(utc_now() - INVITE_RETENTION)

        def work(db: Db) -> None:
            _require_group(db, invite.group_id)
            try:
                db.execute(
                    "INSERT INTO invites (token_hash, group_id, created_by, created_at, expires_at) "
                    "VALUES (?, ?, ?, ?, ?)",
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
            "SELECT token_hash, group_id, created_by, created_at, expires_at FROM invites "
            "WHERE token_hash = ?",
            (token_hash,),
        )
        if row is None:
            raise NotFound("invite not found")
        return Invite(
            token_hash=row[0],
            group_id=row[1],
            created_by=row[2],
            created_at=from_text(row[3]),
            expires_at=from_text(row[4]),
        )
