from pathlib import Path

import pytest

from server.config import ConfigError, load_config

GOOD_SECRET = "s" * 40


def config_from(tmp_path: Path, **values: str):
    return load_config({"DATA_DIR": str(tmp_path), **values}, read_dotenv=False)


def test_defaults_run_on_sqlite_in_the_data_dir(tmp_path):
    config = config_from(tmp_path, SECRET_KEY=GOOD_SECRET)
    assert config.store_backend == "sqlite"
    assert config.sqlite_path == tmp_path / "expense-tracker.sqlite3"
    assert config.port == 5000
    assert config.log_level == "WARNING"
    assert config.jwt_expiration_hours == 24
    assert config.redis_url is None
    assert config.frontend_base_url == "http://localhost:5173"  # a Vite dev server (issue 18)
    assert config.cors_origins == ("http://localhost:5173",)


def test_seed_variables_keep_their_meaning(tmp_path):
    config = config_from(
        tmp_path,
        SECRET_KEY=GOOD_SECRET,
        GOOGLE_CLIENT_ID="cid",
        GOOGLE_CLIENT_SECRET="csecret",
        BACKEND_CALLBACK_URL="https://api.example.com/api/callback",
        FRONTEND_BASE_URL="https://app.example.com/",
        JWT_EXPIRATION_HOURS="12",
        AWS_REGION="eu-west-1",
        DYNAMODB_USERS_TABLE="U-1",
        DYNAMODB_GROUPS_TABLE="G-1",
        DYNAMODB_EXPENSES_TABLE="E-1",
        DYNAMODB_TRANSACTIONS_TABLE="T-1",
        DYNAMODB_CHATS_TABLE="C-1",
    )
    assert (config.google_client_id, config.google_client_secret) == ("cid", "csecret")
    assert config.backend_callback_url == "https://api.example.com/api/callback"
    assert config.frontend_base_url == "https://app.example.com"
    assert config.cors_origins == ("https://app.example.com",)
    assert config.jwt_expiration_hours == 12
    assert config.dynamodb.region == "eu-west-1"
    assert (config.dynamodb.users_table, config.dynamodb.chats_table) == ("U-1", "C-1")


def test_an_endpoint_url_selects_dynamodb(tmp_path):
    config = config_from(tmp_path, SECRET_KEY=GOOD_SECRET, DYNAMODB_ENDPOINT_URL="http://127.0.0.1:8000")
    assert config.store_backend == "dynamodb"
    assert config.dynamodb.endpoint_url == "http://127.0.0.1:8000"


@pytest.mark.parametrize(
    ("variable", "value", "fragment"),
    [
        ("SECRET_KEY", "short", "at least 32 bytes"),
        ("JWT_EXPIRATION_HOURS", "abc", "whole number"),
        ("JWT_EXPIRATION_HOURS", "0", "between"),
        ("PORT", "70000", "between"),
        ("REDIS_URL", "http://x", "redis://"),
        ("FRONTEND_BASE_URL", "not a url", "http(s) URL"),
        ("STORE_BACKEND", "mysql", "one of"),
        ("LOG_LEVEL", "LOUD", "one of"),
        ("LOG_FORMAT", "xml", "one of"),
        ("DYNAMODB_USERS_TABLE", "a b", "letters"),
        ("APP_ENV", "staging", "one of"),
        ("OIDC_ISSUER", "accounts.google.com", "http(s) URL"),
        ("OIDC_ISSUER", "https://issuer.example/?tenant=1", "no query or fragment"),
        ("OIDC_TIMEOUT_SECONDS", "0", "between"),
        ("OIDC_TIMEOUT_SECONDS", "61", "between"),
        ("EXCHANGE_RATES_URL", "ftp://ecb.europa.eu/eurofxref.xml", "http(s) URL"),
        ("EXCHANGE_RATES_INTERVAL_SECONDS", "59", "between"),
    ],
)
def test_a_bad_value_names_the_variable(tmp_path, variable, value, fragment):
    environ = {"SECRET_KEY": GOOD_SECRET, variable: value}
    with pytest.raises(ConfigError) as caught:
        config_from(tmp_path, **environ)
    assert str(caught.value).startswith(f"{variable}: ")
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)


def test_exchange_rates_are_fetched_only_when_a_url_is_set(tmp_path):
    assert config_from(tmp_path, SECRET_KEY=GOOD_SECRET).exchange_rates_url is None
    url = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"
    config = config_from(tmp_path, SECRET_KEY=GOOD_SECRET, EXCHANGE_RATES_URL=url)
    assert (config.exchange_rates_url, config.exchange_rates_seconds) == (url, 3600)


def test_production_requires_a_secret_key(tmp_path):
    with pytest.raises(ConfigError, match="^SECRET_KEY: is required"):
        config_from(tmp_path, APP_ENV="production")


def test_development_generates_a_secret_once_and_keeps_it(tmp_path):
    first = config_from(tmp_path)
    second = config_from(tmp_path)
    assert first.secret_key_generated and second.secret_key_generated
    assert len(first.secret_key) >= 32
    assert first.secret_key == second.secret_key
    key_file = tmp_path / "secret_key"
    assert key_file.stat().st_mode & 0o077 == 0


