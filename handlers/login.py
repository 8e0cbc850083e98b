"""Signing in with Google (or any OpenID Connect provider): the authorization code flow with PKCE.

`GET /api/login` starts an attempt and sends the browser to the provider; `GET /api/callback` is
where the provider sends it back. The attempt's secrets (state, nonce, PKCE verifier) wait in between
in an encrypted cookie (`server.sessions`). The callback always answers with a redirect to the
frontend: `#access_token=<jwt>&refresh_token=<opaque>&expires_in=<s>&token=<legacy jwt>` on success
(a new session, `services.sessions`), `#error=<code>&error_description=...` otherwise. Fragments never
reach a server or a Referer header, and the responses also say `Referrer-Policy: no-referrer`.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

from aiohttp import web
from aiohttp_session import Session

from domain import BadRequest, Conflict, DomainError, Unavailable
from handlers.schemas import ERROR
from server.config import Config
from server.keys import CONFIG, SESSIONS, STORE
from server.oidc import OIDC, OidcClient, SignInError
from server.routing import Api, Reply
from server.sessions import LIFETIME_SECONDS, SIGN_IN_COOKIES
from server.tokens import issue_token

log = logging.getLogger(__name__)

api = Api("auth")

ATTEMPTS_KEY = "sign_in_attempts"
MAX_PENDING_ATTEMPTS = 3
"""Attempts kept at once (a few tabs signing in side by side); the oldest goes first. With `next`
at its longest, three still fit the 4 KB a browser keeps of a cookie."""
_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
_ENCODED_DOT = re.compile(r"%2e", re.IGNORECASE)

_REDIRECT = Reply(
    "a redirect (`Location`): to the provider, or back to the frontend with "
    "`#access_token=<jwt>&refresh_token=<opaque>&expires_in=<seconds>&token=<legacy jwt>` or "
    "`#error=<code>&error_description=<text>`",
    headers=("Location",),
)
_NOT_CONFIGURED = Reply("sign-in is not configured (code `sign_in_not_configured`)", ERROR)


@api.get(
    "/api/login",
    summary="Start signing in: redirects to the OpenID Connect provider (Google by default)",
    public=True,
    query={
        "type": "object",
        "properties": {
            "next": {
                "type": "string",
                "maxLength": 512,
                "description": "where in the frontend to land after signing in: a path, or a URL "
                "under FRONTEND_BASE_URL",
            }
        },
    },
    replies={
        302: _REDIRECT,
        400: Reply("`next` leads outside the frontend (code `invalid_redirect`)", ERROR),
        503: _NOT_CONFIGURED,
    },
)
async def login(request: web.Request, query: dict[str, Any]) -> web.Response:
    """Each attempt gets its own `state`, `nonce` and PKCE verifier. If the provider cannot be
    reached, the browser goes back to the frontend with `#error=provider_unavailable`."""
    config = request.app[CONFIG]
    client = _client(request)
    landing = post_login_url(config.frontend_base_url, query.get("next"))
    state, nonce, verifier = (secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(64))
    try:
        location = await client.authorization_url(state=state, nonce=nonce, code_verifier=verifier)
    except SignInError as exc:
        log.warning("sign-in could not start: %s", exc.description)
        return _failed(config, exc.code, exc.description)
    cookies = request.app[SIGN_IN_COOKIES]
    session = await cookies.load_session(request)
    attempts = _live_attempts(session)
    attempts[state] = {"nonce": nonce, "verifier": verifier, "landing": landing, "started": int(time.time())}
    while len(attempts) > MAX_PENDING_ATTEMPTS:
        attempts.pop(min(attempts, key=lambda key: attempts[key]["started"]))
    session[ATTEMPTS_KEY] = attempts
    response = _redirect(location)
    await cookies.save_session(request, response, session)
    return response


@api.get(
    "/api/callback",
    summary="Where the provider sends the browser back; redirects to the frontend",
    public=True,
    query={
        "type": "object",
        "properties": {
            "code": {"type": "string"},
            "state": {"type": "string"},
            "iss": {"type": "string"},
            "error": {"type": "string"},
            "error_description": {"type": "string"},
        },
    },
    replies={
        302: _REDIRECT,
        503: Reply(
            "sign-in is not configured (code `sign_in_not_configured`), or the store is unavailable", ERROR
        ),
    },
)
async def callback(request: web.Request, query: dict[str, Any]) -> web.Response:
    """The `state` must be one this browser's cookie holds, and works once. The code is exchanged
    (with the PKCE verifier and the client secret) and the ID token verified; the account is found
    by the provider's subject, or linked by verified e-mail address on the first sign-in."""
    client = _client(request)
    cookies = request.app[SIGN_IN_COOKIES]
    session = await cookies.load_session(request)
    attempts = _live_attempts(session)
    state = query.get("state")
    attempt = attempts.pop(state, None) if isinstance(state, str) else None
    if attempts:
        session[ATTEMPTS_KEY] = attempts
    else:
        session.invalidate()
    response = await _complete(request, client, query, state, attempt)
    await cookies.save_session(request, response, session)
    return response


