"""Our own access tokens: HS256 JWTs signed with SECRET_KEY.

Decoding pins the algorithm (so `alg: none` or an RS/HS confusion is refused), requires every claim
we rely on, and checks issuer and audience, allowing a small clock skew.
"""

from __future__ import annotations

import functools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import jwt

from domain import Unauthorized

ALGORITHM = "HS256"
AUDIENCE = "expense-tracker-api"
LEEWAY_SECONDS = 30
_REQUIRED_CLAIMS = ["sub", "iat", "exp", "iss", "aud", "jti"]


@dataclass(frozen=True, slots=True)
class Claims:
    user_id: str
    token_id: str
    issued_at: datetime
    expires_at: datetime
    session_id: str | None = None
    """The session (`sid` claim) an access token belongs to; None for a standalone token."""


def session_of(token_id: str) -> str | None:
    """The session a token id belongs to: a session's access tokens have ids
    `<session id>.<random>` (so that a socket, which knows only its token id, can be closed with
    its session); standalone tokens have no dot."""
    session_id, dot, _ = token_id.partition(".")
    return session_id if dot else None


def issue_token(
    *,
    secret: str,
    issuer: str,
    user_id: str,
    lifetime: timedelta,
    now: datetime | None = None,
    session_id: str | None = None,
) -> tuple[str, Claims]:
    issued = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    random_part = secrets.token_urlsafe(16)
    claims = Claims(
        user_id=user_id,
        token_id=random_part if session_id is None else f"{session_id}.{random_part}",
        issued_at=issued,
        expires_at=issued + lifetime,
        session_id=session_id,
    )
    payload = {
        "sub": claims.user_id,
        "iat": int(claims.issued_at.timestamp()),
        "exp": int(claims.expires_at.timestamp()),
        "iss": issuer,
        "aud": AUDIENCE,
        "jti": claims.token_id,
    }
    if session_id is not None:
        payload["sid"] = session_id
    return jwt.encode(payload, secret, algorithm=ALGORITHM), claims


def decode_token(token: str, *, secret: str, issuer: str) -> Claims:
    """The token's claims; raises Unauthorized (code `token_expired` or `invalid_token`).

    A signature, once verified, stays verified, so verified claims are remembered (bounded); only
    the expiry is checked again on every use."""
    claims = _verified(token, secret, issuer)
    if claims.expires_at.timestamp() + LEEWAY_SECONDS <= time.time():
        raise Unauthorized("token has expired", code="token_expired")
    return claims


@functools.lru_cache(maxsize=8192)
def _verified(token: str, secret: str, issuer: str) -> Claims:
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": _REQUIRED_CLAIMS},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token has expired", code="token_expired") from None
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"token is invalid: {exc}", code="invalid_token") from None
    subject, token_id = payload["sub"], payload["jti"]
    if not (isinstance(subject, str) and subject and isinstance(token_id, str) and token_id):
        raise Unauthorized("token is invalid: bad sub or jti", code="invalid_token")
    try:
        issued_at = datetime.fromtimestamp(payload["iat"], timezone.utc)
        expires_at = datetime.fromtimestamp(payload["exp"], timezone.utc)
    except (TypeError, ValueError, OverflowError):
        raise Unauthorized("token is invalid: bad iat or exp", code="invalid_token") from None
    session_id = payload.get("sid")
    if session_id is not None and (not isinstance(session_id, str) or session_of(token_id) != session_id):
        raise Unauthorized("token is invalid: bad sid", code="invalid_token")
    if session_id is None and session_of(token_id) is not None:
        raise Unauthorized("token is invalid: bad jti", code="invalid_token")
    return Claims(
        user_id=subject, token_id=token_id, issued_at=issued_at, expires_at=expires_at, session_id=session_id
    )


def session_minter(
    *, secret: str, issuer: str, lifetime: timedelta
) -> Callable[[str, str, datetime], tuple[str, datetime]]:
    """What `services.sessions.Sessions` mints its access tokens with: `lifetime` JWTs carrying
    the session id."""

    def mint(user_id: str, session_id: str, now: datetime) -> tuple[str, datetime]:
        token, claims = issue_token(
            secret=secret, issuer=issuer, user_id=user_id, lifetime=lifetime, now=now, session_id=session_id
        )
        return token, claims.expires_at

    return mint
