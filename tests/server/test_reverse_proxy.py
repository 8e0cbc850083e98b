"""The nginx configuration the docs give (docs/nginx.conf), run by a real nginx in front of a real
server with two workers: TLS, WebSocket upgrades, bodies the size of a receipt upload, and rate
limits keyed by the client's own address, which a client cannot forge."""

from __future__ import annotations

import datetime
import json
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.realtime.wsclient import WsClient
from tests.server.processes import command_env, run_command, serving
from tests.services import free_port
from tests.tcp import listening
from tests.waiting import wait_until_sync

DOCUMENTED = Path(__file__).resolve().parents[2] / "docs" / "nginx.conf"
ANONYMOUS_PER_MINUTE = 8
UPLOAD_BYTES = 10 * 2**20 - 4096  # just under OCR_MAX_UPLOAD_BYTES


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "api.example.com")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert, private = directory / "fullchain.pem", directory / "privkey.pem"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert, private


def nginx_config(directory: Path, upstream: int, port: int) -> Path:
    """The documented file, with only its addresses and certificate paths changed, inside the
    smallest main configuration that runs nginx in the foreground from `directory`."""
    cert, key = self_signed(directory)
    site = DOCUMENTED.read_text()
    for documented, here in (
        ("server 127.0.0.1:5000;", f"server 127.0.0.1:{upstream};"),
        ("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;"),
        ("/etc/ssl/expense-tracker/fullchain.pem", str(cert)),
        ("/etc/ssl/expense-tracker/privkey.pem", str(key)),
    ):
        assert documented in site, documented
        site = site.replace(documented, here)
    (directory / "site.conf").write_text(site)
    temp = " ".join(
        f"{kind}_temp_path {directory / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main = directory / "nginx.conf"
    main.write_text(
        f"daemon off; master_process off; pid {directory / 'nginx.pid'};\n"
        f"error_log {directory / 'error.log'} warn;\n"
        "events { worker_connections 256; }\n"
        f"http {{ access_log off; {temp} include {directory / 'site.conf'}; }}\n"
    )
    return main


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """The server (two workers, believing X-Forwarded-For from 127.0.0.1 only) behind nginx: the
    proxy's https base URL and the server's environment."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    env = command_env(
        tmp_path / "data",
        WEB_CONCURRENCY="2",
        TRUSTED_PROXIES="127.0.0.1",
        RATE_LIMIT_PER_MINUTE=str(ANONYMOUS_PER_MINUTE),
    )
    upstream, port = free_port(), free_port()
    config = nginx_config(tmp_path, upstream, port)
    with serving(env, tmp_path, upstream):
        process = subprocess.Popen([nginx, "-c", str(config), "-p", str(tmp_path)], stderr=subprocess.PIPE)
        try:
            wait_until_sync(lambda: process.poll() is not None or listening(port), what="nginx listening")
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            yield f"https://127.0.0.1:{port}", env
        finally:
            process.terminate()
            process.wait(timeout=30)


@pytest.fixture
async def from_addresses() -> AsyncIterator[dict[str, aiohttp.ClientSession]]:
    """HTTP clients whose connections come from 127.0.0.2 and 127.0.0.3, as two people would."""
    insecure = ssl.create_default_context()
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE
    sessions = {
        address: aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=insecure, local_addr=(address, 0)))
        for address in ("127.0.0.2", "127.0.0.3")
    }
    yield sessions
    for session in sessions.values():
        await session.close()


async def call(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> tuple[int, Any]:
    headers = {**(headers or {}), **({"Authorization": f"Bearer {token}"} if token else {})}
    async with session.request(method, url, headers=headers, **kwargs) as reply:
        body = await reply.read()
        is_json = reply.content_type == "application/json"
        return reply.status, json.loads(body) if is_json else body.decode(errors="replace")


async def test_websockets_and_writes_pass_through_the_proxy(
    proxy: tuple[str, dict[str, str]], from_addresses: dict[str, aiohttp.ClientSession], tmp_path: Path
) -> None:
    base, env = proxy
    session = from_addresses["127.0.0.2"]
    token = run_command("token", "ana@example.com", env=env, cwd=tmp_path).stdout.strip()
    status, group = await call(session, "POST", f"{base}/api/groups", token, json={"name": "Trip"})
    assert status == 201, group
    status, ticket = await call(session, "POST", f"{base}/api/ws/ticket", token)
    assert status == 201, ticket
    ws = WsClient(
        await session.ws_connect(f"{base.replace('https', 'wss')}/api/ws?ticket={ticket['ticket']}")
    )
    assert (await ws.receive())["type"] == "welcome"
    assert (await ws.subscribe(f"group:{group['id']}"))["ok"]

    status, expense = await call(
        session,
        "POST",
        f"{base}/api/groups/{group['id']}/expenses",
        token,
        json={"description": "Taxi", "amount": "12.30"},
    )
    assert status == 201, expense
    assert (await ws.next_event())["data"]["id"] == expense["id"]
    await ws.close()


async def test_a_receipt_sized_upload_reaches_the_server(
    proxy: tuple[str, dict[str, str]], from_addresses: dict[str, aiohttp.ClientSession], tmp_path: Path
) -> None:
    """nginx lets a body just under the server's own limit through: the answer is the server's
    JSON about the file, not nginx's page about its size."""
    base, env = proxy
    token = run_command("token", "bea@example.com", env=env, cwd=tmp_path).stdout.strip()
    form = aiohttp.FormData()
    form.add_field("file", b"\0" * UPLOAD_BYTES, filename="receipt.jpg", content_type="image/jpeg")
    status, body = await call(from_addresses["127.0.0.2"], "POST", f"{base}/api/ocr/upload", token, data=form)
    assert status != 413 and isinstance(body, dict), (status, body)
    assert body["error"]["code"], body


async def test_rate_limits_key_on_the_clients_own_address_which_it_cannot_forge(
    proxy: tuple[str, dict[str, str]], from_addresses: dict[str, aiohttp.ClientSession]
) -> None:
    base, _ = proxy
    forged = {"X-Forwarded-For": "203.0.113.7"}
    one, other = from_addresses["127.0.0.2"], from_addresses["127.0.0.3"]
    statuses = [
        (await call(one, "GET", f"{base}/api/groups", headers=forged))[0] for _ in range(ANONYMOUS_PER_MINUTE)
    ]
    assert statuses == [401] * ANONYMOUS_PER_MINUTE
    assert (await call(one, "GET", f"{base}/api/groups", headers=forged))[0] == 429
    # Someone else, behind the same proxy, has a budget of their own: the limit was 127.0.0.2's,
    # not the proxy's, nor the forged address's.
    assert (await call(other, "GET", f"{base}/api/groups", headers=forged))[0] == 401
