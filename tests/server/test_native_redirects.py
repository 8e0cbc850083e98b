"""NATIVE_REDIRECT_URIS: which redirect URIs a native app may use (RFC 8252 §7, §8.3), checked at
start-up, and how a requested one is matched (a loopback one with any port)."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.config import ConfigError, load_config
from server.native_redirects import MAX_REDIRECT_URI_LENGTH, native_redirect

GOOD_SECRET = "s" * 40


def _uris(tmp_path: Path, value: str) -> tuple[str, ...]:
    config = load_config(
        {"DATA_DIR": str(tmp_path), "SECRET_KEY": GOOD_SECRET, "NATIVE_REDIRECT_URIS": value},
        read_dotenv=False,
    )
    return config.native_redirect_uris


def test_none_by_default(tmp_path: Path) -> None:
    config = load_config({"DATA_DIR": str(tmp_path), "SECRET_KEY": GOOD_SECRET}, read_dotenv=False)
    assert config.native_redirect_uris == ()


def test_the_three_kinds_separated_by_commas_or_whitespace(tmp_path: Path) -> None:
    value = (
        "com.example.splitapp:/oauth,  https://app.example.com/native/callback\n"
        "http://127.0.0.1/cb http://[::1]:8080/cb?x=1, com.example.splitapp:/oauth"
    )
    assert _uris(tmp_path, value) == (
        "com.example.splitapp:/oauth",
        "https://app.example.com/native/callback",
        "http://127.0.0.1/cb",
        "http://[::1]:8080/cb?x=1",
    )


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("http://localhost:8080/cb", "not localhost (RFC 8252 §8.3)"),
        ("http://localhost/cb", "not localhost"),
        ("http://example.com/cb", "only for loopback"),
        ("http://127.0.0.2/cb", "only for loopback"),
        ("myapp:/oauth", "reverse domain name"),
        ("javascript:alert(1)", "reverse domain name"),
        ("com.example.app:/oauth#frag", "fragment"),
        ("https://app.example.com/cb#x", "fragment"),
        ("Com.Example.App:/oauth", "lower case"),
        ("https:///nohost", "needs a host"),
        ("https://user@app.example.com/cb", "no user information"),
        ("https://app.example.com:notaport/cb", "not a valid URI"),
        ("com.example.app", "not an absolute URI"),
        ("com.example.app:/o<a>uth", "character"),
        ("https://app.example.com/" + "a" * MAX_REDIRECT_URI_LENGTH, "longer than"),
    ],
)
def test_a_bad_entry_stops_start_up(tmp_path: Path, value: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _uris(tmp_path, f"com.example.good:/ok, {value}")
    message = str(caught.value)
    assert message.startswith("NATIVE_REDIRECT_URIS: ")
    assert fragment in message, message
    assert "\n" not in message


ALLOWED = (
    "com.example.app:/oauth",
    "https://app.example.com/cb",
    "http://127.0.0.1/cb",
    "http://[::1]:9999/v6?x=1",
)


@pytest.mark.parametrize(
    "requested",
    [
        "com.example.app:/oauth",
        "https://app.example.com/cb",
        "http://127.0.0.1/cb",
        "http://127.0.0.1:51234/cb",
        "http://127.0.0.1:1/cb",
        "http://127.0.0.1:65535/cb",
        "http://[::1]/v6?x=1",
        "http://[::1]:40000/v6?x=1",
    ],
)
def test_allowed_requests(requested: str) -> None:
    assert native_redirect(ALLOWED, requested) == requested


@pytest.mark.parametrize(
    "requested",
    [
        "com.example.app:/oauth/",
        "com.example.app:/oauth?x=1",
        "com.example.other:/oauth",
        "https://app.example.com/cb?x=1",
        "https://app.example.com:8443/cb",
        "https://app.example.com/cb/../cb",
        "http://127.0.0.1:51234/other",
        "http://127.0.0.1:51234/cb?x=1",
        "http://127.0.0.1:0/cb",
        "http://127.0.0.1:65536/cb",
        "http://127.0.0.1:051234/cb",
        "http://127.0.0.1:51234/cb#frag",
        "http://localhost:51234/cb",
        "http://[::1]:40000/cb",
        "http://127.0.0.1:40000/v6?x=1",
        "https://127.0.0.1:51234/cb",
        "http://user@127.0.0.1:51234/cb",
        "",
    ],
)
def test_refused_requests(requested: str) -> None:
    assert native_redirect(ALLOWED, requested) is None
