"""Receipt OCR: upload a photo and get its fields back; what the OCR can do right now."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from domain import BadRequest, Invalid, PayloadTooLarge, Unavailable, UnsupportedMediaType
from domain.clock import to_text, utc_now
from domain.ids import new_id
from handlers.schemas import CURRENCY, ERROR, ID, TIMESTAMP, Schema
from ledger import parse_amount
from ledger.itemized import receipt_split_draft
from ocr.imaging import EXTENSIONS, FORMATS, inspect
from ocr.pool import PoolBusy
from ocr.service import OCR, RECEIPTS
from server.keys import CLAIMS
from server.routing import Api, Reply

api = Api("ocr")

READ_CHUNK_BYTES = 64 * 1024
# Multipart framing (boundaries, part headers) on top of the image itself.
MULTIPART_OVERHEAD_BYTES = 16 * 1024

# In the currency's own decimals (ISO 4217): `12.30`, JPY `1280`, KWD `1.250`.
_MONEY: Schema = {"type": ["string", "null"], "pattern": r"^-?\d+(\.\d{2,3})?$"}
_CONFIDENCE: Schema = {"type": "number", "minimum": 0, "maximum": 1}
EXTRACTED: Schema = {
    "title": "ExtractedFields",
    "type": "object",
    "required": ["merchant", "date", "total", "currency", "subtotal", "tax", "items", "confidence"],
    "properties": {
        "merchant": {"type": ["string", "null"]},
        "date": {"type": ["string", "null"], "format": "date"},
        "total": _MONEY,
        "currency": {"type": ["string", "null"], "description": "ISO 4217, when printed"},
        "subtotal": _MONEY,
        "tax": _MONEY,
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["description", "quantity", "amount"],
                "properties": {
                    "description": {"type": "string"},
                    "quantity": {"type": "string"},
                    "amount": _MONEY,
                },
            },
        },
        "confidence": {
            "type": "object",
            "description": "per field found, 0..1: the rule's strength times Tesseract's",
            "additionalProperties": _CONFIDENCE,
        },
    },
}
SCAN_RESULT: Schema = {
    "title": "ScanResult",
    "type": "object",
    "required": [*EXTRACTED["required"], "receipt_id", "raw_text", "processing_ms", "image", "expense_draft"],
    "properties": {
        **EXTRACTED["properties"],
        "receipt_id": {**ID, "description": "send as an expense's `receipt_id` to attach it"},
        "raw_text": {"type": "string"},
        "processing_ms": {"type": "number", "description": "upload received → answer ready"},
        "timings": {"type": "object", "additionalProperties": {"type": "number"}},
        "image": {
            "type": "object",
            "required": ["content_type", "bytes", "width", "height"],
            "properties": {
                "content_type": {"type": "string"},
                "bytes": {"type": "integer"},
                "width": {"type": "integer"},
                "height": {"type": "integer"},
            },
        },
        "expense_draft": {
            "type": "object",
            "description": "the fields found, ready for POST /api/groups/{id}/expenses",
            "properties": {
                "description": {"type": "string"},
                "amount": {"type": "string"},
                "currency": {"type": "string"},
                "date": {"type": "string"},
                "receipt_id": ID,
                "split": {
                    "type": "object",
                    "description": "the receipt's lines as an itemized split (kind `items`), every line "
                    "unassigned (shared by everyone until handed out), adding up to the total",
                },
            },
        },
        "uploaded_at": TIMESTAMP,
    },
}
SCAN_STATUS: Schema = {
    "title": "ScanStatus",
    "type": "object",
    "required": [
        "available",
        "tesseract",
        "languages",
        "formats",
        "content_types",
        "max_upload_bytes",
        "max_pixels",
        "timeout_seconds",
        "pool",
    ],
    "properties": {
        "available": {"type": "boolean"},
        "reason": {"type": "string", "description": "why OCR is unavailable"},
        "tesseract": {
            "type": "object",
            "required": ["found", "version"],
            "properties": {"found": {"type": "boolean"}, "version": {"type": ["string", "null"]}},
        },
        "languages": {"type": "string"},
        "formats": {"type": "array", "items": {"type": "string"}},
        "content_types": {"type": "array", "items": {"type": "string"}},
        "max_upload_bytes": {"type": "integer"},
        "max_pixels": {"type": "integer"},
        "timeout_seconds": {"type": "number"},
        "pool": {
            "type": "object",
            "required": ["size", "alive", "busy", "queued", "capacity"],
            "properties": {
                name: {"type": "integer"}
                for name in (
                    "size",
                    "alive",
                    "busy",
                    "queued",
                    "capacity",
                    "completed",
                    "timed_out",
                    "replaced",
                )
            },
        },
    },
}


@api.get(
    "/api/ocr/scan",
    summary="Whether receipt OCR is available, and its limits",
    replies={200: Reply("what the OCR accepts and how busy it is", SCAN_STATUS)},
)
async def scan_status(request: web.Request) -> web.Response:
    service = request.app[OCR]
    settings = service.settings
    pool = service.pool
    status: dict[str, Any] = {
        "available": pool is not None,
        "tesseract": {"found": service.tesseract.available, "version": service.tesseract.version},
        "languages": settings.languages,
        "formats": sorted(set(EXTENSIONS.values()) | {"jpeg"}),
        "content_types": sorted(FORMATS.values()),
        "max_upload_bytes": settings.max_upload_bytes,
        "max_pixels": settings.max_pixels,
        "timeout_seconds": settings.timeout_seconds,
    }
    if pool is None:
        status["reason"] = "the tesseract binary was not found; OCR endpoints answer 503"
        status["pool"] = {"size": 0, "alive": 0, "busy": 0, "queued": 0, "capacity": 0}
    else:
        state = pool.status()
        status["pool"] = {
            name: getattr(state, name)
            for name in ("size", "alive", "busy", "queued", "capacity", "completed", "timed_out", "replaced")
        }
    return web.json_response(status)


UPLOAD_QUERY: Schema = {
    "type": "object",
    "properties": {
        "currency": {
            **CURRENCY,
            "description": (
                "ISO 4217: the currency the receipt is probably in (the group's). When the receipt "
                "prints none, its amounts are read in this currency's decimals (a yen receipt "
                "without a yen sign has none) and `expense_draft.currency` is this one; "
                "`currency` in the answer stays what the receipt prints"
            ),
        },
        "country": {
            "type": "string",
            "pattern": "^[A-Z]{2}$",
            "description": (
                "ISO 3166-1 alpha-2: where the receipt probably comes from (the app's region). "
                "Settles dates such as 03/04/2024 that the receipt itself leaves open "
                "(US: month first; most of the world: day first)"
            ),
        },
    },
}


@api.post(
    "/api/ocr/upload",
    summary="Scan a receipt photo: merchant, date, total, items; the receipt is kept",
    description=(
        "Send the image as `multipart/form-data` (one file part, PNG, JPEG or WebP; the format "
        "is read from the bytes, not the name or Content-Type). The answer's `receipt_id` can be "
        "sent as an expense's `receipt_id` to attach the receipt; `expense_draft` prefills it. "
        "`currency` and `country` are optional hints for what the receipt leaves open."
    ),
    query=UPLOAD_QUERY,
    replies={
        201: Reply("the fields found in the receipt", SCAN_RESULT, ("Location",)),
        400: Reply("not a multipart upload with a file", ERROR),
        413: Reply(
            "the file is larger than the upload limit, or has more pixels than allowed "
            "(a decompression bomb)",
            ERROR,
        ),
        415: Reply("the file is not a PNG, JPEG or WebP image", ERROR),
        422: Reply("the image is truncated or corrupt, or could not be read in time", ERROR),
        503: Reply(
            "OCR is unavailable (no tesseract) or busy: retry after `Retry-After` seconds when it says so",
            ERROR,
        ),
    },
)
async def upload_receipt(request: web.Request, query: dict[str, Any]) -> web.StreamResponse:
    started = time.perf_counter()
    service = request.app[OCR]
    pool = service.require_pool()
    settings = service.settings
    data = await _read_upload(request, settings.max_upload_bytes)
    header = inspect(data, max_pixels=settings.max_pixels)
    try:
        result = await pool.run(
            data, hints={name: query[name] for name in ("currency", "country") if name in query}
        )
    except PoolBusy as exc:
        raise Unavailable(exc.message, code=exc.code, headers={"Retry-After": str(exc.retry_after)}) from None
    receipt_id = new_id()
    uploaded_at = utc_now()
    extracted = {name: result[name] for name in EXTRACTED["required"]}
    metadata = {
        "id": receipt_id,
        "uploaded_by": request[CLAIMS].user_id,
        "uploaded_at": to_text(uploaded_at),
        "content_type": header.content_type,
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "extracted": extracted,
        "raw_text": result["raw_text"],
    }
    await request.app[RECEIPTS].put(receipt_id, data, EXTENSIONS[header.format], metadata)
    body = {
        **extracted,
        "receipt_id": receipt_id,
        "raw_text": result["raw_text"],
        "processing_ms": round((time.perf_counter() - started) * 1000, 1),
        "timings": result.get("timings", {}),
        "image": {
            "content_type": header.content_type,
            "bytes": len(data),
            "width": header.width,
            "height": header.height,
        },
        "expense_draft": expense_draft(extracted, receipt_id, query.get("currency")),
        "uploaded_at": to_text(uploaded_at),
    }
    return web.json_response(body, status=201, headers={"Location": f"/api/receipts/{receipt_id}"})


def expense_draft(extracted: dict[str, Any], receipt_id: str, currency: str | None = None) -> dict[str, Any]:
    """The fields of a new expense that the receipt answers; the hinted `currency` when the
    receipt prints none."""
    draft: dict[str, Any] = {"receipt_id": receipt_id}
    if extracted.get("merchant"):
        draft["description"] = str(extracted["merchant"])[:200]
    if extracted.get("total"):
        draft["amount"] = extracted["total"]
    if extracted.get("currency") or currency:
        draft["currency"] = extracted.get("currency") or currency
    if extracted.get("date"):
        draft["date"] = extracted["date"]
    split = _items_draft(extracted, draft.get("currency"))
    if split is not None:
        draft["split"] = split
    return draft


def _items_draft(extracted: dict[str, Any], currency: str | None) -> dict[str, Any] | None:
    """The receipt's lines as an itemized split, nobody assigned yet (`ledger.itemized`); None
    without a total, a currency or lines that read as amounts of it."""
    if not currency or not extracted.get("total") or not extracted.get("items"):
        return None

    def minor(text: Any) -> int:
        return parse_amount(text, currency, field="split", allow_zero=True, allow_negative=True)

    try:
        total = minor(extracted["total"])
        tax = minor(extracted["tax"]) if extracted.get("tax") else None
        lines = [
            (str(item.get("description") or ""), minor(item["amount"]))
            for item in extracted["items"]
            if item.get("amount") is not None
        ]
    except Invalid:
        return None  # an amount the currency cannot hold: no split rather than a wrong one
    return receipt_split_draft(lines, total, tax, currency)


async def _read_upload(request: web.Request, limit: int) -> bytes:
    """The first file part of a multipart body, read with a byte limit (the app-wide body limit
    is for JSON and much smaller): 413 as soon as the file passes `limit`."""
    declared = request.content_length
    if declared is not None and declared > limit + MULTIPART_OVERHEAD_BYTES:
        raise _too_large(limit)
    if not request.content_type.startswith("multipart/"):
        raise UnsupportedMediaType(
            "send the image as multipart/form-data with one file part", code="multipart_required"
        )
    try:
        reader = await request.multipart()
        part = await reader.next()
        while part is not None and not (isinstance(part, BodyPartReader) and part.filename):
            if isinstance(part, BodyPartReader):
                await part.release()
            part = await reader.next()
        if part is None:
            raise BadRequest("the multipart body has no file part", code="file_required")
        assert isinstance(part, BodyPartReader)
        chunks: list[bytes] = []
        size = 0
        while chunk := await part.read_chunk(READ_CHUNK_BYTES):
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
    except HttpProcessingError as exc:
        # aiohttp parses part headers with its HTTP header parser, whose errors are not ValueErrors.
        raise malformed_multipart(exc.message) from None
    except (ValueError, AssertionError, RuntimeError) as exc:
        raise malformed_multipart(str(exc)) from None
    return b"".join(chunks)


def malformed_multipart(reason: str) -> BadRequest:
    """400 for a body that is not well-formed multipart; `reason` is one line, at most 200 chars."""
    reason = " ".join(reason.split())[:200]
    return BadRequest(f"the multipart body cannot be read: {reason}", code="malformed_multipart")


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the image is larger than {limit:,} bytes", code="file_too_large")
