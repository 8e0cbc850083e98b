"""A SQLite file made before invites could be revoked upgrades in place: its links keep working,
each gets a public id, and they can then be listed, counted and revoked."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

from domain import ActivityEntry
from domain.clock import to_text
from store.sqlite import SQLiteStore
from store.sqlite.schema import _MIGRATIONS

BEFORE_REVOCABLE_INVITES = 4
"""How many migrations a file had before invites got ids, use counts and removal records."""


def _old_file(path: Path, now: datetime) -> None:
    db = sqlite3.connect(path)
    for script in _MIGRATIONS[:BEFORE_REVOCABLE_INVITES]:
        db.executescript(script)
    created = to_text(now - timedelta(hours=1))
    db.executescript(
        f"""
        INSERT INTO users (id, email, name, picture, created_at)
            VALUES ('owner', 'owner@example.com', 'Owner', NULL, '{created}'),
                   ('joiner', 'joiner@example.com', 'Joiner', NULL, '{created}');
        INSERT INTO groups (id, name, description, default_currency, owner_id, member_count, version,
                            created_at, updated_at)
            VALUES ('g', 'Trip', '', 'EUR', 'owner', 1, 1, '{created}', '{created}');
        INSERT INTO memberships (group_id, user_id, role, joined_at)
            VALUES ('g', 'owner', 'owner', '{created}');
        INSERT INTO invites (token_hash, group_id, created_by, created_at, expires_at)
            VALUES ('old-hash', 'g', 'owner', '{created}', '{to_text(now + timedelta(days=1))}');
        PRAGMA user_version = {BEFORE_REVOCABLE_INVITES};
        """
    )
    db.close()


async def test_an_old_file_keeps_its_links_and_can_revoke_them(tmp_path: Path) -> None:
    now = datetime.now(timezone.utc)
    path = tmp_path / "old.sqlite3"
    _old_file(path, now)

    async with SQLiteStore.open(path) as store:
        invite = await store.get_invite("old-hash")
        assert invite.uses == 0 and invite.max_uses is None and len(invite.id) == 32
        assert [i.id for i in (await store.list_invites("g", now=now, limit=10)).items] == [invite.id]

        def entry(action: str, subject: str) -> ActivityEntry:
            return ActivityEntry(
                id=f"{action}-{subject}",
                group_id="g",
                at=now,
                actor_id="owner",
                action=action,
                subject_id=subject,
                details={},
            )

        _, joined = await store.accept_invite(invite, "joiner", now, entry("member.joined", "joiner"))
        assert joined and (await store.get_invite("old-hash")).uses == 1
        await store.revoke_invite("g", invite.id, entry("invite.revoked", invite.id))
        assert (await store.list_invites("g", now=now, limit=10)).items == []

    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone() == (len(_MIGRATIONS),)
    db.close()
