"""The OCR resources of an application: the worker pool (when tesseract is there) and the receipt
storage, opened and closed by `ocr_ctx`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from aiohttp import web

from domain import Unavailable
from ocr.engine import TESSERACT, TesseractInfo
from ocr.pool import OcrPool
from ocr.settings import OcrSettings, ReceiptStorageSettings
from ocr.storage import ReceiptStorage, open_receipt_storage

log = logging.getLogger(__name__)


@dataclass(slots=True)
class OcrService:
    settings: OcrSettings
    tesseract: TesseractInfo
    pool: OcrPool | None

    def require_pool(self) -> OcrPool:
        """The pool, or 503 when there is none because tesseract is missing."""
        if self.pool is None:
            raise Unavailable(
                f"receipt OCR is unavailable: the tesseract binary was not found "
                f"({self.tesseract.path or 'not on PATH'})",
                code="ocr_unavailable",
            )
        return self.pool


OCR = web.AppKey("ocr", OcrService)
RECEIPTS = web.AppKey("receipts", ReceiptStorage)


def ocr_ctx(
    settings: OcrSettings, receipts: ReceiptStorageSettings
) -> Callable[[web.Application], AsyncIterator[None]]:
    """The cleanup context that sets `app[OCR]` and `app[RECEIPTS]`: it starts the worker pool if
    tesseract was found (`tesseract_ctx` runs first), and opens the receipt storage. Without
    tesseract the rest of the server works and OCR answers 503."""

    async def run_ocr(app: web.Application) -> AsyncIterator[None]:
        tesseract = app[TESSERACT]
        pool: OcrPool | None = None
        if tesseract.available:
            pool = OcrPool(
                size=settings.workers,
                queue_size=settings.queue_size,
                timeout=settings.timeout_seconds,
                options={
                    "languages": settings.languages,
                    "max_pixels": settings.max_pixels,
                    "tesseract_cmd": tesseract.path,
                },
            )
            await pool.start()
        else:
            log.warning("tesseract not found (%s): OCR endpoints will answer 503", settings.tesseract_cmd)
        app[OCR] = OcrService(settings=settings, tesseract=tesseract, pool=pool)
        try:
            async with open_receipt_storage(receipts) as storage:
                app[RECEIPTS] = storage
                yield
        finally:
            if pool is not None:
                await pool.close()

    return run_ocr
