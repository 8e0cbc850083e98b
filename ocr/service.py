"""The OCR resources of an application: the worker pool (when tesseract is there) and the receipt
storage, opened and closed by `ocr_ctx`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web

from domain import Unavailable
from ocr.engine import TESSERACT, TesseractInfo
from ocr.pool import OcrPool
from ocr.settings import OcrSettings
from ocr.storage import ReceiptStorage, open_receipt_storage
from server.keys import CONFIG

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


async def ocr_ctx(app: web.Application) -> AsyncIterator[None]:
    """Start the worker pool if tesseract was found (`tesseract_ctx` runs first), and open the
    receipt storage. Without tesseract the rest of the server works and OCR answers 503."""
    config = app[CONFIG]
    tesseract = app[TESSERACT]
    pool: OcrPool | None = None
    if tesseract.available:
        pool = OcrPool(
            size=config.ocr.workers,
            queue_size=config.ocr.queue_size,
            timeout=config.ocr.timeout_seconds,
            options={
                "languages": config.ocr.languages,
                "max_pixels": config.ocr.max_pixels,
                "tesseract_cmd": tesseract.path,
            },
        )
        await pool.start()
    else:
        log.warning("tesseract not found (%s): OCR endpoints will answer 503", config.tesseract_cmd)
    app[OCR] = OcrService(settings=config.ocr, tesseract=tesseract, pool=pool)
    try:
        async with open_receipt_storage(config.receipts) as storage:
            app[RECEIPTS] = storage
            yield
    finally:
        if pool is not None:
            await pool.close()
