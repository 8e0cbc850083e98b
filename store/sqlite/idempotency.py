"""Idempotency keys: claimed before a write, answered by the reply the write stored with itself."""

from __future__ import annotations

from datetime import datetime

from domain import IdempotentReply, StoredReply
from domain.clock import from_text, to_text
from store.base import IDEMPOTENCY_LEASE, IDEMPOTENCY_RETENTION
from store.errors import in_progress, key_reused
from store.sqlite.engine import Db, _Engine, _fetchone


class _Idempotency(_Engine):
    """The idempotency-key methods of `SQLiteStore`."""

    async def claim_idempotency_key(
        self, user_id: str, key: str, fingerprint: str, now: datetime
    ) -> StoredReply | None:
        now_text = to_text(now)
        expires = to_text(now + IDEMPOTENCY_RETENTION)
        lease_start = now - IDEMPOTENCY_LEASE

        def work(db: Db) -> StoredReply | None:
            db.execute("DELETE FROM idempotency_keys WHERE expires_at < ?", (now_text,))
            row = _fetchone(
                db,
                "SELECT fingerprint, state, status, body, claimed_at FROM idempotency_keys "
                "WHERE user_id = ? AND key = ?",
                (user_id, key),
            )
            if row is not None:
                stored_fingerprint, state, status, body, claimed_at = row
                if stored_fingerprint != fingerprint:
                    raise key_reused()
                if state == "done":
                    return StoredReply(status=status, body=body)
                if from_text(claimed_at) > lease_start:
                    raise in_progress()
            db.execute(
                "INSERT INTO idempotency_keys (user_id, key, fingerprint, state, claimed_at, "
                "expires_at) VALUES (?, ?, ?, 'pending', ?, ?) ON CONFLICT (user_id, key) DO UPDATE "
                "SET claimed_at = excluded.claimed_at",
                (user_id, key, fingerprint, now_text, expires),
            )
            return None

        return await self._write(work)

    async def release_idempotency_key(self, user_id: str, key: str) -> None:
        def work(db: Db) -> None:
            db.execute(
                "DELETE FROM idempotency_keys WHERE user_id = ? AND key = ? AND state = 'pending'",
                (user_id, key),
            )

        await self._write(work)


def _record_reply(db: Db, reply: IdempotentReply | None) -> None:
    """Store `reply` for its key, in the same transaction as the write it answers, so a retry
    finds either both or neither; Conflict
    (`idempotency_in_progress`) if the key is no longer pending."""
    if reply is None:
        return
    result = db.execute(
        "UPDATE idempotency_keys SET state = 'done', status = ?, body = ? "
        "WHERE user_id = ? AND key = ? AND state = 'pending'",
        (reply.status, reply.body, reply.user_id, reply.key),
    )
    if result.rowcount == 0:
        raise in_progress()