def test_cors_origins_can_list_several(tmp_path):
    config = config_from(
        tmp_path, SECRET_KEY=GOOD_SECRET, CORS_ORIGINS="https://a.example, https://b.example/"
    )
    assert config.cors_origins == ("https://a.example", "https://b.example")


def test_sign_in_defaults_to_google(tmp_path):
    config = config_from(tmp_path, SECRET_KEY=GOOD_SECRET)
    assert config.oidc_issuer == "https://accounts.google.com"
    assert config.oidc_timeout_seconds == 10
    assert config.google_client_id == ""


def test_any_openid_provider_can_be_the_issuer(tmp_path):
    config = config_from(
        tmp_path,
        SECRET_KEY=GOOD_SECRET,
        OIDC_ISSUER="https://login.example.com/realms/main/",
        OIDC_TIMEOUT_SECONDS="3",
    )
    assert config.oidc_issuer == "https://login.example.com/realms/main/"
    assert config.oidc_timeout_seconds == 3


def test_a_plain_http_issuer_is_for_development_only(tmp_path):
    assert config_from(tmp_path, OIDC_ISSUER="http://127.0.0.1:9400").oidc_issuer
    with pytest.raises(ConfigError, match="^OIDC_ISSUER: must be an https URL"):
        config_from(
            tmp_path, APP_ENV="production", SECRET_KEY=GOOD_SECRET, OIDC_ISSUER="http://127.0.0.1:9400"
        )


def test_ocr_and_receipt_settings_have_defaults(tmp_path):
    config = config_from(tmp_path, SECRET_KEY=GOOD_SECRET)
    assert config.ocr.workers >= 1
    assert config.ocr.languages == "eng+deu"
    assert config.ocr.max_upload_bytes == 10 * 1024 * 1024
    assert config.receipts.directory == tmp_path / "receipts"
    assert config.receipts.bucket is None


def test_ocr_and_receipt_settings_are_read(tmp_path):
    config = config_from(
        tmp_path,
        SECRET_KEY=GOOD_SECRET,
        OCR_WORKERS="3",
        OCR_QUEUE_SIZE="0",
        OCR_TIMEOUT_SECONDS="5",
        OCR_MAX_UPLOAD_BYTES="2048",
        OCR_MAX_PIXELS="1000000",
        OCR_LANGUAGES="deu+eng+chi_sim",
        RECEIPTS_BUCKET="my-receipts",
        RECEIPTS_PREFIX="/scans/",
        RECEIPTS_S3_ENDPOINT_URL="http://127.0.0.1:9000",
    )
    assert (config.ocr.workers, config.ocr.queue_size, config.ocr.timeout_seconds) == (3, 0, 5)
    assert (config.ocr.max_upload_bytes, config.ocr.max_pixels) == (2048, 1_000_000)
    assert config.ocr.languages == "deu+eng+chi_sim"
    assert config.receipts.bucket == "my-receipts"
    assert config.receipts.prefix == "scans/"
    assert config.receipts.endpoint_url == "http://127.0.0.1:9000"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OCR_WORKERS", "0"),
        ("OCR_TIMEOUT_SECONDS", "soon"),
        ("OCR_MAX_UPLOAD_BYTES", "10"),
        ("OCR_LANGUAGES", "english; rm -rf"),
        ("RECEIPTS_BUCKET", "Not_A_Bucket"),
        ("RECEIPTS_PREFIX", "a/../b"),
        ("RECEIPTS_S3_ENDPOINT_URL", "ftp://x"),
    ],
)
def test_bad_ocr_settings_name_their_variable(tmp_path, variable, value):
    with pytest.raises(ConfigError) as raised:
        config_from(tmp_path, SECRET_KEY=GOOD_SECRET, **{variable: value})
    assert raised.value.variable == variable


def test_web_concurrency_sets_the_workers(tmp_path):
    assert config_from(tmp_path, SECRET_KEY=GOOD_SECRET).workers == 1
    assert config_from(tmp_path, SECRET_KEY=GOOD_SECRET, WEB_CONCURRENCY="4").workers == 4
    for bad in ("0", "65", "two"):
        with pytest.raises(ConfigError, match="WEB_CONCURRENCY"):
            config_from(tmp_path, SECRET_KEY=GOOD_SECRET, WEB_CONCURRENCY=bad)


def test_a_worker_knows_its_slot_and_the_supervisor(tmp_path):
    alone = config_from(tmp_path, SECRET_KEY=GOOD_SECRET)
    assert alone.worker is None and alone.realtime.machine_socket is None
    worker = config_from(
        tmp_path,
        SECRET_KEY=GOOD_SECRET,
        EXPENSE_TRACKER_WORKER="1",
        EXPENSE_TRACKER_MACHINE_SOCKET="/tmp/x/machine.sock",
    )
    assert worker.worker == 1 and worker.realtime.machine_socket == "/tmp/x/machine.sock"
