"""`expense-tracker verify-balances` recomputes balances from history and reports drift."""

from __future__ import annotations

import signal
import sqlite3

from tests.server.processes import command_env, run_command, serving
from tests.server.test_process import call
from tests.services import free_port


def test_verify_balances_reports_ok_then_a_tampered_balance(tmp_path):
    env = command_env(tmp_path / "data", SECRET_KEY="v" * 40)
    token = run_command("token", "vera@example.com", env=env, cwd=tmp_path).stdout.strip()
    port = free_port()
    with serving(env, tmp_path, port) as server:
        _, group, _ = call(port, "POST", "/api/groups", token, {"name": "Books", "default_currency": "JPY"})
        other = run_command("token", "otto@example.com", env=env, cwd=tmp_path).stdout.strip()
        _, invite, _ = call(port, "POST", f"/api/groups/{group['id']}/invites", token, {})
        call(port, "POST", f"/api/invites/{invite['token']}/accept", other)
        for amount in ("1000", "333", "1"):
            status, _, _ = call(
                port,
                "POST",
                f"/api/groups/{group['id']}/expenses",
                token,
                {"description": "ink", "amount": amount},
            )
            assert status == 201
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    clean = run_command("verify-balances", group["id"], env=env, cwd=tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert f"{group['id']}: 3 expenses, 0 transactions: ok" in clean.stdout

    with sqlite3.connect(tmp_path / "data" / "expense-tracker.sqlite3") as db:
        db.execute("UPDATE balances SET amount = amount + 7 WHERE group_id = ?", (group["id"],))
    drifted = run_command("verify-balances", group["id"], "no-such-group", env=env, cwd=tmp_path)
    assert drifted.returncode == 1
    assert "2 difference(s)" in drifted.stdout
    assert "no-such-group: no such group" in drifted.stdout
