"""Sessions (issue 13): `POST /api/token` refreshes (RFC 6749 §6, with rotation) and redeems native
apps' authorization codes (§4.1.3 with PKCE), and the caller lists and ends their sign-in sessions.
Logout lives with the user (`handlers.users`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from domain import DomainError
from domain.client_json import read_json
from domain.clock import to_text
from handlers.schemas import ERROR, ID, Schema
from realtime.hub import HUB
from server.keys import AUTHORIZATION_CODES, CLAIMS, SESSIONS
from server.middleware import REQUEST_ID
from server.routing import Api, Reply
from services.authorization_codes import AuthorizationCodeReused
from services.sessions import InvalidGrant, RefreshTokenReused
from store import Session

api = Api("auth")

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_MAX_BODY = 4096

TOKEN_RESPONSE: Schema = {
    "title": "TokenResponse",
    "type": "object",
    "required": ["access_token", "refresh_token", "token_type", "expires_in"],
    "properties": {
        "access_token": {"type": "string", "description": "a JWT to send as `Authorization: Bearer`"},
        "refresh_token": {
            "type": "string",
            "description": "opaque; send it once to `POST /api/token` for the next pair, then forget it",
        },
        "token_type": {"type": "string", "enum": ["Bearer"]},
        "expires_in": {"type": "integer", "description": "seconds the access token lives"},
    },
}

OAUTH_ERROR: Schema = {
    "title": "OAuthError",
    "type": "object",
    "description": "RFC 6749 §5.2 error shape, plus the request id",
    "required": ["error", "error_description", "request_id"],
    "properties": {
        "error": {
            "type": "string",
            "enum": ["invalid_request", "invalid_grant", "unsupported_grant_type", "refresh_token_reused"],
        },
        "error_description": {"type": "string"},
        "request_id": {"type": "string"},
    },
}

SESSION: Schema = {
    "title": "Session",
    "type": "object",
    "required": ["id", "created_at", "last_used_at", "user_agent", "current"],
    "properties": {
        "id": ID,
        "created_at": {"type": "string", "format": "date-time"},
        "last_used_at": {"type": "string", "format": "date-time", "description": "the last refresh"},
        "user_agent": {"type": "string"},
        "current": {"type": "boolean", "description": "the session the request's token belongs to"},
    },
}


def _oauth_error(request: web.Request, status: int, error: str, description: str) -> web.Response:
    return web.json_response(
        {"error": error, "error_description": description, "request_id": request.get(REQUEST_ID, "-")},
        status=status,
        headers=_NO_STORE,
    )


async def _form(request: web.Request) -> dict[str, Any] | None:
    """The request's parameters: a JSON object, or an `application/x-www-form-urlencoded` body as
    RFC 6749 sends them. None when it is neither."""
    raw = await request.content.read(_MAX_BODY + 1)
    if len(raw) > _MAX_BODY:
        return None
    if request.content_type == "application/x-www-form-urlencoded":
        try:
            return dict(parse_qsl(raw.decode(), keep_blank_values=True))
        except (UnicodeDecodeError, ValueError):
            return None
    if request.content_type != "application/json":
        return None
    try:
        body = read_json(raw, what="request body")
    except DomainError:
        return None
    return body if isinstance(body, dict) else None


@api.post(
    "/api/token",
    summary="Tokens: refresh (rotation), or redeem a native app's authorization code",
    public=True,
    description=(
        'Refresh: send `{"grant_type": "refresh_token", "refresh_token": "..."}` as JSON (or '
        "form-encoded). The refresh token sent stops working at once; keep the new one. Sending it "
        "again within REFRESH_GRACE_SECONDS returns the same new refresh token (two racing "
        "refreshes of one client); later, it counts as theft: the whole session ends (401 "
        "`refresh_token_reused`).\n\n"
        'Native apps (RFC 8252, PKCE): send `{"grant_type": "authorization_code", "code": "...", '
        '"redirect_uri": "...", "code_verifier": "..."}` with the code `/api/login` sent to the '
        "redirect URI, that exact redirect URI (a loopback one with its port) and the PKCE verifier; "
        "`client_id` is accepted and ignored. A code works once, for 60 seconds; presenting it again "
        "also ends the session it started. The answer starts a new session, like a web sign-in."
    ),
    replies={
        200: Reply("the new pair (a new session's first, for an authorization code)", TOKEN_RESPONSE),
        400: Reply(
            "`invalid_request` (no JSON object, missing parameter), `unsupported_grant_type`, or "
            "`invalid_grant`: an unknown, forged, truncated, expired or ended refresh token; or an "
            "unknown, malformed, expired or already used authorization code, another redirect URI, "
            "a wrong code verifier",
            OAUTH_ERROR,
        ),
        401: Reply("`refresh_token_reused`: the session has been ended; sign in again", OAUTH_ERROR),
    },
)
async def token(request: web.Request) -> web.Response:
    form = await _form(request)
    if form is None:
        return _oauth_error(request, 400, "invalid_request", "send a JSON object (or a form) of parameters")
    grant_type = form.get("grant_type")
    if not isinstance(grant_type, str) or not grant_type:
        return _oauth_error(request, 400, "invalid_request", "`grant_type` is required")
    if grant_type == "authorization_code":
        return await _redeem_code(request, form)
    if grant_type != "refresh_token":
        return _oauth_error(
            request, 400, "unsupported_grant_type", "supported: `refresh_token`, `authorization_code`"
        )
    refresh_token = form.get("refresh_token")
    if not isinstance(refresh_token, str) or not refresh_token:
        return _oauth_error(request, 400, "invalid_request", "`refresh_token` is required")
    try:
        response = await request.app[SESSIONS].refresh(refresh_token)
    except InvalidGrant as exc:
        return _oauth_error(request, 400, "invalid_grant", exc.message)
    except RefreshTokenReused as exc:
        request.app[HUB].end_session(exc.user_id, exc.session_id)
        return _oauth_error(request, 401, "refresh_token_reused", exc.message)
    return web.json_response(response.json(), headers=_NO_STORE)


async def _redeem_code(request: web.Request, form: dict[str, Any]) -> web.Response:
    """RFC 6749 §4.1.3 with PKCE: a native app trades its authorization code for a session."""
    parameters = {}
    for name in ("code", "redirect_uri", "code_verifier"):
        value = form.get(name)
        if not isinstance(value, str) or not value:
            return _oauth_error(request, 400, "invalid_request", f"`{name}` is required")
        parameters[name] = value
    try:
        response = await request.app[AUTHORIZATION_CODES].redeem(
            parameters["code"],
            redirect_uri=parameters["redirect_uri"],
            code_verifier=parameters["code_verifier"],
            user_agent=request.headers.get("User-Agent"),
        )
    except AuthorizationCodeReused as exc:
        if exc.session_id is not None:
            request.app[HUB].end_session(exc.user_id, exc.session_id)
        return _oauth_error(request, 400, "invalid_grant", exc.message)
    except InvalidGrant as exc:
        return _oauth_error(request, 400, "invalid_grant", exc.message)
    return web.json_response(response.json(), headers=_NO_STORE)


def session_json(session: Session, current: str | None) -> dict[str, Any]:
    return {
        "id": session.id,
        "created_at": to_text(session.created_at),
        "last_used_at": to_text(session.last_used_at),
        "user_agent": session.user_agent,
        "current": session.id == current,
    }


@api.get(
    "/api/user/sessions",
    summary="The caller's sign-in sessions (one per device), most recently used first",
    replies={
        200: Reply(
            "live sessions (at most 100)",
            {
                "type": "object",
                "required": ["items"],
                "properties": {"items": {"type": "array", "items": SESSION}},
            },
        )
    },
)
async def list_sessions(request: web.Request) -> web.Response:
    claims = request[CLAIMS]
    sessions = await request.app[SESSIONS].live(claims.user_id)
    return web.json_response({"items": [session_json(s, claims.session_id) for s in sessions]})


@api.delete(
    "/api/user/sessions/{session_id}",
    summary="End one of the caller's sessions: its tokens stop working and its sockets close",
    replies={
        204: Reply("ended"),
        404: Reply("no live session of yours has this id", ERROR),
    },
)
async def end_session(request: web.Request) -> web.Response:
    claims = request[CLAIMS]
    session_id = request.match_info["session_id"]
    await request.app[SESSIONS].end(claims.user_id, session_id)
    request.app[HUB].end_session(claims.user_id, session_id)
    return web.Response(status=204)
