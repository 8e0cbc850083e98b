"""Conditional reads (RFC 9110 §13.1.2, §13.2): every JSON answer to a GET carries an ETag made from
the exact bytes it sends, and `If-None-Match` with that ETag turns the next answer into a bodiless
304, so a client polling an unchanged group pays a round trip and no body.

Why a digest of the body and not the record's version: a body can change while no version does
(the `users` names map when someone renames themselves, a group's members, the caller's own
`role`), and a 304 must never hide a changed body. A digest of the bytes is right for every answer,
lists included, without each handler knowing what its body depends on.

A versioned record's answer keeps its version in front of the digest, `"3.Qm9vZm9vZm9vZm9v"`, so
the ETag a GET returns is still what `If-Match` takes on a write: `If-Match` compares versions
(handlers/fields.py reads the part before the dot), `If-None-Match` compares whole tags."""

from __future__ import annotations

import base64
import hashlib
import re

from aiohttp import hdrs, web

DIGEST_BYTES = 12
"""SHA-256 cut to 96 bits: a changed body that keeps its tag by chance is not something any client
will see. SHA-256 rather than blake2b because CPUs with SHA extensions (x86 since ~2017, ARMv8)
hash twice as fast with it: about 60 µs for a 50-expense page, bench/etag_bench.py."""

PERSONAL_CACHING = "private, no-cache"
"""What a personalised answer allows: a browser (never a shared cache) may keep it, and must ask
again each time, with If-None-Match, before using it."""

_ENTITY_TAG = re.compile(r'(?:W/)?"([^"]*)"')
_HEADERS_NOT_SENT_ON_304 = frozenset({"content-type", "content-length", "content-encoding"})


def body_digest(body: bytes) -> str:
    """A short, URL-safe digest of `body` (SHA-256 cut to 96 bits, base64url: 16 characters)."""
    digest = hashlib.sha256(body).digest()[:DIGEST_BYTES]
    return base64.urlsafe_b64encode(digest).decode("ascii")


def body_etag(body: bytes, version_tag: str | None = None) -> str:
    """The strong ETag of an answer whose body is `body`: `"<digest>"`, or `"<version>.<digest>"`
    when the handler tagged it with a versioned record's ETag (`"3"`)."""
    version = _opaque(version_tag) if version_tag else None
    digest = body_digest(body)
    return f'"{version}.{digest}"' if version else f'"{digest}"'


def none_match(if_none_match: str, etag: str) -> bool:
    """Whether an If-None-Match field value matches `etag`: `*` matches any current answer, and a
    list of tags matches when one of them equals `etag` by weak comparison (`W/` is ignored on
    either side, §8.8.3.2). Entries that are not quoted tags are ignored."""
    if if_none_match.strip() == "*":
        return True
    ours = _opaque(etag)
    return any(found.group(1) == ours for found in _ENTITY_TAG.finditer(if_none_match))


def conditional(request: web.Request, response: web.StreamResponse, *, personal: bool) -> web.StreamResponse:
    """`response` with its ETag (and, when `personal`, its caching headers), or a 304 in its place
    when the request's If-None-Match matches. Only a complete 200 JSON body is tagged: streamed
    answers, files and everything else go out untouched."""
    if (
        type(response) is not web.Response
        or response.status != 200
        or response.content_type != "application/json"
        or not isinstance(response.body, bytes)
    ):
        return response
    etag = body_etag(response.body, response.headers.get(hdrs.ETAG))
    response.headers[hdrs.ETAG] = etag
    if personal:
        response.headers.setdefault(hdrs.CACHE_CONTROL, PERSONAL_CACHING)
        vary = response.headers.get(hdrs.VARY, "")
        if "authorization" not in vary.lower():
            response.headers[hdrs.VARY] = f"{vary}, Authorization" if vary else "Authorization"
    offered = request.headers.get(hdrs.IF_NONE_MATCH)
    if offered is None or not none_match(offered, etag):
        return response
    # §15.4.5: a 304 carries the ETag, Cache-Control and Vary the 200 would have carried.
    kept = {
        name: value
        for name, value in response.headers.items()
        if name.lower() not in _HEADERS_NOT_SENT_ON_304
    }
    return web.Response(status=304, headers=kept)


def _opaque(tag: str) -> str:
    """The opaque part of an entity tag: `W/"3"` and `"3"` are both `3`."""
    found = _ENTITY_TAG.fullmatch(tag.strip())
    return found.group(1) if found else tag.strip()
