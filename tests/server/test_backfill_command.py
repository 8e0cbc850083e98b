"""`expense-tracker backfill` on the embedded defaults: a receipt stored before the uploader index
existed gets its marker, and a second run writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

from domain.ids import new_id
from tests.server.processes import command_env, run_command


def test_backfill_indexes_old_receipts_once(tmp_path: Path) -> None:
    env = command_env(tmp_path / "data", SECRET_KEY="b" * 40)
    receipts = tmp_path / "data" / "receipts" / "receipts"
    receipts.mkdir(parents=True)
    receipt, uploader = new_id(), new_id()
    (receipts / f"{receipt}.png").write_bytes(b"img")
    metadata = {"id": receipt, "uploaded_by": uploader, "image_key": f"{receipt}.png"}
    (receipts / f"{receipt}.json").write_text(json.dumps(metadata))

    first = run_command("backfill", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "receipt uploader markers written: 1" in first.stdout
    assert (receipts / "uploaders" / uploader / receipt).exists()

    again = run_command("backfill", env=env, cwd=tmp_path)
    assert "receipt uploader markers written: 0" in again.stdout, again.stdout + again.stderr
