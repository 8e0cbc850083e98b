"""`expense-tracker backup`, `restore` and `check` on the embedded store, as an operator runs them:
real commands beside a real server process."""

from __future__ import annotations

import signal
import sqlite3
import threading
from pathlib import Path
from typing import Any

from tests.server.processes import command_env, run_command, serving
from tests.server.test_process import call
from tests.services import free_port
from tests.waiting import wait_until_sync


def test_a_backup_taken_during_a_write_burst_restores_clean(tmp_path: Path) -> None:
    env = command_env(
        tmp_path / "data",
        SECRET_KEY="k" * 40,
        RATE_LIMIT_WRITES_PER_MINUTE="1000000",
        RATE_LIMIT_PER_MINUTE="1000000",
    )
    token = run_command("token", "bea@example.com", env=env, cwd=tmp_path).stdout.strip()
    other = run_command("token", "cal@example.com", env=env, cwd=tmp_path).stdout.strip()
    port = free_port()
    backup_file = tmp_path / "backup.sqlite3"
    written: list[int] = []
    failures: list[Any] = []
    stop = threading.Event()
    with serving(env, tmp_path, port) as server:
        _, group, _ = call(port, "POST", "/api/groups", token, {"name": "Flat", "default_currency": "EUR"})
        _, invite, _ = call(port, "POST", f"/api/groups/{group['id']}/invites", token, {})
        call(port, "POST", f"/api/invites/{invite['token']}/accept", other)

        def burst() -> None:
            number = 0
            while not stop.is_set():
                number += 1
                body = {"description": f"item {number}", "amount": f"{number % 97 + 1}.{number % 100:02d}"}
                status, _, _ = call(port, "POST", f"/api/groups/{group['id']}/expenses", token, body)
                (written if status == 201 else failures).append(status)

        writer = threading.Thread(target=burst)
        writer.start()
        try:
            wait_until_sync(lambda: len(written) >= 20, timeout=30)
            taken = run_command("backup", str(backup_file), env=env, cwd=tmp_path)
            during = len(written)
            wait_until_sync(lambda: len(written) >= during + 20, timeout=30)  # the server kept writing
        finally:
            stop.set()
            writer.join(timeout=30)
        assert taken.returncode == 0, taken.stdout + taken.stderr
        assert not failures

        live = run_command("restore", str(backup_file), "--force", env=env, cwd=tmp_path)
        assert live.returncode == 2 and "in use" in live.stderr, live.stdout + live.stderr
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    with sqlite3.connect(backup_file) as copy:
        (kept,) = copy.execute("SELECT count(*) FROM expenses").fetchone()
        (mode,) = copy.execute("PRAGMA journal_mode").fetchone()
    assert 20 <= kept < len(written) and mode == "delete"  # a snapshot from the middle of the burst

    full = run_command("restore", str(backup_file), env=env, cwd=tmp_path)
    assert full.returncode == 2 and "--force" in full.stderr, full.stdout + full.stderr
    elsewhere = command_env(tmp_path / "restored", SECRET_KEY="k" * 40)
    restored = run_command("restore", str(backup_file), env=elsewhere, cwd=tmp_path)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    checked = run_command("check", env=elsewhere, cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"{group['id']}: {kept} expenses, 0 transactions: ok" in checked.stdout
    assert "integrity: ok" in checked.stdout and "1 group(s) checked: ok" in checked.stdout

    with serving(elsewhere, tmp_path, port):
        status, listed, _ = call(port, "GET", f"/api/groups/{group['id']}/expenses?limit=1", other)
        assert status == 200 and listed["items"]  # the restored store serves, tokens and all

    with sqlite3.connect(tmp_path / "restored" / "expense-tracker.sqlite3") as db:
        db.execute("UPDATE balances SET amount = amount + 1 WHERE group_id = ?", (group["id"],))
    drifted = run_command("check", env=elsewhere, cwd=tmp_path)
    assert drifted.returncode == 1 and "difference(s)" in drifted.stdout, drifted.stdout


def test_restore_refuses_what_is_not_a_backup(tmp_path: Path) -> None:
    env = command_env(tmp_path / "data", SECRET_KEY="k" * 40)
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    empty = tmp_path / "empty.sqlite3"
    sqlite3.connect(empty).close()
    for file, said in (
        (junk, "not an SQLite database"),
        (empty, "not a backup"),
        (tmp_path / "none", "no such"),
    ):
        refused = run_command("restore", str(file), env=env, cwd=tmp_path)
        assert refused.returncode == 2 and said in refused.stderr, refused.stderr
    missing = run_command("backup", str(tmp_path / "b.sqlite3"), env=env, cwd=tmp_path)
    assert missing.returncode == 2 and "no store there" in missing.stderr, missing.stderr
    assert not (tmp_path / "data" / "expense-tracker.sqlite3").exists()


def test_check_verifies_every_group_on_either_store(tmp_path: Path, shared_store_env: dict[str, str]) -> None:
    env = shared_store_env
    token = run_command("token", "dee@example.com", env=env, cwd=tmp_path).stdout.strip()
    port = free_port()
    with serving(env, tmp_path, port):
        ids = []
        for name in ("One", "Two"):
            _, group, _ = call(port, "POST", "/api/groups", token, {"name": name})
            status, _, _ = call(
                port,
                "POST",
                f"/api/groups/{group['id']}/expenses",
                token,
                {"description": "x", "amount": "3"},
            )
            assert status == 201
            ids.append(group["id"])
    checked = run_command("check", env=env, cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    for group_id in ids:
        assert f"{group_id}: 1 expenses, 0 transactions: ok" in checked.stdout
    assert "2 group(s) checked: ok" in checked.stdout
    if "DYNAMODB_ENDPOINT_URL" in env:
        refused = run_command("backup", str(tmp_path / "b.sqlite3"), env=env, cwd=tmp_path)
        assert refused.returncode == 2 and "point-in-time recovery" in refused.stderr, refused.stderr
