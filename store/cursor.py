"""Opaque page cursors: a backend's resume position, base64url-encoded JSON, tagged by kind so a
cursor from one listing is refused by another."""
from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from domain import BadRequest


def encode_cursor(kind: str, position: Any) -> str:
    raw = json.dumps({"k": kind, "p": position}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(kind: str, cursor: str) -> Any:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeEncodeError) as exc:
        raise BadRequest("cursor is not one this server issued", code="invalid_cursor") from exc
    if not isinstance(data, dict) or data.get("k") != kind or "p" not in data:
        raise BadRequest("cursor is not one this server issued", code="invalid_cursor")
    return data["p"]
