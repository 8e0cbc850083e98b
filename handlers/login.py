"""Signing in with Google (or any OpenID Connect provider): the authorization code flow with PKCE.

`GET /api/login` starts an attempt and sends the browser to the provider; `GET /api/callback` is
where the provider sends it back. The attempt's secrets (state, nonce, PKCE verifier) wait in between
in an encrypted cookie (`server.sessions`). The callback always answers with a redirect to the
frontend: `#access_token=<jwt>&refresh_token=<opaque>&expires_in=<s>&token=<legacy jwt>` on success
(a new session, `services.sessions`), `#error=<code>&error_description=...` otherwise. Fragments never
reach a server or a Referer header, and the responses also say `Referrer-Policy: no-referrer`.

A native app's attempt (RFC 8252: `redirect_uri` one of NATIVE_REDIRECT_URIS, a PKCE
`code_challenge`, its `state`) ends instead at its redirect URI: `?code=<one-time code>&state=…`
(`services.authorization_codes`), or `?error=<RFC 6749 error>&error_description=…&state=…`.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

from aiohttp import web
from aiohttp_session import Session

from domain import BadRequest, Conflict, DomainError, Unavailable
from handlers.schemas import ERROR
from server.config import Config
from server.keys import AUTHORIZATION_CODES, CONFIG, SERVICES, SESSIONS
from server.native_redirects import native_redirect
from server.oidc import OIDC, OidcClient, SignInError
from server.routing import Api, Reply
from server.sessions import LIFETIME_SECONDS, SIGN_IN_COOKIES
from server.tokens import issue_token
from services.authorization_codes import is_pkce_value

log = logging.getLogger(__name__)

api = Api("auth")

ATTEMPTS_KEY = "sign_in_attempts"
MAX_PENDING_ATTEMPTS = 3
"""Attempts kept at once (a few tabs signing in side by side); the oldest goes first. With `next`
at its longest, three still fit the 4 KB a browser keeps of a cookie."""
MAX_APP_STATE_LENGTH = 256
"""A native app's `state`, longest; so MAX_PENDING_ATTEMPTS native attempts fit the cookie."""
_APP_ERRORS = {
    "invalid_request": "invalid_request",
    "access_denied": "access_denied",
    "account_conflict": "access_denied",
    "email_not_verified": "access_denied",
    "sign_in_failed": "access_denied",
    "provider_unavailable": "temporarily_unavailable",
}
"""Our sign-in failure codes as RFC 6749 §4.1.2.1 errors for a native app; others: server_error."""
_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
_ENCODED_DOT = re.compile(r"%2e", re.IGNORECASE)

