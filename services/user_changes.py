"""The caller's own changes feed (issue 14): what changed in their view outside any one group's
records since a cursor — groups joined and left, friends made and ended, their profile, their
notifications and read mark — in commit order, each upsert with the body a REST read of it
returns. Together with each group's feed (`services.changes`) it lets an offline client catch up
at a cost that grows with the changes, not with the history.

A page is read from the store's per-user log (`Store.list_user_changes`), then what it names is
read in a bounded number of round trips: the groups concurrently (a page at most), the friends and
notifications in one batch each. As in the group feed, a record changed several times in a page
appears once, at its last change, and one that is gone by the time the page is read (a group left
since) is left out of its upserts: its delete follows further on, so applying pages in order
always ends at the server's state."""

from __future__ import annotations

import asyncio
from typing import Any

from domain import Group, Member, NotFound, User, UserChange
from domain.clock import to_text
from services.common import Service
from services.feeds import feed_cursor, feed_position, latest_each
from services.notifications import notification_json
from services.payloads import group_json, person_json, user_json
from store.base import Notification, NotificationState

CURSOR_KIND = "user-changes"


def user_changes_cursor(user_id: str, seq: int) -> str:
    return feed_cursor(CURSOR_KIND, user_id, seq)


def read_cursor(user_id: str, cursor: str) -> int:
    """The position a cursor of this user's feed stands at. Raises BadRequest (`invalid_cursor`)
    for anything else, another user's cursor included."""
    return feed_position(CURSOR_KIND, user_id, cursor, foreign="this cursor belongs to another user's feed")


def _record(change: UserChange) -> tuple[str, str]:
    """Which record a change is about; the read mark is one record (only where it stands now
    matters)."""
    return (change.kind, "" if change.kind == "read" else change.id)


class UserChanges(Service):
    async def now_cursor(self, user_id: str) -> str:
        """A cursor for now in the user's own feed."""
        return user_changes_cursor(user_id, await self.store.last_user_change(user_id))

    async def page(self, user_id: str, cursor: str | None, limit: int) -> dict[str, Any]:
        """One page of the user's own feed. Without a cursor: none, and a cursor for "now", to
        read from after one full read."""
        if cursor is None:
            return {"changes": [], "next_cursor": await self.now_cursor(user_id), "has_more": False}
        after = read_cursor(user_id, cursor)
        logged, more = await self.store.list_user_changes(user_id, after=after, limit=limit)
        latest = latest_each(logged, _record)
        upserts = [c for c in latest if c.op == "upsert"]
        data = await self._read(user_id, upserts)
        out: list[dict[str, Any]] = []
        for change in latest:
            entry: dict[str, Any] = {"kind": change.kind, "id": change.id, "op": change.op}
            if change.op == "upsert":
                body = data.get((change.kind, change.id))
                if body is None:
                    continue  # gone since: its delete is further on in the log
                entry["data"] = body
            out.append(entry)
        position = logged[-1].seq if logged else after
        return {"changes": out, "next_cursor": user_changes_cursor(user_id, position), "has_more": more}

    async def _read(self, user_id: str, upserts: list[UserChange]) -> dict[tuple[str, str], dict[str, Any]]:
        """The current body of each upsert's record, by (kind, id); records gone since are absent."""
        ids: dict[str, list[str]] = {"group": [], "friend": [], "notification": []}
        for change in upserts:
            if change.kind in ids:
                ids[change.kind].append(change.id)
        want_state = any(c.kind in ("notification", "read", "profile") for c in upserts)
        memberships, notifications, state, me = await asyncio.gather(
            self._memberships(user_id, [*ids["group"], *ids["friend"]]),
            self.store.get_notifications(user_id, ids["notification"]),
            self.store.notification_state(user_id) if want_state else _no_state(),
            self._me(user_id, any(c.kind == "profile" for c in upserts)),
        )
        friend_ids = {
            gid: next((m for m in member_ids if m != user_id), None)
            for gid, (_, _, member_ids) in memberships.items()
            if gid in ids["friend"]
        }
        friends = await self.store.get_users({f for f in friend_ids.values() if f is not None})
        out: dict[tuple[str, str], dict[str, Any]] = {}
        for change in upserts:
            body = self._body(change, memberships, friend_ids, friends, notifications, state, me)
            if body is not None:
                out[(change.kind, change.id)] = body
        return out

    @staticmethod
    def _body(
        change: UserChange,
        memberships: dict[str, tuple[Group, Member, list[str]]],
        friend_ids: dict[str, str | None],
        friends: dict[str, User],
        notifications: dict[str, Notification],
        state: NotificationState,
        me: User | None,
    ) -> dict[str, Any] | None:
        if change.kind == "group":
            found = memberships.get(change.id)
            if found is None:
                return None
            group, member, _ = found
            return {**group_json(group, member.role), "joined_at": to_text(member.joined_at)}
        if change.kind == "friend":
            friend_id = friend_ids.get(change.id)
            friend = friends.get(friend_id) if friend_id is not None else None
            if friend is None:
                return None
            return {"group_id": change.id, "user": person_json(friend)}
        if change.kind == "notification":
            notification = notifications.get(change.id)
            return notification_json(notification, state) if notification is not None else None
        if change.kind == "read":
            return {"read_up_to": state.read_up_to, "unread_count": state.unread}
        if me is None:
            return None
        return {**user_json(me), "unread_count": state.unread}

    async def _memberships(
        self, user_id: str, group_ids: list[str]
    ) -> dict[str, tuple[Group, Member, list[str]]]:
        """Each group the user still belongs to, with their membership and the member ids (a page
        of groups at most, read concurrently)."""

        async def one(group_id: str) -> tuple[Group, Member, list[str]] | None:
            try:
                return await self.store.get_group_with_member_ids(group_id, user_id)
            except NotFound:
                return None

        found = await asyncio.gather(*(one(group_id) for group_id in group_ids))
        return {gid: each for gid, each in zip(group_ids, found, strict=True) if each is not None}

    async def _me(self, user_id: str, wanted: bool) -> User | None:
        if not wanted:
            return None
        try:
            return await self.store.get_user(user_id)
        except NotFound:
            return None


async def _no_state() -> NotificationState:
    return NotificationState()
