"""Running Tesseract from a worker: in the worker's own process through libtesseract's C API, or
the `tesseract` command through pytesseract.

Every run of the command loads its languages afresh, mostly Tesseract's built-in table of look-alike
characters (`UnicharAmbigs::LoadUniversal`, once per language): about 0.25 s of CPU for `eng+deu`,
a sixth of a receipt's whole cost, and again for every strip the date pass reads. In process, a
worker loads them once and keeps the engine for the jobs that follow. Same library, same settings,
same picture: the words, boxes and confidences are the command's, byte for byte (checked on the
shared receipts, in any order, with date-pass strips read in between).

The library is used only when it is the version `tesseract_cmd` reports (the operator's
`TESSERACT_CMD` keeps its meaning: another build is run as a command); otherwise, or when
`IN_PROCESS` is off, the command runs.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

# Benches turn this off to compare with the command.
IN_PROCESS = True
_TSV_COLUMNS = (
    "level",
    "page_num",
    "block_num",
    "par_num",
    "line_num",
    "word_num",
    "left",
    "top",
    "width",
    "height",
    "conf",
    "text",
)
_OEM_LSTM_ONLY = 1
_LEPTONICA_SEVERITY_NONE = 6


@dataclass(frozen=True, slots=True)
class Reading:
    """How Tesseract reads one picture: the LSTM engine, a page segmentation mode and variables."""

    psm: int
    variables: Mapping[str, str] = field(default_factory=dict)

    def command_options(self) -> str:
        """The same as `tesseract` command-line options."""
        return " ".join(
            [f"--oem {_OEM_LSTM_ONLY} --psm {self.psm}", *(f"-c {k}={v}" for k, v in self.variables.items())]
        )


class Tesseract:
    """One worker's way to Tesseract for one `languages` setting."""

    def __init__(self, command: str, languages: str) -> None:
        self.command = command
        self.languages = languages
        self._api = _LibraryEngine.open(languages) if IN_PROCESS and _library_matches(command) else None

    @property
    def in_process(self) -> bool:
        return self._api is not None

    def close(self) -> None:
        """Free the in-process engine (its languages take tens of MB)."""
        if self._api is not None:
            self._api.close()
            self._api = None

    def words(self, image: Image.Image, reading: Reading) -> dict[str, list[Any]]:
        """Every box Tesseract found (page, blocks, paragraphs, lines, words), column by column as
        pytesseract's `image_to_data(..., output_type=DICT)` gives them."""
        if self._api is not None:
            return _tsv_columns(self._api.read(image, reading, tsv=True))
        import pytesseract

        pytesseract.pytesseract.tesseract_cmd = self.command
        data: dict[str, list[Any]] = pytesseract.image_to_data(
            image, lang=self.languages, config=reading.command_options(), output_type=pytesseract.Output.DICT
        )
        return data

    def text(self, image: Image.Image, reading: Reading) -> str:
        """The text Tesseract reads, as `tesseract IMAGE stdout` prints it."""
        if self._api is not None:
            return self._api.read(image, reading, tsv=False)
        import pytesseract

        pytesseract.pytesseract.tesseract_cmd = self.command
        return str(pytesseract.image_to_string(image, lang=self.languages, config=reading.command_options()))


def _tsv_columns(tsv: str) -> dict[str, list[Any]]:
    """The TSV parsed as pytesseract parses it (numbers, the confidence too, as whole numbers)."""
    columns: dict[str, list[Any]] = {name: [] for name in _TSV_COLUMNS}
    for row in tsv.splitlines():
        cells = row.split("\t")
        if len(cells) == len(_TSV_COLUMNS) - 1:  # an empty last cell may be cut off
            cells.append("")
        if len(cells) != len(_TSV_COLUMNS):
            continue
        for name, cell in zip(_TSV_COLUMNS, cells, strict=True):
            columns[name].append(cell if name == "text" else int(float(cell)))
    return columns


