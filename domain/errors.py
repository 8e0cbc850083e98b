"""One exception hierarchy for the whole service.

Any layer raises these; `server.middleware` is the one place that turns them into HTTP statuses and
the JSON error shape. Each carries a stable machine-readable `code` for clients to branch on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class DomainError(Exception):
    """`headers` are extra HTTP headers for the error response (`Retry-After` on a 503, say),
    so that whoever raises the error can say everything its response needs."""

    default_code = "error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details = details
        self.headers: dict[str, str] = dict(headers or {})


class BadRequest(DomainError):
    """The request could not be read at all (malformed JSON, bad cursor)."""

    default_code = "bad_request"


class Invalid(DomainError):
    """The request was readable but its content breaks a rule."""

    default_code = "validation_error"


class Unauthorized(DomainError):
    default_code = "unauthorized"


class Forbidden(DomainError):
    default_code = "forbidden"


class NotFound(DomainError):
    default_code = "not_found"


class Conflict(DomainError):
    default_code = "conflict"


class Gone(DomainError):
    default_code = "gone"


class PreconditionFailed(DomainError):
    """The caller's version of a resource is stale."""

    default_code = "version_mismatch"


class PreconditionRequired(DomainError):
    """A write that could overwrite someone else's change came without the version it was based on."""

    default_code = "version_required"


class PayloadTooLarge(DomainError):
    default_code = "payload_too_large"


class UnsupportedMediaType(DomainError):
    default_code = "unsupported_media_type"


class TooManyRequests(DomainError):
    """The caller has used up its request budget for now; raise it with a `Retry-After` header."""

    default_code = "rate_limited"


class Unavailable(DomainError):
    default_code = "unavailable"