async def _complete(
    request: web.Request,
    client: OidcClient,
    query: dict[str, Any],
    state: str | None,
    attempt: dict[str, Any] | None,
) -> web.Response:
    """The redirect that ends the attempt: to the landing page with a token, or with an error."""
    config = request.app[CONFIG]
    if "error" in query and (attempt is not None or state is None):
        # Some providers leave `state` out of error answers (RFC 6749 §4.1.2.1 wants it). Nothing
        # is exchanged either way; this only chooses the message the frontend shows.
        code = "access_denied" if query["error"] == "access_denied" else "provider_error"
        return _failed(config, code, query.get("error_description") or query["error"])
    if attempt is None:
        return _failed(
            config, "invalid_state", "this sign-in attempt is unknown, expired or already used; start again"
        )
    if not query.get("code"):
        return _failed(config, "provider_error", "the provider sent no authorization code")
    try:
        identity = await client.sign_in(
            code=query["code"],
            code_verifier=attempt["verifier"],
            nonce=attempt["nonce"],
            iss_parameter=query.get("iss"),
        )
    except SignInError as exc:
        log.warning("sign-in failed (%s): %s", exc.code, exc.description)
        return _failed(config, exc.code, exc.description)
    try:
        user = await request.app[STORE].ensure_oidc_user(
            identity.account_key, identity.email, identity.name, identity.picture
        )
    except Conflict as exc:
        return _failed(config, "account_conflict", exc.message)
    except Unavailable:
        raise
    except DomainError as exc:
        log.warning("sign-in of %s refused by the store: %s", identity.email, exc.message)
        return _failed(config, "sign_in_failed", exc.message)
    tokens = await request.app[SESSIONS].start(user.id, request.headers.get("User-Agent"))
    token, _ = issue_token(
        secret=config.secret_key,
        issuer=config.jwt_issuer,
        user_id=user.id,
        lifetime=timedelta(hours=config.jwt_expiration_hours),
    )
    fragment = urlencode(
        {
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            "expires_in": tokens.expires_in,
            "token": token,
        }
    )
    return _redirect(f"{attempt['landing']}#{fragment}")


def post_login_url(frontend_base_url: str, requested: str | None) -> str:
    """Where to land after signing in: `requested` resolved against the frontend, which it must
    not leave (no open redirect). Raises BadRequest (code `invalid_redirect`)."""
    base = frontend_base_url.rstrip("/") + "/"
    if not requested:
        return base
    if any(ord(c) < 0x21 or ord(c) == 0x7F or c in "\\#" for c in requested) or _ENCODED_DOT.search(
        requested
    ):
        raise _outside(requested)
    target = urljoin(base, requested)
    parts, allowed = urlsplit(target), urlsplit(base)
    if (
        (parts.scheme, parts.netloc) != (allowed.scheme, allowed.netloc)
        or not parts.path.startswith(allowed.path)
        or "/../" in parts.path + "/"
    ):
        raise _outside(requested)
    return target


def _outside(requested: str) -> BadRequest:
    return BadRequest(
        f"`next` must stay within the frontend, got {requested[:200]!r}", code="invalid_redirect"
    )


def _client(request: web.Request) -> OidcClient:
    client = request.app.get(OIDC)
    if client is None:
        raise Unavailable(
            "sign-in is not configured on this server (GOOGLE_CLIENT_ID is not set)",
            code="sign_in_not_configured",
        )
    return client


def _live_attempts(session: Session) -> dict[str, dict[str, Any]]:
    """The session's pending attempts that have not yet expired."""
    stored = session.get(ATTEMPTS_KEY)
    if not isinstance(stored, dict):
        return {}
    oldest = time.time() - LIFETIME_SECONDS
    return {
        state: attempt
        for state, attempt in stored.items()
        if isinstance(attempt, dict) and attempt.get("started", 0) > oldest
    }


def _redirect(location: str) -> web.Response:
    return web.Response(status=302, headers={"Location": location, **_NO_STORE})


def _failed(config: Config, code: str, description: str) -> web.Response:
    fragment = urlencode({"error": code, "error_description": description[:300]})
    return _redirect(f"{config.frontend_base_url.rstrip('/')}/#{fragment}")
