"""The per-uploader index of the receipt storage, on a local directory and on S3 (moto's server):
what account deletion and the data export find a person's receipts by."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aioboto3
import pytest

from domain import NotFound
from domain.ids import new_id
from ocr.settings import ReceiptStorageSettings
from ocr.storage import ReceiptStorage, open_receipt_storage


@pytest.fixture(params=["local", "s3"])
async def receipts(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ReceiptStorage]:
    settings = ReceiptStorageSettings(directory=tmp_path)
    if request.param == "s3":
        url: str = request.getfixturevalue("moto_url")
        bucket = f"receipts-{uuid.uuid4().hex[:12]}"
        async with aioboto3.Session().client("s3", region_name="us-east-1", endpoint_url=url) as s3:
            await s3.create_bucket(Bucket=bucket)
        settings = ReceiptStorageSettings(directory=tmp_path, bucket=bucket, endpoint_url=url)
    async with open_receipt_storage(settings) as storage:
        yield storage


def metadata(receipt_id: str, uploader: str) -> dict[str, Any]:
    return {"id": receipt_id, "uploaded_by": uploader, "content_type": "image/png", "bytes": 3}


async def image(storage: ReceiptStorage, receipt_id: str) -> bytes:
    return b"".join([chunk async for chunk in storage.image(await storage.metadata(receipt_id))])


async def test_each_uploader_finds_their_own_receipts(receipts: ReceiptStorage) -> None:
    ann, bo = new_id(), new_id()
    first, second, theirs = new_id(), new_id(), new_id()
    await receipts.put(first, b"one", "png", metadata(first, ann))
    await receipts.put(second, b"two", "png", metadata(second, ann))
    await receipts.put(theirs, b"bo!", "png", metadata(theirs, bo))

    assert await receipts.uploaded_by(ann) == sorted([first, second])
    assert await receipts.uploaded_by(bo) == [theirs]
    assert await receipts.uploaded_by(new_id()) == []


async def test_erase_deletes_image_metadata_and_marker_and_may_be_repeated(
    receipts: ReceiptStorage,
) -> None:
    ann = new_id()
    gone, kept = new_id(), new_id()
    await receipts.put(gone, b"one", "png", metadata(gone, ann))
    await receipts.put(kept, b"two", "png", metadata(kept, ann))
    stale = await receipts.metadata(gone)

    await receipts.erase(gone, ann)
    await receipts.erase(gone, ann)

    with pytest.raises(NotFound):
        await receipts.metadata(gone)
    with pytest.raises(NotFound):
        await image_of(receipts, stale)
    assert await receipts.uploaded_by(ann) == [kept]
    assert await image(receipts, kept) == b"two"


async def image_of(storage: ReceiptStorage, stored: dict[str, Any]) -> bytes:
    return b"".join([chunk async for chunk in storage.image(stored)])


async def test_ids_that_are_not_ids_are_refused(receipts: ReceiptStorage) -> None:
    with pytest.raises(NotFound):
        await receipts.uploaded_by("../etc")
    with pytest.raises(NotFound):
        await receipts.put(new_id(), b"x", "png", metadata(new_id(), "../../elsewhere"))
