"""The changes feed of a group (issue 14): what changed since a client's cursor, in commit order,
each upsert with the body a REST read of it returns, so an offline client catches up page by page
at a cost that grows with the changes, not with the history.

A page is read from the store's changes log (`Store.list_changes`), then the records it names are
read in one go (`Store.read_changed`, the members and the group as usual). A record changed several
times within a page appears once, at its last change, with its current body; a record that no
longer exists when the page is read is left out of its upserts (its delete follows, at or after
the position it was removed at), so applying pages in order always ends at the server's state.
"""

from __future__ import annotations

from typing import Any

from domain import Change, Group, Member
from domain.clock import Clock
from services.common import Service
from services.events import Events
from services.feeds import feed_cursor, feed_position, latest_each
from services.payloads import (
    chat_message_json,
    comment_json,
    expense_json,
    group_json,
    member_json,
    settlement_json,
)
from services.people import People, chat_people, comment_people, expense_people, settlement_people
from store import Store
from store.base import ChangedRecords

CURSOR_KIND = "changes"


def changes_cursor(group_id: str, seq: int) -> str:
    return feed_cursor(CURSOR_KIND, group_id, seq)


def read_cursor(group_id: str, cursor: str) -> int:
    """The position a cursor of this group's feed stands at. Raises BadRequest (`invalid_cursor`)
    for anything else, a cursor of another group's feed included."""
    return feed_position(CURSOR_KIND, group_id, cursor, foreign="this cursor belongs to another group's feed")


class Changes(Service):
    def __init__(self, store: Store, events: Events, clock: Clock, people: People) -> None:
        super().__init__(store, events, clock)
        self.people = people

    async def now_cursor(self, group_id: str) -> str:
        """A cursor for now in the group's feed (the caller has checked membership)."""
        return changes_cursor(group_id, await self.store.last_change(group_id))

    async def page(self, group: Group, role: str, cursor: str | None, limit: int) -> dict[str, Any]:
        """One page of `group`'s feed as its member with `role` sees it. Without a cursor: none,
        and a cursor for "now", to read from after one full read."""
        if cursor is None:
            return {
                "changes": [],
                "next_cursor": await self.now_cursor(group.id),
                "has_more": False,
                "users": {},
            }
        after = read_cursor(group.id, cursor)
        logged, more = await self.store.list_changes(group.id, after=after, limit=limit)
        latest = latest_each(logged, lambda c: (c.kind, c.id))
        records = await self.store.read_changed(group.id, latest)
        members = (
            {m.user_id: m for m in await self.store.list_members(group.id)}
            if any(c.kind == "member" and c.op == "upsert" for c in latest)
            else {}
        )
        out: list[dict[str, Any]] = []
        for change in latest:
            entry: dict[str, Any] = {
                "kind": change.kind,
                "id": change.id,
                "op": change.op,
                "version": change.version,
            }
            if change.op == "upsert":
                data = self._data(change, group, role, records, members)
                if data is None:
                    continue  # gone since: its delete is further on in the log
                entry["data"] = data
                entry["version"] = data.get("version", change.version)
            out.append(entry)
        people = (
            expense_people(records.expenses.values())
            | settlement_people(records.settlements.values())
            | chat_people(records.chats.values())
            | comment_people(records.comments.values())
        )
        users = await self.people.names(people)
        position = logged[-1].seq if logged else after
        return {
            "changes": out,
            "next_cursor": changes_cursor(group.id, position),
            "has_more": more,
            "users": users,
        }

    @staticmethod
    def _data(
        change: Change, group: Group, role: str, records: ChangedRecords, members: dict[str, Member]
    ) -> dict[str, Any] | None:
        if change.kind == "group":
            return group_json(group, role)
        if change.kind == "member":
            member = members.get(change.id)
            return member_json(member) if member is not None else None
        if change.kind == "expense":
            expense = records.expenses.get(change.id)
            return expense_json(expense) if expense is not None and expense.deleted_at is None else None
        if change.kind == "settlement":
            settlement = records.settlements.get(change.id)
            live = settlement is not None and settlement.deleted_at is None
            return settlement_json(settlement) if settlement is not None and live else None
        if change.kind == "comment":
            comment = records.comments.get(change.id)
            return comment_json(comment) if comment is not None else None
        message = records.chats.get(change.id)
        return chat_message_json(message) if message is not None else None
