"""The real command, as an operator runs it: serve, token, restart, SIGTERM."""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import urllib.request
import uuid
from typing import Any

from tests.server.processes import command_env, run_command, serving
from tests.services import free_port
from tests.tcp import listening, server_read_all
from tests.waiting import wait_until_sync


def call(port: int, method: str, path: str, token: str, body: dict[str, Any] | None = None):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as reply:
        return reply.status, json.loads(reply.read() or b"null"), reply.headers


def test_token_then_groups_survive_a_restart(tmp_path):
    env = command_env(tmp_path / "data")
    port = free_port()
    with serving(env, tmp_path, port) as server:
        token_run = run_command("token", "alice@example.com", "--name", "Alice", env=env, cwd=tmp_path)
        assert token_run.returncode == 0, token_run.stderr
        token = token_run.stdout.strip()
        status, created, _ = call(port, "POST", "/api/groups", token, {"name": "Flat"})
        assert status == 201
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
        assert server.stderr is not None
        assert "SECRET_KEY is not set" in server.stderr.read()
    with serving(env, tmp_path, port):
        status, page, _ = call(port, "GET", "/api/groups", token)
        assert status == 200
        assert [g["id"] for g in page["items"]] == [created["id"]]
        status, user, _ = call(port, "GET", "/api/user", token)
        assert (user["email"], user["name"]) == ("alice@example.com", "Alice")


def test_sigterm_lets_an_in_flight_request_finish(tmp_path):
    """A request whose handler is running when SIGTERM arrives still gets its answer.

    The handler is held mid-write by another process owning SQLite's write lock, the way a slow
    store would hold it, and released only after the signal."""
    env = command_env(tmp_path / "data")
    port = free_port()
    token = run_command("token", "bob@example.com", env=env, cwd=tmp_path).stdout.strip()
    body = json.dumps({"name": "Started before shutdown"}).encode()
    head = (
        f"POST /api/groups HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with serving(env, tmp_path, port) as server:
        blocker = sqlite3.connect(tmp_path / "data" / "expense-tracker.sqlite3", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        with socket.create_connection(("127.0.0.1", port), timeout=20) as connection:
            connection.sendall(head + body)
            wait_until_sync(lambda: server_read_all(connection), what="the server reading the request")
            server.send_signal(signal.SIGTERM)
            # Shutting down starts with closing the listening socket; the request must outlive that.
            wait_until_sync(lambda: not listening(port), what="the server shutting down")
            assert server.poll() is None, "server quit with a request in flight"
            blocker.execute("ROLLBACK")
            blocker.close()
            reply = b""
            while chunk := connection.recv(65536):
                reply += chunk
        assert reply.startswith(b"HTTP/1.1 201"), reply[:200]
        assert server.wait(timeout=30) == 0
    with serving(env, tmp_path, port):
        _, page, _ = call(port, "GET", "/api/groups", token)
        assert [g["name"] for g in page["items"]] == ["Started before shutdown"]


def test_a_bad_setting_stops_start_up_with_one_line(tmp_path):
    env = command_env(tmp_path / "data", JWT_EXPIRATION_HOURS="soon")
    result = run_command("serve", "--port", str(free_port()), env=env, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "JWT_EXPIRATION_HOURS" in lines[0] and "whole number" in lines[0]


def test_json_logs_carry_the_request_id(tmp_path):
    env = command_env(tmp_path / "data", LOG_FORMAT="json", LOG_LEVEL="INFO")
    port = free_port()
    with serving(env, tmp_path, port) as server:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/healthz", headers={"X-Request-ID": "trace-me-42"}
        )
        with urllib.request.urlopen(request, timeout=10) as reply:
            assert reply.headers["X-Request-ID"] == "trace-me-42"
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        assert server.stderr is not None
        entries = [json.loads(line) for line in server.stderr.read().splitlines() if line.strip()]
    access = [e for e in entries if e["request_id"] == "trace-me-42"]
    assert access, entries
    assert "/healthz" in access[0]["message"]


def test_token_refuses_a_non_email(tmp_path):
    result = run_command("token", "not-an-email", env=command_env(tmp_path), cwd=tmp_path)
    assert result.returncode == 2
    assert "not an email address" in result.stderr


def test_dynamodb_mode_end_to_end(tmp_path, moto_url):
    """create-tables (twice), token, serve on DynamoDB, restart: what an operator at scale runs."""
    prefix = f"p{uuid.uuid4().hex[:10]}"
    env = command_env(
        tmp_path / "data",
        DYNAMODB_ENDPOINT_URL=moto_url,
        SECRET_KEY="k" * 40,
        **{
            f"DYNAMODB_{name}_TABLE": f"{prefix}-{name.lower()}"
            for name in ("USERS", "GROUPS", "EXPENSES", "TRANSACTIONS", "CHATS")
        },
    )
    first = run_command("create-tables", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert f"{prefix}-groups" in first.stdout
    again = run_command("create-tables", env=env, cwd=tmp_path)
    assert (again.returncode, again.stdout.strip()) == (0, "all tables already exist")
    token = run_command("token", "dora@example.com", env=env, cwd=tmp_path).stdout.strip()
    port = free_port()
    with serving(env, tmp_path, port) as server:
        status, created, _ = call(port, "POST", "/api/groups", token, {"name": "Scaled"})
        assert status == 201
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
    assert not (tmp_path / "data" / "expense-tracker.sqlite3").exists()
    with serving(env, tmp_path, port):
        _, page, _ = call(port, "GET", "/api/groups", token)
        assert [g["id"] for g in page["items"]] == [created["id"]]


def test_a_client_that_hangs_up_mid_body_leaves_no_traceback(tmp_path):
    """What a load generator does at the end of its run: a POST whose body never all arrives, then
    a closed socket. The server notes it and goes on; no error, no traceback, nothing written."""
    env = command_env(tmp_path / "data", LOG_LEVEL="INFO")
    port = free_port()
    token = run_command("token", "bob@example.com", env=env, cwd=tmp_path).stdout.strip()
    with serving(env, tmp_path, port) as server:
        _, group, _ = call(port, "POST", "/api/groups", token, {"name": "Trip"})
        head = (
            f"POST /api/groups/{group['id']}/expenses HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            "Expect: 100-continue\r\nContent-Length: 1000\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", port), timeout=20) as connection:
            connection.sendall(head)
            # The interim answer comes once a handler has the request; then part of its body.
            assert connection.recv(1024).startswith(b"HTTP/1.1 100")
            connection.sendall(b'{"description"')
        _, page, _ = call(port, "GET", f"/api/groups/{group['id']}/expenses", token)
        assert page["items"] == []
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
        assert server.stderr is not None
        log = server.stderr.read()
    assert "client went away during POST" in log, log
    assert "Traceback" not in log and "ERROR" not in log, log
