"""`POST /api/groups/{id}/import` (docs/imports.md): a Splitwise CSV export or this server's own
JSON export, as the body (`text/csv`, `application/json`) or as the file part of a multipart
upload (with an optional `mapping` part); `?dry_run=true` first."""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from domain import BadRequest, Invalid, PayloadTooLarge, UnsupportedMediaType
from handlers.access import membership, require_admin
from handlers.ocr import malformed_multipart
from handlers.schemas import ERROR, ID, Schema
from ledger.splitwise import MAX_ROWS, broken
from server.keys import SERVICES
from server.routing import Api, Reply, json_reply, json_text
from services.import_files import ReadFile, read_csv, read_json
from services.imports import MAX_PAGE

api = Api("imports")

MAX_FILE_BYTES = 32 * 1024 * 1024
"""The largest file an import reads (10,000 Splitwise lines are about 1 MiB; this server's JSON
export of 10,000 expenses about 8 MiB)."""
MAX_MAPPING_BYTES = 64 * 1024
READ_CHUNK_BYTES = 64 * 1024
_CSV_TYPES = ("text/csv", "application/csv", "text/comma-separated-values", "text/plain")
_JSON_TYPES = ("application/json",)

IMPORT_QUERY: Schema = {
    "type": "object",
    "properties": {
        "dry_run": {
            "type": "string",
            "enum": ["true", "false"],
            "default": "false",
            "description": "`true`: change nothing; show what the file would make and who is who",
        },
        "mapping": {
            "type": "string",
            "maxLength": MAX_MAPPING_BYTES,
            "description": (
                "a JSON object: the file's name for a person → a member's user id or e-mail, e.g. "
                '`{"Alice Smith": "alice@example.com"}` (a multipart `mapping` part may carry it too)'
            ),
        },
        "offset": {
            "type": "integer",
            "minimum": 0,
            "maximum": MAX_ROWS,
            "default": 0,
            "description": "first record shown",
        },
        "limit": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 100},
    },
}
_WHO: Schema = {
    "type": "object",
    "required": ["user_id", "name"],
    "properties": {"user_id": {"type": ["string", "null"]}, "name": {"type": "string"}},
}
_SHARE: Schema = {
    "type": "object",
    "required": ["user_id", "name", "amount"],
    "properties": {**_WHO["properties"], "amount": {"type": "string"}},
}
REPORT: Schema = {
    "type": "object",
    "required": [
        "dry_run",
        "format",
        "people",
        "counts",
        "created",
        "checked_lines",
        "skipped",
        "balances",
        "records",
        "next_offset",
    ],  # fmt: skip
    "additionalProperties": False,
    "properties": {
        "dry_run": {"type": "boolean"},
        "format": {"type": "string", "enum": ["splitwise", "expense_tracker"]},
        "people": {
            "type": "array",
            "description": "each person the file names, and the member they are taken to be",
            "items": {
                "type": "object",
                "required": ["name", "key", "email", "user_id", "matched_by", "candidates"],
                "properties": {
                    "name": {"type": "string"},
                    "key": {"type": "string", "description": "how the file names them (a column, a user id)"},
                    "email": {"type": ["string", "null"]},
                    "user_id": {"type": ["string", "null"], "description": "null: nobody matched"},
                    "matched_by": {"enum": ["mapping", "id", "email", "name", None]},
                    "candidates": {"type": "array", "items": ID, "description": "members sharing the name"},
                },
            },
        },
        "counts": {
            "type": "object",
            "description": "records in the file, those imported before, those new, lines skipped",
            "properties": {
                k: {"type": "integer"}
                for k in ("expenses", "transactions", "already_imported", "new", "skipped")
            },
        },
        "created": {
            "type": "object",
            "properties": {"expenses": {"type": "integer"}, "transactions": {"type": "integer"}},
        },
        "checked_lines": {
            "type": "array",
            "items": {"type": "integer"},
            "description": "the `Total balance` lines the file's records were checked against",
        },
        "skipped": {
            "type": "array",
            "description": "lines that make nothing (first 100)",
            "items": {"type": "object", "required": ["where", "line", "reason"]},
        },
        "balances": {
            "type": "array",
            "description": "what the file's records add to each person's balance, per currency",
            "items": {
                "type": "object",
                "required": ["user_id", "name", "currency", "amount"],
                "properties": {**_SHARE["properties"], "currency": {"type": "string"}},
            },
        },
        "records": {
            "type": "array",
            "description": "the records the file makes, from `offset`, at most `limit`",
            "items": {
                "type": "object",
                "required": ["type", "id", "where", "line", "already_imported", "date", "amount", "currency"],
                "properties": {
                    "type": {"enum": ["expense", "transaction"]},
                    "id": ID,
                    "where": {"type": "string", "description": "`line 12`, or `expenses[3]` in JSON"},
                    "line": {"type": ["integer", "null"]},
                    "already_imported": {"type": "boolean"},
                    "payers": {"type": "array", "items": _SHARE},
                    "shares": {"type": "array", "items": _SHARE},
                    "from": _WHO,
                    "to": _WHO,
                },
            },
        },
        "next_offset": {"type": ["integer", "null"]},
    },
}
_FILE = {"type": "string", "format": "binary"}


