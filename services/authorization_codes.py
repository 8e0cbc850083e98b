"""Native apps' authorization codes (issue 13 part 3; RFC 6749 §4.1, RFC 7636, RFC 8252).

After a native app's sign-in, the callback issues a one-time code bound to the user, to the exact
redirect URI (a loopback one with its port) and to the app's PKCE challenge; the app redeems it at
`POST /api/token` with its code verifier for a session's tokens. A code is 256 random bits and is
stored only as its sha256. Redeeming burns it in one store compare-and-set before anything is
checked, so a wrong verifier or redirect URI spends it too; the same step records the id of the
session the redemption will start, so that presenting the code again ends that session (RFC 6749
§4.1.2: a code used twice may have been intercepted).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from domain import NotFound
from domain.ids import new_id
from services.sessions import InvalidGrant, Sessions, TokenResponse
from store import AuthorizationCode, Redemption

CODE_LIFETIME = timedelta(seconds=60)
_CODE = re.compile(r"[A-Za-z0-9_-]{43}")
_PKCE_VALUE = re.compile(r"[A-Za-z0-9._~-]{43,128}")
"""RFC 7636 §4.1-4.2: a code verifier, and an S256 challenge as we accept one."""


def is_pkce_value(value: str) -> bool:
    """Whether `value` has the syntax of a PKCE code verifier or challenge (43-128 unreserved)."""
    return _PKCE_VALUE.fullmatch(value) is not None


def s256(code_verifier: str) -> str:
    """The S256 code challenge of a verifier: BASE64URL(SHA256(ASCII(verifier))), unpadded."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


class AuthorizationCodeReused(InvalidGrant):
    """A code presented after it was redeemed: the session that redemption started is now ended."""

    def __init__(self, user_id: str, session_id: str | None) -> None:
        super().__init__("this authorization code was already used; sign in again", code="invalid_grant")
        self.user_id = user_id
        self.session_id = session_id


class AuthorizationCodes:
    """Issuing and redeeming codes, on the sessions' store and clock."""

    def __init__(self, sessions: Sessions, *, lifetime: timedelta = CODE_LIFETIME) -> None:
        self.sessions = sessions
        self.lifetime = lifetime

    async def issue(self, user_id: str, redirect_uri: str, code_challenge: str) -> str:
        """A new code for `user_id`, redeemable once within the lifetime with exactly this
        `redirect_uri` and a verifier whose S256 is `code_challenge`."""
        now = self.sessions.clock()
        code = secrets.token_urlsafe(32)
        record = AuthorizationCode(
            user_id=user_id,
            redirect_uri=redirect_uri,
            code_challenge=code_challenge,
            expires_at=now + self.lifetime,
        )
        await self.sessions.store.create_authorization_code(code_hash(code), record, now)
        return code

    async def redeem(
        self, code: str, *, redirect_uri: str, code_verifier: str, user_agent: str | None
    ) -> TokenResponse:
        """A new session's tokens for the code's user. Raises InvalidGrant (unknown, expired,
        malformed code, other redirect URI, wrong verifier), or AuthorizationCodeReused after
        ending the session the code's first redemption started."""
        if _CODE.fullmatch(code) is None:
            raise InvalidGrant("the authorization code is malformed")
        now = self.sessions.clock()
        session_id = new_id()
        result = await self.sessions.store.redeem_authorization_code(code_hash(code), now, session_id)
        if result.outcome is Redemption.UNKNOWN or result.code is None:
            raise InvalidGrant("the authorization code is unknown or has expired")
        record = result.code
        if result.outcome is Redemption.REUSED:
            if record.session_id is not None:
                try:
                    await self.sessions.store.revoke_session(record.user_id, record.session_id, now)
                except NotFound:
                    pass  # never started (a failed redemption), or already ended
            raise AuthorizationCodeReused(record.user_id, record.session_id)
        if not hmac.compare_digest(redirect_uri.encode(), record.redirect_uri.encode()):
            raise InvalidGrant("`redirect_uri` is not the one this code was issued for")
        if not is_pkce_value(code_verifier) or not hmac.compare_digest(
            s256(code_verifier).encode(), record.code_challenge.encode()
        ):
            raise InvalidGrant("the code verifier does not match the code challenge")
        return await self.sessions.start(record.user_id, user_agent, session_id=session_id)
