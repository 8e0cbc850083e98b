"""Receipt OCR: Tesseract run in a pool of worker processes, image preparation, text → fields.

`ocr.engine` (tesseract discovery) and `ocr.service` (the app's OCR resources) are imported from
their modules, not re-exported here: they load aiohttp, which the worker processes
(`python -m ocr.worker`, which load this package) and `server.config` have no use for."""

from ocr.extract import Item, Line, Receipt, extract
from ocr.pool import JobTimedOut, OcrPool, PoolBusy
from ocr.settings import OcrSettings, ReceiptStorageSettings

__all__ = [
    "Item",
    "JobTimedOut",
    "Line",
    "OcrPool",
    "OcrSettings",
    "PoolBusy",
    "Receipt",
    "ReceiptStorageSettings",
    "extract",
]
