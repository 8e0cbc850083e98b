"""What every use case is handed and hands back: the store, the event sink and the clock in; the
record and its already encoded JSON out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from domain import ActivityEntry, IdempotentReply
from domain.clock import Clock, to_text
from domain.ids import new_id
from ledger.effects import BalanceMoves
from services.events import Events
from services.payloads import moves_json
from store import Store

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Written(Generic[R]):
    """A committed record and its JSON text, as the reply and the event both carry it."""

    record: R
    payload_json: str


class ReplyRecorder(Protocol):
    """Turns the answer to a creating request into the `IdempotentReply` the store writes in the
    same atomic write as the change (None when the request carried no Idempotency-Key)."""

    def reply(
        self, status: int, payload: Any, headers: dict[str, str] | None = None
    ) -> IdempotentReply | None: ...


class Service:
    """A use case's dependencies, injected so tests can hand in their own clock."""

    def __init__(self, store: Store, events: Events, clock: Clock) -> None:
        self.store = store
        self.events = events
        self.clock = clock

    def activity(
        self, group_id: str, actor_id: str, action: str, subject_id: str, details: dict[str, Any]
    ) -> ActivityEntry:
        """The activity-log entry a change leaves, written in the change's own atomic write."""
        return ActivityEntry(
            id=new_id(),
            group_id=group_id,
            at=self.clock(),
            actor_id=actor_id,
            action=action,
            subject_id=subject_id,
            details=details,
        )

    def announce_deleted(
        self, type_: str, group_id: str, record_id: str, moves: BalanceMoves, deleted: ActivityEntry
    ) -> None:
        """Tell the group a ledger record is deleted (restorable for RESTORE_DAYS: the entry
        `deleted` says when and by whom), with how its deletion moved balances."""
        self.events.to_group(
            group_id,
            type_,
            {
                "id": record_id,
                "group_id": group_id,
                "deleted_at": to_text(deleted.at),
                "deleted_by": deleted.actor_id,
                "balance_moves": moves_json(moves),
            },
        )
