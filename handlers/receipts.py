"""Stored receipts: their metadata and image for the uploader, and an expense's receipt for the
members of its group."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from domain import Invalid, NotFound
from handlers.access import membership
from handlers.ocr import EXTRACTED
from handlers.schemas import ERROR, ID, TIMESTAMP, Schema
from ocr.service import RECEIPTS
from server.keys import CLAIMS, STORE
from server.routing import Api, Reply

api = Api("receipts")

RECEIPT: Schema = {
    "title": "Receipt",
    "type": "object",
    "required": ["id", "uploaded_by", "uploaded_at", "content_type", "bytes", "extracted", "image_url"],
    "properties": {
        "id": ID,
        "uploaded_by": ID,
        "uploaded_at": TIMESTAMP,
        "content_type": {"type": "string"},
        "bytes": {"type": "integer"},
        "extracted": EXTRACTED,
        "raw_text": {"type": "string"},
        "image_url": {"type": "string"},
    },
}
_NOT_YOURS = Reply("no such receipt, or someone else uploaded it", ERROR)


@api.get(
    "/api/receipts/{receipt_id}",
    summary="A receipt you scanned: what was found in it",
    replies={200: Reply("the receipt", RECEIPT), 404: _NOT_YOURS},
)
async def get_receipt(request: web.Request) -> web.Response:
    metadata = await own_receipt(request, request.match_info["receipt_id"])
    return web.json_response(receipt_json(metadata))


@api.get(
    "/api/receipts/{receipt_id}/image",
    summary="The image of a receipt you scanned",
    replies={200: Reply("the image (its own content type)"), 404: _NOT_YOURS},
)
async def get_receipt_image(request: web.Request) -> web.StreamResponse:
    metadata = await own_receipt(request, request.match_info["receipt_id"])
    return await _stream_image(request, metadata)


@api.get(
    "/api/groups/{group_id}/expenses/{expense_id}/receipt",
    summary="The receipt image attached to an expense (members of the group only)",
    replies={
        200: Reply("the image (its own content type)"),
        404: Reply(
            "no such group or expense, the caller is not a member, or the expense has no receipt", ERROR
        ),
    },
)
async def get_expense_receipt(request: web.Request) -> web.StreamResponse:
    group, _ = await membership(request)
    expense = await request.app[STORE].get_expense(group.id, request.match_info["expense_id"])
    if not expense.receipt_id:
        raise NotFound("this expense has no receipt", code="receipt_not_found")
    metadata = await request.app[RECEIPTS].metadata(expense.receipt_id)
    return await _stream_image(request, metadata)


async def own_receipt(request: web.Request, receipt_id: str) -> dict[str, Any]:
    """The receipt's metadata if the caller uploaded it; 404 otherwise, so others cannot even
    learn that it exists."""
    metadata = await request.app[RECEIPTS].metadata(receipt_id)
    if metadata.get("uploaded_by") != request[CLAIMS].user_id:
        raise NotFound("no such receipt", code="receipt_not_found")
    return metadata


async def check_attachable(request: web.Request, receipt_id: str | None) -> None:
    """For expense writes: a `receipt_id` must name a receipt the caller scanned (422 otherwise).
    Meant to be called by handlers.expenses before creating or editing an expense."""
    if receipt_id is None:
        return
    try:
        await own_receipt(request, receipt_id)
    except NotFound:
        raise Invalid(
            "request body is invalid",
            details=[{"field": "receipt_id", "message": "is not a receipt you scanned"}],
        ) from None


def receipt_json(metadata: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": metadata["id"],
        "uploaded_by": metadata["uploaded_by"],
        "uploaded_at": metadata["uploaded_at"],
        "content_type": metadata["content_type"],
        "bytes": metadata["bytes"],
        "extracted": metadata["extracted"],
        "raw_text": metadata.get("raw_text", ""),
        "image_url": f"/api/receipts/{metadata['id']}/image",
    }


async def _stream_image(request: web.Request, metadata: dict[str, Any]) -> web.StreamResponse:
    chunks = request.app[RECEIPTS].image(metadata)
    first = await anext(chunks, b"")  # a missing image is a 404, before any byte is sent
    response = web.StreamResponse(
        headers={
            "Content-Type": metadata["content_type"],
            "Content-Length": str(metadata["bytes"]),
            "Cache-Control": "private, max-age=3600",
            "X-Content-Type-Options": "nosniff",
        }
    )
    await response.prepare(request)
    await response.write(first)
    async for chunk in chunks:
        await response.write(chunk)
    await response.write_eof()
    return response
