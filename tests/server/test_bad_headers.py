"""Requests aiohttp's HTTP parser refuses, sent over raw sockets to the real `expense-tracker serve`:
our JSON error with a request id, never aiohttp's plain-text page echoing the header, and one
WARNING line in the log instead of an ERROR traceback."""

from __future__ import annotations

import json
import signal
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.server.processes import command_env, serving
from tests.services import free_port

SECRET = b"s3cret-token-material"
BIG = b"a" * 9000


@dataclass(frozen=True)
class RawReply:
    status: int
    headers: dict[str, str]
    body: Any


def send_raw(port: int, request: bytes) -> RawReply:
    """Send `request` as it is and read the answer up to the server's close."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    assert headers.get("content-type", "").startswith("application/json"), received[:300]
    return RawReply(int(status_line.split()[1]), headers, json.loads(body))


CASES = {
    "a header over 8 KiB": (b"X-Big: " + SECRET + BIG, 431, "request_header_fields_too_large"),
    "more than 128 headers": (
        b"\r\n".join(b"X-H%d: %s" % (i, SECRET) for i in range(200)),
        431,
        "request_header_fields_too_large",
    ),
    "a NUL byte in a header value": (b"X-Bad: " + SECRET + b"\x00b", 400, "malformed_request"),
    "a NUL byte in a header name": (b"X-B\x00d: " + SECRET, 400, "malformed_request"),
    "a 0xFF byte in a header name": (b"X-B\xffd: " + SECRET, 400, "malformed_request"),
}


@pytest.fixture
def server(tmp_path: Path) -> Any:
    port = free_port()
    env = command_env(tmp_path / "data", LOG_LEVEL="INFO", SECRET_KEY="k" * 48)
    with serving(env, tmp_path, port) as process:
        yield port, process


def stop(process: Any) -> str:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    log: str = process.stderr.read()
    return log


@pytest.mark.parametrize("case", CASES)
def test_an_unparseable_header_gets_our_json_error_and_a_warning(server: Any, case: str) -> None:
    port, process = server
    header, status, code = CASES[case]
    reply = send_raw(port, b"GET /api/groups HTTP/1.1\r\nHost: localhost\r\n" + header + b"\r\n\r\n")
    assert (reply.status, reply.body["error"]["code"]) == (status, code)
    request_id = reply.body["error"]["request_id"]
    assert reply.headers["x-request-id"] == request_id and len(request_id) == 32
    assert SECRET.decode() not in json.dumps(reply.body), "the header is echoed back"
    assert reply.headers["x-content-type-options"] == "nosniff"
    # The server carries on.
    assert (
        send_raw(port, b"GET /api/nothing HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").status
        == 404
    )
    log = stop(process)
    refusals = [line for line in log.splitlines() if "refused an unparseable request" in line]
    assert len(refusals) == 1 and " WARNING " in refusals[0] and f"[{request_id}]" in refusals[0], log
    assert "Traceback" not in log and " ERROR " not in log, log


def test_a_request_line_over_8_kib_and_a_non_http_line_get_json_errors(server: Any) -> None:
    port, process = server
    long_line = send_raw(port, b"GET /" + BIG + b" HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert (long_line.status, long_line.body["error"]["code"]) == (431, "request_header_fields_too_large")
    garbage = send_raw(port, b"\x16\x03\x01 not http\r\n\r\n")
    assert (garbage.status, garbage.body["error"]["code"]) == (400, "malformed_request")
    log = stop(process)
    assert "Traceback" not in log and " ERROR " not in log, log
    assert any(" INFO " in line for line in log.splitlines() if "refused an unparseable" in line), log
