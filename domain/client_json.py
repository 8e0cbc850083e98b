"""Reading JSON that clients send (request bodies, query values, WebSocket frames) so that hostile
input is refused as a client error instead of crashing the parser, a handler or the store.

- **Nesting** is bounded (`MAX_DEPTH`) by a scan of the text *before* `json.loads`, whose scanner
  recurses once per level and fails with a RecursionError (not a ValueError) about a thousand
  levels down; our schemas never need more than a few levels.
- **Lone UTF-16 surrogates** (`"\\ud800"`, or its UTF-8-looking bytes) are valid JSON escapes and
  Python keeps them in `str`, but they are not Unicode text: SQLite cannot encode them and DynamoDB
  refuses them. `lone_surrogate_at` finds one so that the caller can name the field.
- `NaN` and `Infinity` are not JSON; Python's parser accepts them unless told not to.
- **Integers** a client may send where a whole number is asked for stay within `MAX_INTEGER`.
"""

from __future__ import annotations

import json
import re
from array import array
from itertools import accumulate
from typing import Any

from domain.errors import BadRequest, Invalid

MAX_DEPTH = 32
"""Deepest nesting of arrays and objects accepted; a request body needs 3 or 4 levels."""
MAX_INTEGER = 2**53 - 1
"""The largest whole number accepted from a client: what every JSON implementation holds exactly
(JavaScript's `Number.MAX_SAFE_INTEGER`), and well inside SQLite's 64-bit integers and DynamoDB's
38-digit numbers."""
SURROGATE_MESSAGE = "contains a lone UTF-16 surrogate, which is not Unicode text"

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
"""A JSON string, or an unterminated one up to the end: it always matches at the first quote it
tries, so stripping strings stays linear however the quotes and backslashes are arranged."""
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEPS = str.maketrans({"[": "\x01", "{": "\x01", "]": "\xff", "}": "\xff"})
_SURROGATE = re.compile("[\ud800-\udfff]")


def read_json(raw: str | bytes, *, what: str) -> Any:
    """The JSON value of `raw` (text, or bytes in UTF-8 as RFC 8259 says, or UTF-16/32 as
    `json.loads` detects), nested at most `MAX_DEPTH` deep.

    Raises BadRequest `json_too_deep` for deeper nesting (before parsing, so no RecursionError) and
    `malformed_json` for anything that is not JSON. `what` names the input in the message ("request
    body", "frame"). Lone surrogates are let through here, for the caller to refuse with
    `refuse_lone_surrogates` once it has read what it needs to answer (a command's id, say)."""
    try:
        # surrogatepass: UTF-8-encoded surrogates decode as json.loads would decode them, so that
        # they are refused like their \u escapes, naming the field.
        text = raw.decode(json.detect_encoding(raw), "surrogatepass") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise BadRequest(f"{what} is not valid JSON: {exc.reason}", code="malformed_json") from None
    if _deeper_than(text, MAX_DEPTH):
        raise BadRequest(f"{what} is nested more than {MAX_DEPTH} levels deep", code="json_too_deep")
    try:
        return json.loads(text, parse_constant=_not_json)
    except ValueError as exc:
        raise BadRequest(f"{what} is not valid JSON: {exc}", code="malformed_json") from None


def has_lone_surrogate(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def lone_surrogate_at(value: Any) -> str | None:
    """Where in `value` (as parsed by `read_json`) a string or an object key holds a lone
    surrogate: a dotted path like `payers.0.user_id` (empty for `value` itself), or None.

    A key that holds one is named with the surrogate escaped, so the error can be encoded."""
    if isinstance(value, str):
        return "" if has_lone_surrogate(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            name = str(key)
            if has_lone_surrogate(name):
                return name.encode("utf-8", "backslashreplace").decode("utf-8")
            below = lone_surrogate_at(item)
            if below is not None:
                return _join(name, below)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            below = lone_surrogate_at(item)
            if below is not None:
                return _join(str(index), below)
    return None


def refuse_lone_surrogates(value: Any, *, what: str) -> None:
    """Raises Invalid, naming the field in `details` (as schema errors do) and in the message, when
    a string or key in `value` holds a lone surrogate."""
    field = lone_surrogate_at(value)
    if field is not None:
        field = field or "(body)"
        raise Invalid(
            f"{what} is invalid: {field} {SURROGATE_MESSAGE}",
            details=[{"field": field, "message": SURROGATE_MESSAGE}],
        )


def _deeper_than(text: str, limit: int) -> bool:
    if text.count("[") + text.count("{") <= limit:
        return False  # the common case: too few brackets to nest that deep
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    steps = array("b", brackets.translate(_STEPS).encode("latin-1"))
    return max(accumulate(steps), default=0) > limit


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON value")


def _join(parent: str, child: str) -> str:
    return f"{parent}.{child}" if child else parent
