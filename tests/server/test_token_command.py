"""`expense-tracker token EMAIL [--refresh]`, run as an operator runs it (issue 13 part 5)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import jwt

from tests.server.processes import command_env, run_command, serving
from tests.services import free_port


def _call(port: int, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers=headers,
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, json.loads(reply.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def test_token_and_token_refresh(tmp_path: Any) -> None:
    env = command_env(tmp_path / "data", SECRET_KEY="s" * 40)
    plain = run_command("token", "carol@example.com", env=env, cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    claims = jwt.decode(plain.stdout.strip(), options={"verify_signature": False})
    assert "sid" not in claims and claims["exp"] - claims["iat"] == 24 * 3600

    refresh = run_command("token", "carol@example.com", "--refresh", env=env, cwd=tmp_path)
    assert refresh.returncode == 0, refresh.stderr
    tokens = json.loads(refresh.stdout)
    assert set(tokens) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 15 * 60
    assert "sid" in jwt.decode(tokens["access_token"], options={"verify_signature": False})

    port = free_port()
    with serving(env, tmp_path, port):
        assert _call(port, "GET", "/api/user", token=plain.stdout.strip())[0] == 200
        assert _call(port, "GET", "/api/user", token=tokens["access_token"])[0] == 200
        status, body = _call(
            port,
            "POST",
            "/api/token",
            {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        )
        assert status == 200 and body["refresh_token"] != tokens["refresh_token"]
        status, sessions = _call(port, "GET", "/api/user/sessions", token=body["access_token"])
        assert status == 200
        assert [s["user_agent"] for s in sessions["items"]] == ["expense-tracker token --refresh"]