@api.post(
    "/api/groups/{group_id}/import",
    summary="Import a Splitwise CSV export or this server's JSON export into the group",
    description=(
        "Send the file as the body (`text/csv` or `application/json`) or as the file part of a "
        "`multipart/form-data` upload (a `mapping` part may carry the mapping). Try "
        "`?dry_run=true` first (any member): it shows who the file's people are taken to be, "
        "what it makes and what it adds to balances. The import itself (the owner or an admin) "
        "writes everything or nothing; importing the same file again makes nothing new."
    ),
    query=IMPORT_QUERY,
    upload={
        "text/csv": {"schema": {"type": "string"}},
        "application/json": {"schema": {"type": "object"}},
        "multipart/form-data": {
            "schema": {"type": "object", "properties": {"file": _FILE, "mapping": {"type": "string"}}}
        },
    },
    replies={
        200: Reply("the dry run's report, or the import's when the file held nothing new", REPORT),
        201: Reply("imported: the report, with what was created", REPORT),
        400: Reply("a multipart body that cannot be read, or without a file", ERROR),
        403: Reply("an import (not a dry run) by a plain member (`admin_only`)", ERROR),
        404: Reply("no such group, or the caller is not a member", ERROR),
        409: Reply(
            "someone the file involves is not a member (`not_a_member`), or another import into the "
            "group is being written (`import_in_progress`), or the same file kept being imported at "
            "the same moment (`record_exists`)",
            ERROR,
        ),
        413: Reply(f"the file is larger than {MAX_FILE_BYTES // 2**20} MiB (`file_too_large`)", ERROR),
        415: Reply("the body is neither CSV, JSON nor multipart", ERROR),
        503: Reply(
            "the store is unavailable, or the import took too long and lost its hold on the group; "
            "send it again (it makes nothing twice)",
            ERROR,
        ),
        422: Reply(
            "the file is not as Splitwise or this server writes it (`import_file`, with its `line`), "
            "a line's figures do not add up or disagree with its Total balance line, the mapping "
            "names someone who is not a member, or someone in the file matches nobody "
            "(`unmatched_people`, with the people in `details`)",
            ERROR,
        ),
    },
)
async def import_file(request: web.Request, query: dict[str, Any]) -> web.Response:
    group, me = await membership(request)
    dry_run = query["dry_run"] == "true"
    if not dry_run:
        require_admin(me)
    kind, data, mapping_text = await _read(request)
    mapping = _mapping(mapping_text if mapping_text is not None else query.get("mapping"))
    file = await asyncio.to_thread(_parse, kind, data)
    outcome = await request.app[SERVICES].imports.run(
        group, me.user_id, file, mapping, dry_run=dry_run, offset=query["offset"], limit=query["limit"]
    )
    return json_reply(json_text(outcome.report), status=outcome.status)


def _parse(kind: str, data: bytes) -> ReadFile:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise broken(data.count(b"\n", 0, exc.start) + 1, "is not UTF-8 text") from None
    if kind == "csv":
        return read_csv(io.StringIO(text, newline=""))
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise broken(exc.lineno, f"is not JSON ({exc.msg})") from None
    except RecursionError:
        raise broken(None, "is JSON nested too deeply") from None
    return read_json(value)


def _mapping(text: str | None) -> dict[str, str]:
    if text is None or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        value = None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise Invalid(
            "mapping: must be a JSON object of names to user ids or e-mails",
            details=[{"field": "mapping", "message": "must be a JSON object of strings"}],
        )
    return value


def _kind(content_type: str, filename: str | None, head: bytes) -> str | None:
    if content_type in _JSON_TYPES or (filename or "").lower().endswith(".json"):
        return "json"
    if content_type in _CSV_TYPES or (filename or "").lower().endswith(".csv"):
        return "csv"
    if content_type in ("", "application/octet-stream"):
        return "json" if head.lstrip()[:1] == b"{" else "csv"
    return None


async def _read(request: web.Request) -> tuple[str, bytes, str | None]:
    """(csv or json, the file's bytes, the multipart `mapping` part if any)."""
    declared = request.content_length
    if declared is not None and declared > MAX_FILE_BYTES + MAX_MAPPING_BYTES + 64 * 1024:
        raise _too_large()
    content_type = request.content_type
    if not content_type.startswith("multipart/"):
        data = await _limited(request.content.iter_chunked(READ_CHUNK_BYTES), MAX_FILE_BYTES)
        kind = _kind(content_type, None, data[:64])
        if kind is None:
            raise UnsupportedMediaType(
                "send the file as text/csv, application/json or multipart/form-data",
                code="unsupported_media_type",
            )
        return kind, data, None
    try:
        reader = await request.multipart()
        mapping: str | None = None
        found: tuple[str, bytes] | None = None
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue
            if part.name == "mapping" and not part.filename:
                raw = await _limited(_chunks(part), MAX_MAPPING_BYTES)
                mapping = raw.decode("utf-8", errors="replace")
            elif found is None and (part.filename or part.name == "file"):
                data = await _limited(_chunks(part), MAX_FILE_BYTES)
                part_type = part.headers.get("Content-Type", "").split(";")[0].strip().lower()
                kind = _kind(part_type, part.filename, data[:64])
                if kind is None:
                    raise UnsupportedMediaType(
                        "the file part must be CSV or JSON", code="unsupported_media_type"
                    )
                found = (kind, data)
            else:
                await part.release()
    except HttpProcessingError as exc:
        raise malformed_multipart(exc.message) from None
    except (ValueError, AssertionError, RuntimeError) as exc:
        raise malformed_multipart(str(exc)) from None
    if found is None:
        raise BadRequest("the multipart body has no file part", code="file_required")
    return found[0], found[1], mapping


async def _chunks(part: BodyPartReader) -> Any:
    while chunk := await part.read_chunk(READ_CHUNK_BYTES):
        yield chunk


async def _limited(chunks: Any, limit: int) -> bytes:
    """The chunks joined, 413 as soon as they pass `limit` (the app-wide limit is for JSON
    bodies and much smaller)."""
    read: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise _too_large()
        read.append(chunk)
    return b"".join(read)


def _too_large() -> PayloadTooLarge:
    return PayloadTooLarge(f"the file is larger than {MAX_FILE_BYTES:,} bytes", code="file_too_large")
