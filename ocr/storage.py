"""Where scanned receipts are kept: the image and, beside it, its metadata as JSON.

One contract, two backends: a local directory (default, under DATA_DIR) and S3 (aioboto3) when a
bucket is configured. The metadata (uploader, content type, extracted fields) lives next to the
image, so receipts need nothing from the expense store: an expense only carries `receipt_id`.
Beside them, an empty marker `<prefix>uploaders/<user id>/<receipt id>` per receipt is the index
of one person's receipts, so their export and their account's deletion list only those.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import tempfile
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

from domain import NotFound
from ocr.settings import ReceiptStorageSettings

CHUNK_BYTES = 256 * 1024
_RECEIPT_ID = re.compile(r"[0-9a-f]{32}")
MARKERS = "uploaders/"
"""Under the prefix: `uploaders/<user id>/<receipt id>`, one empty marker per receipt."""


class ReceiptStorage(Protocol):
    async def put(self, receipt_id: str, image: bytes, extension: str, metadata: dict[str, Any]) -> None:
        """Store the image, then its metadata (a receipt exists once its metadata does)."""

    async def metadata(self, receipt_id: str) -> dict[str, Any]:
        """The receipt's metadata; NotFound when there is no such receipt."""

    def image(self, metadata: dict[str, Any]) -> AsyncIterator[bytes]:
        """The receipt's image, in chunks."""

    async def ping(self) -> None:
        """Raise when the storage cannot be reached."""

    async def uploaded_by(self, user_id: str) -> list[str]:
        """The ids of the receipts `user_id` uploaded (from their markers; a marker whose upload
        did not finish may name a receipt with no metadata)."""

    async def erase(self, receipt_id: str, user_id: str) -> None:
        """Delete the receipt's image, then its metadata, then its marker under `user_id`, each
        if still there: a retry after a crash finishes the job."""

    async def index_uploaders(self) -> int:
        """Write the uploader marker of every stored receipt that lacks one (receipts stored
        before the index existed); returns how many it wrote. An upgrade step: it lists
        everything, once."""


def _checked(receipt_id: str) -> str:
    if not _RECEIPT_ID.fullmatch(receipt_id):
        raise NotFound("no such receipt", code="receipt_not_found")
    return receipt_id


def _marker(user_id: str, receipt_id: str) -> str:
    """Where the index entry of `user_id`'s receipt lives, relative to the storage's prefix."""
    return f"{MARKERS}{_checked(user_id)}/{_checked(receipt_id)}"


class LocalReceiptStorage:
    """Files under a directory: `<prefix><id>.<ext>` and `<prefix><id>.json`."""

    def __init__(self, directory: Path, prefix: str) -> None:
        self._root = directory / prefix if prefix else directory

    async def put(self, receipt_id: str, image: bytes, extension: str, metadata: dict[str, Any]) -> None:
        receipt_id = _checked(receipt_id)
        image_name = f"{receipt_id}.{extension}"
        metadata = {**metadata, "image_key": image_name}
        # The marker first: a receipt is never stored without its uploader's index knowing it.
        await asyncio.to_thread(self._write, _marker(metadata["uploaded_by"], receipt_id), b"")
        await asyncio.to_thread(self._write, image_name, image)
        await asyncio.to_thread(self._write, f"{receipt_id}.json", json.dumps(metadata).encode())

    def _write(self, name: str, data: bytes) -> None:
        target = self._root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    async def metadata(self, receipt_id: str) -> dict[str, Any]:
        path = self._root / f"{_checked(receipt_id)}.json"
        try:
            raw = await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise NotFound("no such receipt", code="receipt_not_found") from None
        metadata: dict[str, Any] = json.loads(raw)
        return metadata

    async def image(self, metadata: dict[str, Any]) -> AsyncIterator[bytes]:
        path = self._root / Path(metadata["image_key"]).name
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError:
            raise NotFound("the receipt's image is gone", code="receipt_not_found") from None
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK_BYTES):
                yield chunk
        finally:
            handle.close()

    async def ping(self) -> None:
        await asyncio.to_thread(self._root.mkdir, parents=True, exist_ok=True)

    async def uploaded_by(self, user_id: str) -> list[str]:
        directory = self._root / MARKERS / _checked(user_id)

        def names() -> list[str]:
            try:
                return sorted(p.name for p in directory.iterdir() if _RECEIPT_ID.fullmatch(p.name))
            except FileNotFoundError:
                return []

        return await asyncio.to_thread(names)

    async def erase(self, receipt_id: str, user_id: str) -> None:
        marker = self._root / _marker(user_id, receipt_id)
        try:
            metadata = await self.metadata(receipt_id)
        except NotFound:
            metadata = None
        if metadata is not None:
            image = self._root / Path(metadata["image_key"]).name
            await asyncio.to_thread(image.unlink, missing_ok=True)
            await asyncio.to_thread((self._root / f"{receipt_id}.json").unlink, missing_ok=True)
        await asyncio.to_thread(marker.unlink, missing_ok=True)

    async def index_uploaders(self) -> int:
        def work() -> int:
            written = 0
            for path in sorted(self._root.glob("*.json")) if self._root.is_dir() else []:
                receipt_id = path.stem
                if not _RECEIPT_ID.fullmatch(receipt_id):
                    continue
                uploader = json.loads(path.read_bytes()).get("uploaded_by")
                if not isinstance(uploader, str) or not _RECEIPT_ID.fullmatch(uploader):
                    continue
                marker = self._root / _marker(uploader, receipt_id)
                if not marker.exists():
                    self._write(_marker(uploader, receipt_id), b"")
                    written += 1
            return written

        return await asyncio.to_thread(work)


