"""VAPID_PRIVATE_KEY / VAPID_SUBJECT: off without them, checked at start-up with them."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from realtime.webpush import load_vapid_key, public_key_text
from server.config import ConfigError, load_config

KEY = ec.generate_private_key(ec.SECP256R1())
PEM = KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
TRADITIONAL_PEM = KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
).decode()
RAW = base64.urlsafe_b64encode(KEY.private_numbers().private_value.to_bytes(32, "big")).rstrip(b"=").decode()
DER = base64.urlsafe_b64encode(
    KEY.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
).decode()
PUBLIC = (
    base64.urlsafe_b64encode(
        KEY.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )
    .rstrip(b"=")
    .decode()
)


def config_from(tmp_path: Path, **values: str):
    return load_config({"DATA_DIR": str(tmp_path), "SECRET_KEY": "s" * 40, **values}, read_dotenv=False)


def test_push_is_off_without_a_key(tmp_path):
    assert config_from(tmp_path).push is None


@pytest.mark.parametrize(
    "key",
    [PEM, TRADITIONAL_PEM, PEM.replace("\n", "\\n"), RAW, DER],
    ids=["pkcs8", "sec1", "one-line", "raw", "der"],
)
def test_every_documented_key_form_is_read(tmp_path, key):
    config = config_from(tmp_path, VAPID_PRIVATE_KEY=key, VAPID_SUBJECT="mailto:ops@example.com")
    assert config.push is not None
    assert config.push.subject == "mailto:ops@example.com"
    assert config.push.ttl_seconds == 86400 and config.push.timeout_seconds == 10
    assert not config.push.allow_http_loopback
    assert public_key_text(load_vapid_key(config.push.vapid_private_key)) == PUBLIC


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        ({"VAPID_SUBJECT": "mailto:ops@example.com"}, "VAPID_PRIVATE_KEY"),
        ({"VAPID_PRIVATE_KEY": PEM}, "VAPID_SUBJECT"),
        ({"VAPID_PRIVATE_KEY": PEM, "VAPID_SUBJECT": "ops@example.com"}, "VAPID_SUBJECT"),
        ({"VAPID_PRIVATE_KEY": PEM, "VAPID_SUBJECT": "http://example.com"}, "VAPID_SUBJECT"),
        ({"VAPID_PRIVATE_KEY": "not a key", "VAPID_SUBJECT": "mailto:ops@example.com"}, "VAPID_PRIVATE_KEY"),
        (
            {
                "VAPID_PRIVATE_KEY": ec.generate_private_key(ec.SECP384R1())
                .private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
                .decode(),
                "VAPID_SUBJECT": "mailto:ops@example.com",
            },
            "VAPID_PRIVATE_KEY",
        ),
        (
            {"VAPID_PRIVATE_KEY": PEM, "VAPID_SUBJECT": "https://example.com", "PUSH_TTL_SECONDS": "-1"},
            "PUSH_TTL_SECONDS",
        ),
    ],
)
def test_a_bad_push_setting_names_its_variable(tmp_path, values, variable):
    with pytest.raises(ConfigError) as raised:
        config_from(tmp_path, **values)
    assert raised.value.variable == variable
