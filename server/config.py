"""Configuration: read once from the environment (and an optional `.env`), validated, frozen.

A bad value stops start-up with one line naming the variable (`ConfigError`), so nothing half-starts.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from ocr.settings import (
    DEFAULT_LANGUAGES,
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_UPLOAD_BYTES,
    DEFAULT_QUEUE_SIZE,
    DEFAULT_TESSERACT_CMD,
    DEFAULT_TIMEOUT_SECONDS,
    OcrSettings,
    ReceiptStorageSettings,
    default_workers,
)
from realtime.settings import (
    DEFAULT_HISTORY,
    DEFAULT_PUSH_TIMEOUT_SECONDS,
    DEFAULT_PUSH_TTL_SECONDS,
    DEFAULT_WS_QUEUE_SIZE,
    MACHINE_SOCKET_ENV,
    RealtimeSettings,
    WebPushSettings,
)
from realtime.webpush import InvalidVapidKey, load_vapid_key
from server.native_redirects import RedirectUriError, parse_native_redirect_uris
from services.sessions import SessionSettings
from store.settings import DynamoDBSettings

log = logging.getLogger(__name__)

MIN_SECRET_BYTES = 32
GOOGLE_ISSUER = "https://accounts.google.com"
SECRET_FILE_NAME = "secret_key"
DEFAULT_RATE_LIMIT_PER_MINUTE = 600
DEFAULT_RATE_LIMIT_WRITES_PER_MINUTE = 120
MAX_RATE_LIMIT_PER_MINUTE = 1_000_000
MAX_WORKERS = 64
WORKER_ENV = "EXPENSE_TRACKER_WORKER"
"""Not a setting: which worker slot (0..N-1) a worker process fills (`server.workers`)."""

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class RateLimitSettings:
    """REST rate limits, as token buckets per user (per client address without a valid token).

    `per_minute` bounds every request, `writes_per_minute` POST, PUT, PATCH and DELETE as well; 0
    turns that limit off. `trusted_proxies` are the peers whose `X-Forwarded-For` is believed (none:
    the client is the socket peer). With REDIS_URL set, the buckets live in Redis, shared by every
    instance."""

    per_minute: int = DEFAULT_RATE_LIMIT_PER_MINUTE
    writes_per_minute: int = DEFAULT_RATE_LIMIT_WRITES_PER_MINUTE
    trusted_proxies: tuple[Network, ...] = ()

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0 or self.writes_per_minute > 0


WEB_APP_DIR = Path(__file__).resolve().parents[1] / "web" / "dist"
"""Where `make` builds the web app (`web/`)."""


def _web_app_dir(value: str) -> Path | None:
    """The built web app's directory, if it holds one (`off` turns it off)."""
    if value.lower() == "off":
        return None
    path = Path(value).expanduser().resolve()
    return path if (path / "index.html").is_file() else None


