"""The encrypted cookie that carries a sign-in attempt from `/api/login` to `/api/callback`.

It holds the attempt's state, nonce and PKCE verifier, so it is encrypted and authenticated
(Fernet), readable by no script (HttpOnly), sent on the provider's top-level redirect back to us but
not on cross-site subrequests (SameSite=Lax), Secure outside development, and short-lived.
"""

from __future__ import annotations

import hashlib
import hmac
from base64 import urlsafe_b64encode

from aiohttp import web
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from cryptography.fernet import Fernet

from server.config import Config

COOKIE_NAME = "expense_tracker_sign_in"
COOKIE_PATH = "/api/"
LIFETIME_SECONDS = 600
_KEY_LABEL = b"expense-tracker/sign-in-cookie/v1"

SIGN_IN_COOKIES = web.AppKey("sign_in_cookies", EncryptedCookieStorage)
"""Only the two sign-in handlers load and save this cookie, so no session middleware runs on
every other request."""


def cookie_cipher(secret_key: str) -> Fernet:
    """The cookie's Fernet cipher, under its own key derived from SECRET_KEY, so the cookie and
    our JWTs never share one."""
    derived = hmac.new(secret_key.encode(), _KEY_LABEL, hashlib.sha256).digest()
    return Fernet(urlsafe_b64encode(derived))


def sign_in_cookie_storage(config: Config) -> EncryptedCookieStorage:
    return EncryptedCookieStorage(
        cookie_cipher(config.secret_key),
        cookie_name=COOKIE_NAME,
        max_age=LIFETIME_SECONDS,
        path=COOKIE_PATH,
        secure=not config.is_development,
        httponly=True,
        samesite="Lax",
    )