_REDIRECT = Reply(
    "a redirect (`Location`): to the provider, or back to the frontend with "
    "`#access_token=<jwt>&refresh_token=<opaque>&expires_in=<seconds>&token=<legacy jwt>` or "
    "`#error=<code>&error_description=<text>`; for a native app, to its `redirect_uri` with "
    "`?code=<code>&state=<state>` or `?error=<error>&error_description=<text>&state=<state>` "
    "(`error`: invalid_request, access_denied, temporarily_unavailable, server_error; after the "
    "provider also `error_code`, our reason)",
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
                "under FRONTEND_BASE_URL or under this server's own `/app/` (the web app it "
                "serves, when built). Not with `redirect_uri`.",
            },
            "redirect_uri": {
                "type": "string",
                "maxLength": 512,
                "description": "native apps (RFC 8252): where to send the app's authorization code, "
                "one of NATIVE_REDIRECT_URIS (a loopback `http://127.0.0.1/...` or "
                "`http://[::1]/...` one with any port). Requires `code_challenge`.",
            },
            "code_challenge": {
                "type": "string",
                "maxLength": 1024,
                "description": "native apps: the PKCE challenge (RFC 7636), BASE64URL(SHA256(verifier)), "
                "43-128 characters of `A-Z a-z 0-9 - . _ ~`",
            },
            "code_challenge_method": {
                "type": "string",
                "maxLength": 64,
                "description": "native apps: must be `S256` (`plain` is refused)",
            },
            "state": {
                "type": "string",
                "maxLength": MAX_APP_STATE_LENGTH,
                # RFC 6749 §4.1.1: VSCHAR only, so its size in the sign-in cookie is bounded.
                "pattern": "^[\\x20-\\x7e]*$",
                "description": "native apps: an opaque value (printable ASCII) sent back unchanged with "
                "the code or error",
            },
        },
    },
    replies={
        302: _REDIRECT,
        400: Reply(
            "`next` leads outside the frontend, or `redirect_uri` is not an allowed one, or both "
            "are given (code `invalid_redirect`)",
            ERROR,
        ),
        503: _NOT_CONFIGURED,
    },
)
async def login(request: web.Request, query: dict[str, Any]) -> web.Response:
    """Each attempt gets its own `state`, `nonce` and PKCE verifier. If the provider cannot be
    reached, the browser goes back to the frontend with `#error=provider_unavailable` (a native
    app: to its redirect URI with `error=temporarily_unavailable`).

    With `redirect_uri` the attempt is a native app's: the redirect URI must be allowed (else 400,
    never a redirect to it); a missing or malformed `code_challenge` or a method other than `S256`
    sends the browser back to the app with `error=invalid_request`."""
    config = request.app[CONFIG]
    client = _client(request)
    attempt: dict[str, Any] = {}
    if "redirect_uri" in query:
        if query.get("next"):
            raise BadRequest("give `next` or `redirect_uri`, not both", code="invalid_redirect")
        app = _native_app(config, query)
        if isinstance(app, web.Response):
            return app
        attempt["app"] = app
    else:
        attempt["landing"], attempt["base"] = post_login_url(config.landing_bases, query.get("next"))
    state, nonce, verifier = (secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(64))
    try:
        location = await client.authorization_url(
            state=state,
            nonce=nonce,
            code_verifier=verifier,
            # RFC 8252 §8.6: any local app can start a native sign-in (loopback ports and private
            # schemes are not the app's alone), so the person must see and approve it every time.
            prompt="consent" if "app" in attempt else None,
        )
    except SignInError as exc:
        log.warning("sign-in could not start: %s", exc.description)
        return _failed(config, exc.code, exc.description, attempt)
    cookies = request.app[SIGN_IN_COOKIES]
    session = await cookies.load_session(request)
    attempts = _live_attempts(session)
    attempts[state] = {"nonce": nonce, "verifier": verifier, "started": int(time.time()), **attempt}
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
    if state is None and "error" in query and len(attempts) == 1:
        # A provider that leaves `state` out of an error answer: with one attempt pending, the
        # error is that attempt's to hear, where it began (a native app's would reach no one at
        # the frontend, nor would the served web app's).
        state = next(iter(attempts))
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
    app = attempt.get("app") if attempt is not None else None
    if "error" in query and (attempt is not None or state is None):
        # Some providers leave `state` out of error answers (RFC 6749 §4.1.2.1 wants it). Nothing
        # is exchanged either way; this only chooses the message the frontend shows.
        code = "access_denied" if query["error"] == "access_denied" else "provider_error"
        return _failed(config, code, query.get("error_description") or query["error"], attempt)
    if attempt is None:
        return _failed(
            config, "invalid_state", "this sign-in attempt is unknown, expired or already used; start again"
        )
    if not query.get("code"):
        return _failed(config, "provider_error", "the provider sent no authorization code", attempt)
    try:
        identity = await client.sign_in(
            code=query["code"],
            code_verifier=attempt["verifier"],
            nonce=attempt["nonce"],
            iss_parameter=query.get("iss"),
        )
    except SignInError as exc:
        log.warning("sign-in failed (%s): %s", exc.code, exc.description)
        return _failed(config, exc.code, exc.description, attempt)
    try:
        user = await request.app[SERVICES].people.sign_in(
            identity.account_key, identity.email, identity.name, identity.picture
        )
    except Conflict as exc:
        return _failed(config, "account_conflict", exc.message, attempt)
    except Unavailable:
        raise
    except DomainError as exc:
        log.warning("sign-in of %s refused by the store: %s", identity.email, exc.message)
        return _failed(config, "sign_in_failed", exc.message, attempt)
    if app is not None:
        code = await request.app[AUTHORIZATION_CODES].issue(
            user.id, app["redirect_uri"], app["code_challenge"]
        )
        return _redirect(_app_url(app, {"code": code}))
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


