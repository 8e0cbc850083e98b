"""Receipt OCR: Tesseract run in a pool of worker processes, image preparation, text → fields.

`ocr.engine` (tesseract discovery) and `ocr.service` (the app's OCR resources) import the server's
keys, so they are imported from their modules, not re-exported here (server.config imports this
package's settings)."""

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
