"""`index_uploaders`: receipts stored before the per-uploader index existed get their marker, so
account deletion and the export find them too; on a local directory and on S3 (moto's server)."""

from __future__ import annotations

from domain.ids import new_id
from ocr.storage import ReceiptStorage
from tests.ocr.test_receipt_index import metadata, receipts

__all__ = ["receipts"]  # the fixture, shared


async def test_old_receipts_get_their_marker_once(receipts: ReceiptStorage) -> None:
    ann = new_id()
    old, new = new_id(), new_id()
    await receipts.put(old, b"old", "png", metadata(old, ann))
    await receipts.put(new, b"new", "png", metadata(new, ann))
    # Stored as an earlier version did: without its marker.
    await _drop_marker(receipts, ann, old)
    assert await receipts.uploaded_by(ann) == [new]

    assert await receipts.index_uploaders() == 1

    assert await receipts.uploaded_by(ann) == sorted([old, new])
    assert await receipts.index_uploaders() == 0


async def _drop_marker(receipts: ReceiptStorage, user_id: str, receipt_id: str) -> None:
    """Remove only the index marker (what `erase` removes last)."""
    from ocr.storage import LocalReceiptStorage, S3ReceiptStorage, _marker

    if isinstance(receipts, LocalReceiptStorage):
        (receipts._root / _marker(user_id, receipt_id)).unlink()
    else:
        assert isinstance(receipts, S3ReceiptStorage)
        await receipts._client.delete_object(
            Bucket=receipts._bucket, Key=receipts._prefix + _marker(user_id, receipt_id)
        )