class ConfigError(Exception):
    """One configuration problem; str() is the single line shown to the operator."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


@dataclass(frozen=True, slots=True)
class Config:
    environment: Literal["development", "production"]
    secret_key: str
    secret_key_generated: bool
    google_client_id: str
    google_client_secret: str
    oidc_issuer: str
    oidc_timeout_seconds: int
    backend_callback_url: str
    frontend_base_url: str
    jwt_expiration_hours: int
    jwt_issuer: str
    store_backend: Literal["sqlite", "dynamodb"]
    data_dir: Path
    sqlite_path: Path
    dynamodb: DynamoDBSettings
    realtime: RealtimeSettings
    host: str
    port: int
    log_level: str
    log_format: Literal["text", "json"]
    cors_origins: tuple[str, ...]
    ocr: OcrSettings
    receipts: ReceiptStorageSettings
    rate_limits: RateLimitSettings
    sessions: SessionSettings = field(default_factory=SessionSettings)
    workers: int = 1
    """`WEB_CONCURRENCY`, or `serve --workers`: server processes sharing the port (`server.workers`)."""
    worker: int | None = None
    """Which of several workers this process is (0..N-1), set by their supervisor; None alone."""
    metrics_token: str | None = None
    """`METRICS_TOKEN`: `GET /metrics` answers only `Authorization: Bearer <it>`."""
    metrics_port: int | None = None
    """`METRICS_PORT` (without a token): `/metrics` is served on this port alone, else nowhere."""
    native_redirect_uris: tuple[str, ...] = ()
    """Where native apps may be sent back after signing in (`server.native_redirects`)."""
    push: WebPushSettings | None = None
    """Web Push; None (no VAPID_PRIVATE_KEY) means push is off."""
    restore_days: int = 30
    """RESTORE_DAYS: how long a deleted expense or settlement can be restored (and is kept)."""
    recurring_seconds: int = 60
    """RECURRING_INTERVAL_SECONDS: how often this instance's scheduler looks for due recurring
    expenses (0: never; another instance must then run it). Every instance may run it."""
    exchange_rates_url: str | None = None
    """EXCHANGE_RATES_URL: where to fetch the ECB's reference rates (XML or CSV) from; None: never
    (rates then come from `expense-tracker rates import`)."""
    exchange_rates_seconds: int = 3600
    """EXCHANGE_RATES_INTERVAL_SECONDS: how often to fetch them (a conditional GET: an unchanged
    file costs one small request)."""
    web_app_dir: Path | None = None
    """WEB_APP_DIR (default: the repository's `web/dist`; `off`: none): the built web app, served
    at `/app/` when it holds an `index.html`; None: not built, so the server serves the API alone."""

    @property
    def is_development(self) -> bool:
        return self.environment == "development"

    @property
    def server_origin(self) -> str:
        """This server's own origin, as browsers reach it (that of BACKEND_CALLBACK_URL)."""
        parts = urlsplit(self.backend_callback_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def web_app_url(self) -> str | None:
        """Where this server serves the web app (`<its origin>/app`), or None. Sign-in may land
        there as well as under `frontend_base_url`."""
        return None if self.web_app_dir is None else f"{self.server_origin}/app"

    @property
    def landing_bases(self) -> tuple[str, ...]:
        """Where a browser may be sent after signing in: the frontend, then the served web app."""
        return (self.frontend_base_url,) + ((self.web_app_url,) if self.web_app_url else ())

    @property
    def socket_origins(self) -> tuple[str, ...]:
        """The browser origins that may open the WebSocket: CORS_ORIGINS, and this server's own
        when it serves the web app (its pages are same-origin, so CORS does not list them)."""
        if self.web_app_dir is None or self.server_origin in self.cors_origins:
            return self.cors_origins
        return (*self.cors_origins, self.server_origin)

    @property
    def redis_url(self) -> str | None:
        """Where Redis is, when events and tickets go through it (short for `realtime.redis_url`)."""
        return self.realtime.redis_url


def load_config(environ: Mapping[str, str] | None = None, *, read_dotenv: bool = True) -> Config:
    """Build the configuration from `environ` (default: the process environment plus `.env`)."""
    if environ is None:
        if read_dotenv:
            from dotenv import load_dotenv

            load_dotenv(override=False)
        environ = os.environ
    env = _Reader(environ)

    environment = env.choice("APP_ENV", ("development", "production"), "development")
    data_dir = Path(env.text("DATA_DIR", "data")).expanduser()
    secret_key, generated = _secret_key(env, environment, data_dir)
    frontend = env.url("FRONTEND_BASE_URL", "http://localhost:5173").rstrip("/")
    port = env.integer("PORT", 5000, low=1, high=65535)
    endpoint_url = env.url("DYNAMODB_ENDPOINT_URL", "") or None
    default_backend = "dynamodb" if endpoint_url else "sqlite"
    dynamodb = DynamoDBSettings(
        region=env.text("AWS_REGION", "us-east-1"),
        endpoint_url=endpoint_url,
        users_table=env.table("DYNAMODB_USERS_TABLE", "Users"),
        groups_table=env.table("DYNAMODB_GROUPS_TABLE", "Groups"),
        expenses_table=env.table("DYNAMODB_EXPENSES_TABLE", "Expenses"),
        transactions_table=env.table("DYNAMODB_TRANSACTIONS_TABLE", "Transactions"),
        chats_table=env.table("DYNAMODB_CHATS_TABLE", "Chats"),
    )
    origins = env.text("CORS_ORIGINS", frontend)
    cors_origins = tuple(
        _check_url("CORS_ORIGINS", origin.strip().rstrip("/"))
        for origin in origins.split(",")
        if origin.strip()
    )
    return Config(
        environment=environment,  # type: ignore[arg-type]
        secret_key=secret_key,
        secret_key_generated=generated,
        google_client_id=env.text("GOOGLE_CLIENT_ID", ""),
        google_client_secret=env.text("GOOGLE_CLIENT_SECRET", ""),
        oidc_issuer=_issuer(env.url("OIDC_ISSUER", GOOGLE_ISSUER), environment),
        oidc_timeout_seconds=env.integer("OIDC_TIMEOUT_SECONDS", 10, low=1, high=60),
        backend_callback_url=env.url("BACKEND_CALLBACK_URL", f"http://localhost:{port}/api/callback"),
        frontend_base_url=frontend,
        jwt_expiration_hours=env.integer("JWT_EXPIRATION_HOURS", 24, low=1, high=24 * 366),
        jwt_issuer=env.text("JWT_ISSUER", "expense-tracker"),
        sessions=SessionSettings(
            access_token_minutes=env.integer("ACCESS_TOKEN_MINUTES", 15, low=1, high=24 * 60),
            refresh_token_days=env.integer("REFRESH_TOKEN_DAYS", 60, low=1, high=3660),
            refresh_grace_seconds=env.integer("REFRESH_GRACE_SECONDS", 10, low=0, high=300),
        ),
        native_redirect_uris=_native_redirect_uris(env.text("NATIVE_REDIRECT_URIS", "")),
        restore_days=env.integer("RESTORE_DAYS", 30, low=1, high=3660),
        recurring_seconds=env.integer("RECURRING_INTERVAL_SECONDS", 60, low=0, high=86_400),
        exchange_rates_url=env.url("EXCHANGE_RATES_URL", "") or None,
        exchange_rates_seconds=env.integer("EXCHANGE_RATES_INTERVAL_SECONDS", 3600, low=60, high=7 * 86_400),
        web_app_dir=_web_app_dir(env.text("WEB_APP_DIR", str(WEB_APP_DIR))),
        store_backend=env.choice("STORE_BACKEND", ("sqlite", "dynamodb"), default_backend),  # type: ignore[arg-type]
        data_dir=data_dir,
        sqlite_path=Path(env.text("SQLITE_PATH", str(data_dir / "expense-tracker.sqlite3"))),
        dynamodb=dynamodb,
        realtime=RealtimeSettings(
            redis_url=_redis_url(env.text("REDIS_URL", "")),
            history=env.integer("REALTIME_HISTORY", DEFAULT_HISTORY, low=1, high=100_000),
            ws_queue_size=env.integer("WS_QUEUE_SIZE", DEFAULT_WS_QUEUE_SIZE, low=4, high=100_000),
            machine_socket=env.text(MACHINE_SOCKET_ENV, "") or None,
        ),
        host=env.text("HOST", "0.0.0.0"),
        port=port,
        workers=env.integer("WEB_CONCURRENCY", 1, low=1, high=MAX_WORKERS),
        worker=env.integer(WORKER_ENV, -1, low=-1, high=MAX_WORKERS) if WORKER_ENV in environ else None,
        metrics_token=env.text("METRICS_TOKEN", "").strip() or None,
        metrics_port=env.integer("METRICS_PORT", 0, low=0, high=65_535) or None,
        log_level=env.choice(
            "LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"), "WARNING", upper=True
        ),
        log_format=env.choice("LOG_FORMAT", ("text", "json"), "text"),  # type: ignore[arg-type]
        cors_origins=cors_origins,
        ocr=OcrSettings(
            tesseract_cmd=env.text("TESSERACT_CMD", DEFAULT_TESSERACT_CMD),
            workers=env.integer("OCR_WORKERS", default_workers(), low=1, high=64),
            queue_size=env.integer("OCR_QUEUE_SIZE", DEFAULT_QUEUE_SIZE, low=0, high=10_000),
            timeout_seconds=env.integer("OCR_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS, low=1, high=3600),
            max_upload_bytes=env.integer(
                "OCR_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES, low=1024, high=200 * 1024**2
            ),
            max_pixels=env.integer("OCR_MAX_PIXELS", DEFAULT_MAX_PIXELS, low=10_000, high=250_000_000),
            languages=_languages(env.text("OCR_LANGUAGES", DEFAULT_LANGUAGES)),
        ),
        receipts=ReceiptStorageSettings(
            directory=Path(env.text("RECEIPTS_DIR", str(data_dir / "receipts"))).expanduser(),
            bucket=_bucket(env.text("RECEIPTS_BUCKET", "")),
            prefix=_prefix(env.text("RECEIPTS_PREFIX", "receipts/")),
            region=dynamodb.region,
            endpoint_url=env.url("RECEIPTS_S3_ENDPOINT_URL", "") or None,
        ),
        rate_limits=RateLimitSettings(
            per_minute=env.integer(
                "RATE_LIMIT_PER_MINUTE", DEFAULT_RATE_LIMIT_PER_MINUTE, low=0, high=MAX_RATE_LIMIT_PER_MINUTE
            ),
            writes_per_minute=env.integer(
                "RATE_LIMIT_WRITES_PER_MINUTE",
                DEFAULT_RATE_LIMIT_WRITES_PER_MINUTE,
                low=0,
                high=MAX_RATE_LIMIT_PER_MINUTE,
            ),
            trusted_proxies=_networks("TRUSTED_PROXIES", env.text("TRUSTED_PROXIES", "")),
        ),
        push=_push(env),
    )


class _Reader:
    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def text(self, name: str, default: str) -> str:
        value = self._environ.get(name)
        return default if value is None or value.strip() == "" else value.strip()

    def choice(self, name: str, options: tuple[str, ...], default: str, *, upper: bool = False) -> str:
        value = self.text(name, default)
        value = value.upper() if upper else value.lower()
        if value not in options:
            raise ConfigError(name, f"must be one of {', '.join(options)}, got {value!r}")
        return value

    def integer(self, name: str, default: int, *, low: int, high: int) -> int:
        raw = self.text(name, str(default))
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(name, f"must be a whole number, got {raw!r}") from None
        if not low <= value <= high:
            raise ConfigError(name, f"must be between {low} and {high}, got {value}")
        return value

    def url(self, name: str, default: str) -> str:
        value = self.text(name, default)
        return _check_url(name, value) if value else value

    def table(self, name: str, default: str) -> str:
        value = self.text(name, default)
        if not (3 <= len(value) <= 255) or not all(c.isalnum() or c in "_-." for c in value):
            raise ConfigError(name, f"must be 3-255 letters, digits, '_', '-' or '.', got {value!r}")
        return value


def _check_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(name, f"must be an http(s) URL, got {value!r}")
    return value


def _issuer(value: str, environment: str) -> str:
    """An OpenID Connect issuer identifier: a URL with no query or fragment (OIDC Discovery §2),
    https outside development, where a local test provider may use plain http."""
    parts = urlsplit(value)
    if parts.query or parts.fragment or "?" in value or "#" in value:
        raise ConfigError("OIDC_ISSUER", f"must have no query or fragment, got {value!r}")
    if environment != "development" and parts.scheme != "https":
        raise ConfigError("OIDC_ISSUER", f"must be an https URL in production, got {value!r}")
    return value


def _native_redirect_uris(value: str) -> tuple[str, ...]:
    try:
        return parse_native_redirect_uris(value)
    except RedirectUriError as exc:
        raise ConfigError("NATIVE_REDIRECT_URIS", str(exc)) from None


def _redis_url(value: str) -> str | None:
    if not value:
        return None
    if urlsplit(value).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError("REDIS_URL", f"must start with redis://, rediss:// or unix://, got {value!r}")
    return value


def _networks(name: str, value: str) -> tuple[Network, ...]:
    """Comma-separated addresses or CIDR networks (`10.0.0.0/8, 2001:db8::1`)."""
    networks: list[Network] = []
    for item in value.split(","):
        if not item.strip():
            continue
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise ConfigError(name, f"must be IP addresses or CIDR networks, got {item.strip()!r}") from None
    return tuple(networks)


def _push(env: _Reader) -> WebPushSettings | None:
    """Web Push settings, or None when VAPID_PRIVATE_KEY is unset (push off). The key is parsed
    now, so a bad one stops start-up instead of the first push."""
    key = env.text("VAPID_PRIVATE_KEY", "")
    subject = env.text("VAPID_SUBJECT", "")
    if not key:
        if subject:
            raise ConfigError("VAPID_PRIVATE_KEY", "is required when VAPID_SUBJECT is set")
        return None
    try:
        load_vapid_key(key)
    except InvalidVapidKey as exc:
        raise ConfigError("VAPID_PRIVATE_KEY", str(exc)) from None
    if not subject:
        raise ConfigError("VAPID_SUBJECT", "is required with VAPID_PRIVATE_KEY (a mailto: or https: URL)")
    parts = urlsplit(subject)
    if not ((parts.scheme == "mailto" and "@" in parts.path) or (parts.scheme == "https" and parts.netloc)):
        raise ConfigError("VAPID_SUBJECT", f"must be a mailto: or https: URL, got {subject!r}")
    return WebPushSettings(
        vapid_private_key=key,
        subject=subject,
        ttl_seconds=env.integer("PUSH_TTL_SECONDS", DEFAULT_PUSH_TTL_SECONDS, low=0, high=28 * 24 * 60 * 60),
        timeout_seconds=env.integer("PUSH_TIMEOUT_SECONDS", DEFAULT_PUSH_TIMEOUT_SECONDS, low=1, high=60),
    )


_LANGUAGE = re.compile(r"[a-z]{3}(?:_[a-z]+)*")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")


def _languages(value: str) -> str:
    """Tesseract's `-l` argument: language codes joined by `+` (`eng+deu`, `chi_sim`)."""
    codes = [code.strip() for code in value.split("+")]
    if not codes or not all(_LANGUAGE.fullmatch(code) for code in codes):
        raise ConfigError("OCR_LANGUAGES", f"must be tesseract language codes joined by '+', got {value!r}")
    return "+".join(codes)


def _bucket(value: str) -> str | None:
    if not value:
        return None
    if not _BUCKET.fullmatch(value):
        raise ConfigError("RECEIPTS_BUCKET", f"must be a valid S3 bucket name, got {value!r}")
    return value


def _prefix(value: str) -> str:
    value = value.strip("/")
    if any(part in ("", ".", "..") for part in value.split("/")) and value:
        raise ConfigError("RECEIPTS_PREFIX", f"must be a plain key prefix, got {value!r}")
    return f"{value}/" if value else ""


def _secret_key(env: _Reader, environment: str, data_dir: Path) -> tuple[str, bool]:
    """The signing key; in development a missing one is generated once and kept in the data dir."""
    value = env.text("SECRET_KEY", "")
    if value:
        if len(value.encode()) < MIN_SECRET_BYTES:
            raise ConfigError(
                "SECRET_KEY", f"must be at least {MIN_SECRET_BYTES} bytes, got {len(value.encode())}"
            )
        return value, False
    if environment != "development":
        raise ConfigError("SECRET_KEY", "is required outside development (APP_ENV=production)")
    path = data_dir / SECRET_FILE_NAME
    try:
        stored = path.read_text().strip()
    except FileNotFoundError:
        stored = ""
    except OSError as exc:
        raise ConfigError("SECRET_KEY", f"not set and {path} cannot be read: {exc}") from None
    if len(stored.encode()) >= MIN_SECRET_BYTES:
        return stored, True
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        generated = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(generated + "\n")
    except OSError as exc:
        raise ConfigError("SECRET_KEY", f"not set and {path} cannot be written: {exc}") from None
    return generated, True
