"""The sign-in cookie's protections, which differ between development and production."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import InvalidToken

from server.config import load_config
from server.sessions import COOKIE_PATH, LIFETIME_SECONDS, cookie_cipher, sign_in_cookie_storage

SECRET = "s" * 40


def _storage(tmp_path: Path, environment: str):
    config = load_config(
        {"APP_ENV": environment, "SECRET_KEY": SECRET, "DATA_DIR": str(tmp_path)},
        read_dotenv=False,
    )
    return sign_in_cookie_storage(config)


def test_production_cookies_are_secure(tmp_path: Path) -> None:
    params = _storage(tmp_path, "production").cookie_params
    assert params["secure"] is True
    assert params["httponly"] is True
    assert params["samesite"] == "Lax"
    assert params["path"] == COOKIE_PATH
    assert params["max_age"] == LIFETIME_SECONDS


def test_development_cookies_work_over_plain_http(tmp_path: Path) -> None:
    assert _storage(tmp_path, "development").cookie_params["secure"] is False


def test_only_this_secret_key_opens_the_cookie() -> None:
    sealed = cookie_cipher(SECRET).encrypt(b"attempt")

    assert cookie_cipher(SECRET).decrypt(sealed) == b"attempt"
    with pytest.raises(InvalidToken):
        cookie_cipher("t" * 40).decrypt(sealed)
