"""Finding the tesseract binary and its version, once at start-up."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from aiohttp import web

from ocr.settings import OcrSettings

PROBE_TIMEOUT_SECONDS = 10


@dataclass(frozen=True, slots=True)
class TesseractInfo:
    path: str | None
    version: str | None

    @property
    def available(self) -> bool:
        return self.version is not None


TESSERACT = web.AppKey("tesseract", TesseractInfo)


async def probe_tesseract(command: str) -> TesseractInfo:
    path = shutil.which(command)
    if path is None:
        return TesseractInfo(path=None, version=None)
    try:
        process = await asyncio.create_subprocess_exec(
            path, "--version", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        output, _ = await asyncio.wait_for(process.communicate(), PROBE_TIMEOUT_SECONDS)
    except (OSError, asyncio.TimeoutError):
        return TesseractInfo(path=path, version=None)
    first_line = output.decode(errors="replace").splitlines()[:1]
    version = first_line[0].removeprefix("tesseract").strip() if first_line else None
    return TesseractInfo(path=path, version=version or None)


def tesseract_ctx(settings: OcrSettings) -> Callable[[web.Application], AsyncIterator[None]]:
    """The cleanup context that probes `settings.tesseract_cmd` once and sets `app[TESSERACT]`."""

    async def probe(app: web.Application) -> AsyncIterator[None]:
        app[TESSERACT] = await probe_tesseract(settings.tesseract_cmd)
        yield

    return probe
