"""An import's hold on its group (`store.dynamodb.imports`): two attributes on META, the import's
id and when its hold runs out, which every other write to the group's ledger checks."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from domain import Conflict
from domain.clock import to_text

LEASE = timedelta(minutes=2)
"""How long an import's hold on its group lasts past its latest write (each write renews it)."""
IMPORT_JOB = "import_job"
IMPORT_UNTIL = "import_until"


def in_progress_import() -> Conflict:
    return Conflict(
        "an import into this group is being written; try again in a moment", code="import_in_progress"
    )


def lease_refusal(old: dict[str, Any] | None, at: datetime) -> Conflict | None:
    """The refusal a ledger write meets when its group's META (`old`, as its failed condition
    brought it back) is held by an import whose hold runs past `at`."""
    if old is not None and str(old.get(IMPORT_UNTIL, "")) >= to_text(at):
        return in_progress_import()
    return None
