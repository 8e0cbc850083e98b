"""Sessions: what a sign-in starts and a refresh token keeps going (issue 13).

`Sessions.start` is the one place a sign-in becomes a token response, whatever the flow (the web
callback, the CLI, and the native apps' authorization code). A refresh token is
`<session id>.<generation>.<mac>`, where the mac is HMAC-SHA256 under a key derived from SECRET_KEY
over the session id and generation: so the server can tell a token it issued from a forgery
without a read, can compute the current token again for the grace window, and stores only its
sha256. Rotation is a compare-and-swap on that hash in the store.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain import BadRequest, Unauthorized
from domain.clock import Clock, utc_now
from domain.ids import new_id
from store import Rotation, Session, Store

_KEY_LABEL = b"expense-tracker/refresh-token/v1"
_USER_AGENT_LIMIT = 512
_TOKEN = re.compile(r"([A-Za-z0-9_-]{1,64})\.(0|[1-9][0-9]{0,9})\.([A-Za-z0-9_-]{43})")

MintAccess = Callable[[str, str, datetime], tuple[str, datetime]]
"""(user id, session id, now) → an access JWT of that session and when it expires."""


@dataclass(frozen=True, slots=True)
class SessionSettings:
    access_token_minutes: int = 15
    refresh_token_days: int = 60
    refresh_grace_seconds: int = 10


@dataclass(frozen=True, slots=True)
class TokenResponse:
    """What `POST /api/token` answers (and the CLI's `token --refresh` prints)."""

    access_token: str
    refresh_token: str
    expires_in: int
    session_id: str
    user_id: str

    def json(self) -> dict[str, object]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        }


class InvalidGrant(BadRequest):
    """RFC 6749 `invalid_grant`: unknown, forged, truncated, expired or ended."""

    default_code = "invalid_grant"


class RefreshTokenReused(Unauthorized):
    """A refresh token that had already been rotated: its whole session is now ended."""

    default_code = "refresh_token_reused"

    def __init__(self, user_id: str, session_id: str) -> None:
        super().__init__(
            "this refresh token was already used; the session has been ended, sign in again",
            code="refresh_token_reused",
        )
        self.user_id = user_id
        self.session_id = session_id


def refresh_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Sessions:
    def __init__(
        self,
        store: Store,
        *,
        secret_key: str,
        settings: SessionSettings,
        mint_access: MintAccess,
        clock: Clock = utc_now,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self._mint_access = mint_access
        self._key = hmac.new(secret_key.encode(), _KEY_LABEL, hashlib.sha256).digest()

    def _refresh_token(self, session_id: str, generation: int) -> str:
        mac = hmac.new(self._key, f"{session_id}.{generation}".encode(), hashlib.sha256).digest()
        return f"{session_id}.{generation}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"

    def _response(self, session: Session, now: datetime) -> TokenResponse:
        access, expires = self._mint_access(session.user_id, session.id, now)
        return TokenResponse(
            access_token=access,
            refresh_token=self._refresh_token(session.id, session.generation),
            expires_in=max(0, int((expires - now.replace(microsecond=0)).total_seconds())),
            session_id=session.id,
            user_id=session.user_id,
        )

    async def start(
        self, user_id: str, user_agent: str | None, *, session_id: str | None = None
    ) -> TokenResponse:
        """A new session for `user_id` on the device `user_agent` names, and its first tokens.
        `session_id` is the new session's id when the caller chose it beforehand (an authorization
        code records it at redemption, so that its reuse can end the session)."""
        now = self.clock()
        session = Session(
            id=session_id or new_id(),
            user_id=user_id,
            created_at=now,
            last_used_at=now,
            user_agent=(user_agent or "")[:_USER_AGENT_LIMIT],
            generation=0,
            expires_at=now + timedelta(days=self.settings.refresh_token_days),
        )
        await self.store.create_session(session, refresh_hash(self._refresh_token(session.id, 0)), now)
        return self._response(session, now)

    async def refresh(self, refresh_token: str) -> TokenResponse:
        """Rotate: the presented token stops working and a new pair comes back. Raises
        InvalidGrant, or RefreshTokenReused after ending the session."""
        match = _TOKEN.fullmatch(refresh_token)
        if match is None:
            raise InvalidGrant("the refresh token is malformed")
        session_id, generation = match.group(1), int(match.group(2))
        if not hmac.compare_digest(self._refresh_token(session_id, generation), refresh_token):
            raise InvalidGrant("the refresh token is not one this server issued")
        now = self.clock()
        result = await self.store.rotate_refresh(
            session_id,
            refresh_hash(refresh_token),
            refresh_hash(self._refresh_token(session_id, generation + 1)),
            now=now,
            expires_at=now + timedelta(days=self.settings.refresh_token_days),
            grace=timedelta(seconds=self.settings.refresh_grace_seconds),
        )
        if result.session is None or result.outcome is Rotation.UNKNOWN:
            raise InvalidGrant("the refresh token has expired or its session has ended")
        if result.outcome is Rotation.REUSED:
            raise RefreshTokenReused(result.session.user_id, result.session.id)
        return self._response(result.session, now)

    async def live(self, user_id: str) -> list[Session]:
        return await self.store.list_sessions(user_id, self.clock())

    async def end(self, user_id: str, session_id: str) -> None:
        """Raises NotFound unless it is a live session of the user."""
        await self.store.revoke_session(user_id, session_id, self.clock())

    async def end_all(self, user_id: str) -> list[str]:
        return await self.store.revoke_sessions(user_id, self.clock())
