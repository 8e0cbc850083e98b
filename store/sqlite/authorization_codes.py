"""Native apps' authorization codes: one row per code, keyed by its sha256."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.clock import from_text, to_text
from store.base import (
    AUTHORIZATION_CODE_RETENTION,
    AuthorizationCode,
    Redemption,
    RedemptionResult,
)
from store.sqlite.engine import Db, _Engine, _fetchone


def _code(row: Any) -> AuthorizationCode:
    return AuthorizationCode(
        user_id=row[0],
        redirect_uri=row[1],
        code_challenge=row[2],
        expires_at=from_text(row[3]),
        session_id=row[4],
    )


class _AuthorizationCodes(_Engine):
    """The authorization-code methods of `SQLiteStore`."""

    async def create_authorization_code(self, code_hash: str, code: AuthorizationCode, now: datetime) -> None:
        def work(db: Db) -> None:
            # Codes that can no longer matter, even for reuse detection, go as new ones arrive.
            db.execute(
                "DELETE FROM authorization_codes WHERE expires_at <= ?",
                (to_text(now - AUTHORIZATION_CODE_RETENTION),),
            )
            db.execute(
                "INSERT INTO authorization_codes (code_hash, user_id, redirect_uri, code_challenge, "
                "expires_at) VALUES (?, ?, ?, ?, ?)",
                (code_hash, code.user_id, code.redirect_uri, code.code_challenge, to_text(code.expires_at)),
            )

        await self._write(work)

    async def redeem_authorization_code(
        self, code_hash: str, now: datetime, session_id: str
    ) -> RedemptionResult:
        def work(db: Db) -> RedemptionResult:
            row = _fetchone(
                db,
                "SELECT user_id, redirect_uri, code_challenge, expires_at, session_id, used_at "
                "FROM authorization_codes WHERE code_hash = ?",
                (code_hash,),
            )
            if row is None:
                return RedemptionResult(Redemption.UNKNOWN, None)
            if row[5] is not None:
                return RedemptionResult(Redemption.REUSED, _code(row))
            if from_text(row[3]) <= now:
                return RedemptionResult(Redemption.UNKNOWN, None)
            db.execute(
                "UPDATE authorization_codes SET used_at = ?, session_id = ? "
                "WHERE code_hash = ? AND used_at IS NULL",
                (to_text(now), session_id, code_hash),
            )
            return RedemptionResult(Redemption.REDEEMED, _code(row))

        return await self._write(work)