class _LibraryEngine:
    """A `TessBaseAPI` of libtesseract, initialised once with the LSTM engine and `languages`."""

    def __init__(self, library: ctypes.CDLL, handle: int) -> None:
        self._library: ctypes.CDLL | None = library
        self._handle = handle
        atexit.register(self.close)

    @classmethod
    def open(cls, languages: str) -> _LibraryEngine:
        library = _load_library()
        assert library is not None
        handle = library.TessBaseAPICreate()
        # Tesseract's notes ("Estimating resolution as ..."), which the command prints to stderr
        # and pytesseract drops, would fill the worker's log.
        library.TessBaseAPISetVariable(handle, b"debug_file", b"/dev/null")
        if library.TessBaseAPIInit2(handle, None, languages.encode(), _OEM_LSTM_ONLY) != 0:
            library.TessBaseAPIDelete(handle)
            raise RuntimeError(f"tesseract cannot load the languages {languages!r}")
        return cls(library, handle)

    def read(self, image: Image.Image, reading: Reading, *, tsv: bool) -> str:
        library, handle = self._library, self._handle
        assert library is not None
        gray = image if image.mode == "L" else image.convert("L")
        library.TessBaseAPISetPageSegMode(handle, reading.psm)
        # Variables as a command run starts with them: the defaults, then this reading's.
        for name, value in {**_DEFAULTS, **reading.variables}.items():
            library.TessBaseAPISetVariable(handle, name.encode(), value.encode())
        library.TessBaseAPISetImage(handle, gray.tobytes(), gray.width, gray.height, 1, gray.width)
        try:
            pointer = (
                library.TessBaseAPIGetTsvText(handle, 0) if tsv else library.TessBaseAPIGetUTF8Text(handle)
            )
            if not pointer:
                raise RuntimeError("tesseract could not read the picture")
            try:
                return ctypes.string_at(pointer).decode("utf-8", errors="replace")
            finally:
                library.TessDeleteText(pointer)
        finally:
            library.TessBaseAPIClear(handle)

    def close(self) -> None:
        if self._library is not None:
            self._library.TessBaseAPIEnd(self._handle)
            self._library.TessBaseAPIDelete(self._handle)
            self._library = None


# The variables a reading may set, at the values a fresh command starts with (a reused engine must
# not keep one reading's setting for the next).
_DEFAULTS = {"tessedit_do_invert": "1"}


_loaded: list[ctypes.CDLL] = []


def _load_library() -> ctypes.CDLL | None:
    """libtesseract with the signatures used here, loaded once; None when it is not installed."""
    if not _loaded:
        name = ctypes.util.find_library("tesseract")
        if name is None:
            return None
        try:
            library = ctypes.CDLL(name)
        except OSError:
            return None
        pointer, text = ctypes.c_void_p, ctypes.c_char_p
        signatures: dict[str, tuple[list[Any], Any]] = {
            "TessVersion": ([], text),
            "TessBaseAPICreate": ([], pointer),
            "TessBaseAPIInit2": ([pointer, text, text, ctypes.c_int], ctypes.c_int),
            "TessBaseAPISetPageSegMode": ([pointer, ctypes.c_int], None),
            "TessBaseAPISetVariable": ([pointer, text, text], ctypes.c_int),
            "TessBaseAPISetImage": ([pointer, text, *[ctypes.c_int] * 4], None),
            "TessBaseAPIGetTsvText": ([pointer, ctypes.c_int], pointer),
            "TessBaseAPIGetUTF8Text": ([pointer], pointer),
            "TessDeleteText": ([pointer], None),
            "TessBaseAPIClear": ([pointer], None),
            "TessBaseAPIEnd": ([pointer], None),
            "TessBaseAPIDelete": ([pointer], None),
        }
        try:
            for function, (arguments, result) in signatures.items():
                getattr(library, function).argtypes = arguments
                getattr(library, function).restype = result
        except AttributeError:
            return None
        _quiet_leptonica()
        _loaded.append(library)
    return _loaded[0]


def _quiet_leptonica() -> None:
    """Leptonica's warnings ("Error in pixScanForForeground: invalid box" on harmless crops) off:
    the command prints them to a stderr pytesseract drops; in process they would fill the log."""
    name = ctypes.util.find_library("lept") or ctypes.util.find_library("leptonica")
    try:
        if name is not None:
            ctypes.CDLL(name).setMsgSeverity(_LEPTONICA_SEVERITY_NONE)
    except (OSError, AttributeError):
        pass


def _library_matches(command: str) -> bool:
    """Whether libtesseract loads and is the version the `command` binary reports."""
    library = _load_library()
    if library is None:
        return False
    try:
        output = subprocess.run([command, "--version"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    lines = (output.stdout + output.stderr).decode(errors="replace").splitlines()
    version = lines[0].removeprefix("tesseract").strip() if lines else ""
    return bool(version) and version == library.TessVersion().decode()