def post_login_url(bases: Sequence[str], requested: str | None) -> tuple[str, str]:
    """Where to land after signing in, and under which of `bases` (the frontend, then the web app
    this server serves): `requested` is resolved against the first and must stay within one of
    them (no open redirect). Raises BadRequest (code `invalid_redirect`)."""
    allowed = [base.rstrip("/") + "/" for base in bases]
    if not requested:
        return allowed[0], allowed[0]
    if any(ord(c) < 0x21 or ord(c) == 0x7F or c in "\\#" for c in requested) or _ENCODED_DOT.search(
        requested
    ):
        raise _outside(requested)
    target = urljoin(allowed[0], requested)
    parts = urlsplit(target)
    if "/../" not in parts.path + "/":
        for base in allowed:
            within = urlsplit(base)
            if (parts.scheme, parts.netloc) == (within.scheme, within.netloc) and (
                parts.path + "/"
            ).startswith(within.path):
                return target, base
    raise _outside(requested)


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


def _failed(
    config: Config, code: str, description: str, attempt: dict[str, Any] | None = None
) -> web.Response:
    """Back to where the attempt began (the frontend, or the web app this server serves) with
    `#error=<code>`, or, for a native app's attempt, to its redirect URI with the RFC 6749
    §4.1.2.1 `error` and our `code` as `error_code`. Without a known attempt: the frontend."""
    app = attempt.get("app") if attempt is not None else None
    if app is not None:
        error = _APP_ERRORS.get(code, "server_error")
        return _redirect(
            _app_url(app, {"error": error, "error_description": description[:300], "error_code": code})
        )
    base = (attempt or {}).get("base") or config.frontend_base_url.rstrip("/") + "/"
    fragment = urlencode({"error": code, "error_description": description[:300]})
    return _redirect(f"{base}#{fragment}")


def _native_app(config: Config, query: dict[str, Any]) -> dict[str, str] | web.Response:
    """A native attempt's app part (its redirect URI, PKCE challenge and state), or the redirect
    back to the app saying why the request is refused. Raises BadRequest (`invalid_redirect`) for a
    redirect URI that is not allowed: nothing is ever sent to one."""
    requested = query["redirect_uri"]
    redirect_uri = native_redirect(config.native_redirect_uris, requested)
    if redirect_uri is None:
        raise BadRequest(
            f"`redirect_uri` is not one of this server's NATIVE_REDIRECT_URIS, got {requested[:200]!r}",
            code="invalid_redirect",
        )
    app = {"redirect_uri": redirect_uri, "code_challenge": query.get("code_challenge", "")}
    if "state" in query:
        app["state"] = query["state"]
    method = query.get("code_challenge_method")
    if not app["code_challenge"]:
        problem = "`code_challenge` is required (PKCE, RFC 7636)"
    elif not is_pkce_value(app["code_challenge"]):
        problem = "`code_challenge` must be 43-128 characters of A-Z a-z 0-9 - . _ ~"
    elif method != "S256":
        problem = "`code_challenge_method` must be S256"
    else:
        return app
    return _failed(config, "invalid_request", problem, {"app": app})


def _app_url(app: dict[str, str], parameters: dict[str, str]) -> str:
    """The app's redirect URI with `parameters` and its `state` in the query (RFC 6749 §4.1.2)."""
    if "state" in app:
        parameters = {**parameters, "state": app["state"]}
    uri = app["redirect_uri"]
    return f"{uri}{'&' if '?' in uri else '?'}{urlencode(parameters)}"
