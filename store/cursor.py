"""Opaque page cursors: a backend's resume position, base64url-encoded JSON, tagged by kind so a
cursor from one listing is refused by another. Both backends encode the same positions, and check
them here, so a cursor means the same, and is refused the same, whichever backend issued it."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from domain import BadRequest
from domain.clock import from_text


def foreign_cursor() -> BadRequest:
    return BadRequest("cursor is not one this server issued", code="invalid_cursor")


def encode_cursor(kind: str, position: Any) -> str:
    raw = json.dumps({"k": kind, "p": position}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(kind: str, cursor: str) -> Any:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeEncodeError) as exc:
        raise foreign_cursor() from exc
    if not isinstance(data, dict) or data.get("k") != kind or "p" not in data:
        raise foreign_cursor()
    return data["p"]


def _parts(position: Any, count: int) -> list[str]:
    """`position` as `count` non-empty strings, else the cursor was not ours."""
    if not (
        isinstance(position, list)
        and len(position) == count
        and all(isinstance(part, str) and part for part in position)
    ):
        raise foreign_cursor()
    return position


def cursor_pair(position: Any) -> tuple[str, str]:
    first, second = _parts(position, 2)
    return first, second


def dated_position(position: Any) -> tuple[str, str, str]:
    """A dated listing's [date, created_at, id] (expenses, settlements). Neither the date nor the
    time may hold `#`, the separator of DynamoDB's sort keys."""
    date, created_at, record_id = _parts(position, 3)
    if "#" in date or "#" in created_at:
        raise foreign_cursor()
    return date, created_at, record_id


def timed_pair(kind: str, cursor: str) -> tuple[str, str]:
    """A [timestamp, id] cursor of `kind` (chat messages, a user's groups); the time must parse."""
    moment, record_id = cursor_pair(decode_cursor(kind, cursor))
    try:
        from_text(moment)
    except ValueError:
        raise foreign_cursor() from None
    return moment, record_id


def invite_cursor(cursor: str) -> str:
    """The id a page of a group's invites resumes after (position `["after", <id>]`)."""
    tag, invite_id = cursor_pair(decode_cursor("invites", cursor))
    if tag != "after":
        raise foreign_cursor()
    return invite_id


def comment_cursor(cursor: str) -> str:
    """The id a page of a subject's comments resumes after (position `["after", <id>]`)."""
    tag, comment_id = cursor_pair(decode_cursor("comments", cursor))
    if tag != "after":
        raise foreign_cursor()
    return comment_id


def after_cursor(kind: str, record_id: str) -> str:
    """The cursor `invite_cursor` or `comment_cursor` reads back."""
    return encode_cursor(kind, ["after", record_id])


def notification_cursor(cursor: str) -> str:
    """The id a page of notifications resumes before (position `["after", <id>]`)."""
    tag, notification_id = cursor_pair(decode_cursor("notifications", cursor))
    if tag != "after":
        raise foreign_cursor()
    return notification_id