class S3ReceiptStorage:
    """Objects in a bucket: `<prefix><id>.<ext>` and `<prefix><id>.json`."""

    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self._client = client
        self._bucket = bucket
        self._prefix = prefix

    @classmethod
    @asynccontextmanager
    async def open(cls, settings: ReceiptStorageSettings) -> AsyncIterator[S3ReceiptStorage]:
        import aioboto3

        assert settings.bucket is not None
        async with AsyncExitStack() as stack:
            client = await stack.enter_async_context(
                aioboto3.Session().client(
                    "s3", region_name=settings.region, endpoint_url=settings.endpoint_url
                )
            )
            yield cls(client, settings.bucket, settings.prefix)

    async def put(self, receipt_id: str, image: bytes, extension: str, metadata: dict[str, Any]) -> None:
        receipt_id = _checked(receipt_id)
        image_key = f"{self._prefix}{receipt_id}.{extension}"
        metadata = {**metadata, "image_key": image_key}
        # The marker first: a receipt is never stored without its uploader's index knowing it.
        await self._client.put_object(
            Bucket=self._bucket, Key=self._prefix + _marker(metadata["uploaded_by"], receipt_id), Body=b""
        )
        await self._client.put_object(
            Bucket=self._bucket, Key=image_key, Body=image, ContentType=metadata["content_type"]
        )
        await self._client.put_object(
            Bucket=self._bucket,
            Key=f"{self._prefix}{receipt_id}.json",
            Body=json.dumps(metadata).encode(),
            ContentType="application/json",
        )

    async def metadata(self, receipt_id: str) -> dict[str, Any]:
        key = f"{self._prefix}{_checked(receipt_id)}.json"
        try:
            response = await self._client.get_object(Bucket=self._bucket, Key=key)
        except self._client.exceptions.NoSuchKey:
            raise NotFound("no such receipt", code="receipt_not_found") from None
        body = response["Body"]
        async with body:
            metadata: dict[str, Any] = json.loads(await body.read())
        return metadata

    async def image(self, metadata: dict[str, Any]) -> AsyncIterator[bytes]:
        try:
            response = await self._client.get_object(Bucket=self._bucket, Key=metadata["image_key"])
        except self._client.exceptions.NoSuchKey:
            raise NotFound("the receipt's image is gone", code="receipt_not_found") from None
        body = response["Body"]
        async with body:
            while chunk := await body.read(CHUNK_BYTES):
                yield chunk

    async def ping(self) -> None:
        await self._client.head_bucket(Bucket=self._bucket)

    async def uploaded_by(self, user_id: str) -> list[str]:
        prefix = f"{self._prefix}{MARKERS}{_checked(user_id)}/"
        ids: list[str] = []
        paginator = self._client.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
            ids += [item["Key"][len(prefix) :] for item in page.get("Contents", [])]
        return sorted(i for i in ids if _RECEIPT_ID.fullmatch(i))

    async def erase(self, receipt_id: str, user_id: str) -> None:
        marker = self._prefix + _marker(user_id, receipt_id)
        try:
            metadata = await self.metadata(receipt_id)
        except NotFound:
            metadata = None
        # Deleting a missing key succeeds: every step may be repeated.
        if metadata is not None:
            await self._client.delete_object(Bucket=self._bucket, Key=metadata["image_key"])
            await self._client.delete_object(Bucket=self._bucket, Key=f"{self._prefix}{receipt_id}.json")
        await self._client.delete_object(Bucket=self._bucket, Key=marker)

    async def index_uploaders(self) -> int:
        keys: set[str] = set()
        paginator = self._client.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=self._bucket, Prefix=self._prefix):
            keys.update(item["Key"] for item in page.get("Contents", []))
        written = 0
        for key in sorted(keys):
            receipt_id = key[len(self._prefix) :].removesuffix(".json")
            if not key.endswith(".json") or not _RECEIPT_ID.fullmatch(receipt_id):
                continue
            uploader = (await self.metadata(receipt_id)).get("uploaded_by")
            if not isinstance(uploader, str) or not _RECEIPT_ID.fullmatch(uploader):
                continue
            marker = self._prefix + _marker(uploader, receipt_id)
            if marker not in keys:
                await self._client.put_object(Bucket=self._bucket, Key=marker, Body=b"")
                written += 1
        return written


@asynccontextmanager
async def open_receipt_storage(settings: ReceiptStorageSettings) -> AsyncIterator[ReceiptStorage]:
    if settings.bucket:
        async with S3ReceiptStorage.open(settings) as s3:
            yield s3
    else:
        yield LocalReceiptStorage(settings.directory, settings.prefix)
