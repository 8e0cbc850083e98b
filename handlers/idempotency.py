"""Idempotency-Key handling for creating POSTs.

A retried POST with the same key and body replays the first answer and creates nothing; the same
key with another body is refused (422); a retry while the first is still running gets 409. The
answer is recorded by the store in the same atomic write as the change (`IdempotentReply`), so a
crash can never leave a change without its answer or an answer without its change.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from domain import IdempotentReply, Invalid
from domain.clock import utc_now
from server.keys import CLAIMS, STORE

HEADER = "Idempotency-Key"
HEADER_DOC = {
    HEADER: (
        "optional, 1-255 visible ASCII characters; a retry with the same key and body replays the "
        "first answer, the same key with another body is refused (422)"
    )
}
_SANE_KEY = re.compile(r"[\x21-\x7e]{1,255}")


@dataclass(slots=True)
class IdempotencySlot:
    user_id: str
    key: str | None
    replay: web.Response | None = None

    def reply(
        self, status: int, payload: Any, headers: dict[str, str] | None = None
    ) -> IdempotentReply | None:
        """What the store records with the change, when the request carried a key."""
        if self.key is None:
            return None
        recorded = {"headers": headers or {}, "body": payload}
        return IdempotentReply(user_id=self.user_id, key=self.key, status=status, body=json.dumps(recorded))


@asynccontextmanager
async def idempotency(request: web.Request, body: Any) -> AsyncIterator[IdempotencySlot]:
    """Claim the request's key (if any) for the block; `slot.replay` is set when this is a retry
    of a completed request. An error inside the block releases the claim, so a later retry runs
    afresh."""
    user_id = request[CLAIMS].user_id
    key = request.headers.get(HEADER)
    slot = IdempotencySlot(user_id=user_id, key=key)
    if key is None:
        yield slot
        return
    if not _SANE_KEY.fullmatch(key):
        raise Invalid(
            f"{HEADER} must be 1-255 visible ASCII characters",
            details=[{"field": HEADER, "message": "1-255 visible ASCII characters"}],
        )
    store = request.app[STORE]
    stored = await store.claim_idempotency_key(user_id, key, _fingerprint(request, body), utc_now())
    if stored is not None:
        recorded = json.loads(stored.body)
        slot.replay = web.json_response(
            recorded["body"],
            status=stored.status,
            headers={**recorded["headers"], "Idempotent-Replayed": "true"},
        )
        yield slot
        return
    try:
        yield slot
    except BaseException:
        await store.release_idempotency_key(user_id, key)
        raise


def _fingerprint(request: web.Request, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()
