"""Where a native app may be sent back after signing in (RFC 8252): the NATIVE_REDIRECT_URIS list,
checked once at start-up, and the match of a requested `redirect_uri` against it.

Three kinds are allowed. A private-use scheme named after a domain the app's vendor owns
(`com.example.app:/oauth`, §7.1) and a claimed `https://` link (§7.2) match exactly. A loopback
`http://127.0.0.1/...` or `http://[::1]/...` (§7.3) matches whatever port the app's listener got:
scheme, host, path and query must be equal, the port is free (one in the configured entry is
ignored). `http://localhost` is refused (§8.3: a name can resolve elsewhere) and so is other http.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

MAX_REDIRECT_URI_LENGTH = 128
"""An allowed entry's length; so a native sign-in attempt stays small enough for its cookie."""

_LOOPBACK = re.compile(r"http://(127\.0\.0\.1|\[::1\])(?::([0-9]{1,5}))?(/[^?#]*)?(\?[^#]*)?")
_PRIVATE_SCHEME = re.compile(r"[a-z][a-z0-9+-]*(?:\.[a-z0-9+-]+)+")
_REQUESTED_PORT = re.compile(r"[1-9][0-9]{0,4}")


class RedirectUriError(ValueError):
    """Why one configured entry is not an allowed native redirect URI."""


def parse_native_redirect_uris(value: str) -> tuple[str, ...]:
    """The entries of a comma- or whitespace-separated list, each checked. Raises
    RedirectUriError naming the first bad one."""
    entries = [entry for entry in re.split(r"[\s,]+", value) if entry]
    for entry in entries:
        _check_entry(entry)
    return tuple(dict.fromkeys(entries))


def _check_entry(entry: str) -> None:
    if len(entry) > MAX_REDIRECT_URI_LENGTH:
        raise RedirectUriError(f"{entry[:60]!r}... is longer than {MAX_REDIRECT_URI_LENGTH} characters")
    if any(ord(c) < 0x21 or ord(c) == 0x7F or c in '"<>\\^`{|}' for c in entry):
        raise RedirectUriError(f"{entry!r} holds a character a URI may not")
    if "#" in entry:
        raise RedirectUriError(f"{entry!r} has a fragment, which a redirect URI may not (RFC 6749 §3.1.2)")
    scheme, _, rest = entry.partition(":")
    if not rest:
        raise RedirectUriError(f"{entry!r} is not an absolute URI")
    if scheme != scheme.lower():
        raise RedirectUriError(f"{entry!r}: write the scheme in lower case")
    try:
        parts = urlsplit(entry)
        parts.port  # noqa: B018 - raises on a port that is no number
    except ValueError:
        raise RedirectUriError(f"{entry!r} is not a valid URI") from None
    if scheme == "https":
        if not parts.hostname or "@" in parts.netloc:
            raise RedirectUriError(f"{entry!r} needs a host and no user information")
        return
    if scheme == "http":
        if parts.hostname == "localhost":
            raise RedirectUriError(
                f"{entry!r}: use http://127.0.0.1 or http://[::1], not localhost (RFC 8252 §8.3)"
            )
        if not _LOOPBACK.fullmatch(entry):
            raise RedirectUriError(
                f"{entry!r}: plain http is only for loopback, http://127.0.0.1/... or http://[::1]/... "
                "(RFC 8252 §7.3)"
            )
        return
    if not _PRIVATE_SCHEME.fullmatch(scheme):
        raise RedirectUriError(
            f"{entry!r}: a private-use scheme must be a reverse domain name such as com.example.app "
            "(RFC 8252 §7.1)"
        )


def native_redirect(allowed: tuple[str, ...], requested: str) -> str | None:
    """`requested` when it is an allowed redirect URI (a loopback one with any port), else None."""
    if requested in allowed and not _LOOPBACK.fullmatch(requested):
        return requested
    wanted = _LOOPBACK.fullmatch(requested)
    if wanted is None:
        return None
    port = wanted.group(2)
    if port is not None and not (_REQUESTED_PORT.fullmatch(port) and int(port) <= 65535):
        return None
    for entry in allowed:
        match = _LOOPBACK.fullmatch(entry)
        if match is not None and (match.group(1), match.group(3), match.group(4)) == (
            wanted.group(1),
            wanted.group(3),
            wanted.group(4),
        ):
            return requested
    return None
