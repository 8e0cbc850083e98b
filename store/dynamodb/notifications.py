"""Notifications in the chats table: `NOTIFY#<user id>` / `<notification id>` items, newest first
by sort key (ids are time-ordered). Each user's counter and read mark is one `NOTIFY#<user id>`
item in the users table (`unread`, `read_up_to`), moved in the same transaction as the
notifications it counts; a read recounts only the notifications above the new mark. A stored
notification, and a read mark that moves, are entries in the recipient's own changes log, written
in that same transaction (`changelog`)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection
from typing import Any

from domain import Page, Unavailable
from domain.clock import from_text, to_text
from store.base import NOTIFICATIONS_PER_WRITE, Notification, NotificationState
from store.cursor import after_cursor, notification_cursor
from store.dynamodb.changelog import UserLogged
from store.dynamodb.client import _Cancelled, _ConditionFailed
from store.dynamodb.connection import _Connection
from store.dynamodb.items import _attrs, _key, _plain
from store.errors import notification_not_found

_CURSOR = "notifications"
_ATTEMPTS = 5
"""Rounds of count-and-set a read makes before giving up to notifications arriving meanwhile."""


def _item(n: Notification) -> dict[str, Any]:
    return {
        "pk": f"NOTIFY#{n.user_id}",
        "sk": n.id,
        "kind": n.kind,
        "actor_id": n.actor_id,
        "actor_name": n.actor_name,
        "summary": n.summary,
        "link": json.dumps(n.link, separators=(",", ":")),
        "created_at": to_text(n.created_at),
    }


def _notification(a: dict[str, Any]) -> Notification:
    return Notification(
        user_id=a["pk"].removeprefix("NOTIFY#"),
        id=a["sk"],
        kind=a["kind"],
        actor_id=a["actor_id"],
        actor_name=a["actor_name"],
        summary=a["summary"],
        link=json.loads(a["link"]),
        created_at=from_text(a["created_at"]),
    )


class _Notifications(_Connection):
    """The notification part of the contract."""

    async def add_notifications(self, notifications: Collection[Notification]) -> None:
        if len(notifications) > NOTIFICATIONS_PER_WRITE:
            raise ValueError(f"at most {NOTIFICATIONS_PER_WRITE} notifications per write")
        if not notifications:
            return
        # Four actions each at most (NOTIFICATIONS_PER_WRITE): the items, one counter Update per
        # recipient, and the recipients' log entries with their counters (`_transact_logged`).
        actions: list[dict[str, Any]] = [
            {"Put": {"TableName": self._chats, "Item": _attrs(_item(n))}} for n in notifications
        ]
        for user_id, count in Counter(n.user_id for n in notifications).items():
            actions.append(
                {
                    "Update": {
                        "TableName": self._users,
                        "Key": _key(f"NOTIFY#{user_id}"),
                        "UpdateExpression": "ADD unread :n",
                        "ExpressionAttributeValues": _attrs({":n": count}),
                    }
                }
            )
        logged = [UserLogged(n.user_id, "notification", n.id, "upsert") for n in notifications]
        await self._transact_logged(None, actions, users=logged)

    async def list_notifications(
        self, user_id: str, *, limit: int, cursor: str | None = None
    ) -> Page[Notification]:
        params: dict[str, Any] = {
            "TableName": self._chats,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": _attrs({":pk": f"NOTIFY#{user_id}"}),
            "ScanIndexForward": False,
            "ConsistentRead": True,
            "Limit": limit + 1,
        }
        if cursor is not None:
            params["ExclusiveStartKey"] = _key(f"NOTIFY#{user_id}", notification_cursor(cursor))
        response = await self._call("query", **params)
        found = [_notification(_plain(item)) for item in response.get("Items", [])]
        page = found[:limit]
        # A page also stops at 1 MB: then it is short, and the cursor resumes after its last one.
        more = len(found) > limit or "LastEvaluatedKey" in response
        return Page(items=page, next_cursor=after_cursor(_CURSOR, page[-1].id) if more and page else None)

    async def get_notifications(self, user_id: str, ids: Collection[str]) -> dict[str, Notification]:
        keys = [_key(f"NOTIFY#{user_id}", notification_id) for notification_id in sorted(set(ids))]
        found = await self._batch_get(self._chats, keys) if keys else []
        return {n.id: n for n in map(_notification, found)}

    async def notification_state(self, user_id: str) -> NotificationState:
        item = await self._get(self._users, _key(f"NOTIFY#{user_id}"))
        if item is None:
            return NotificationState()
        return NotificationState(int(item.get("unread", 0)), item.get("read_up_to"))

    async def _count_above(self, user_id: str, mark: str) -> int:
        """How many of the user's notifications have ids above `mark`: the unread ones only."""
        params: dict[str, Any] = {
            "TableName": self._chats,
            "KeyConditionExpression": "pk = :pk AND sk > :mark",
            "ExpressionAttributeValues": _attrs({":pk": f"NOTIFY#{user_id}", ":mark": mark}),
            "Select": "COUNT",
            "ConsistentRead": True,
        }
        total = 0
        while True:
            response = await self._call("query", **params)
            total += int(response.get("Count", 0))
            if "LastEvaluatedKey" not in response:
                return total
            params["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    async def mark_notifications_read(self, user_id: str, up_to: str) -> NotificationState:
        if await self._get(self._chats, _key(f"NOTIFY#{user_id}", up_to)) is None:
            raise notification_not_found()
        for _ in range(_ATTEMPTS):
            state = await self.notification_state(user_id)
            mark = up_to if state.read_up_to is None else max(state.read_up_to, up_to)
            unread = await self._count_above(user_id, mark)
            # Only if no notification arrived (nor another read) since the state was read.
            update = {
                "TableName": self._users,
                "Key": _key(f"NOTIFY#{user_id}"),
                "UpdateExpression": "SET unread = :unread, read_up_to = :mark",
                "ConditionExpression": (
                    "(attribute_not_exists(unread) OR unread = :old) AND "
                    "(attribute_not_exists(read_up_to) OR read_up_to = :old_mark)"
                ),
                "ExpressionAttributeValues": _attrs(
                    {
                        ":unread": unread,
                        ":mark": mark,
                        ":old": state.unread,
                        ":old_mark": state.read_up_to or "",
                    }
                ),
            }
            try:
                if mark == state.read_up_to:
                    await self._call("update_item", **update)
                else:
                    # The mark moves: the user's own log says so, in the same write.
                    logged = [UserLogged(user_id, "read", mark, "upsert")]
                    await self._transact_logged(None, [{"Update": update}], users=logged)
            except (_ConditionFailed, _Cancelled):
                continue
            return NotificationState(unread, mark)
        raise Unavailable("notifications kept arriving; try again", code="notifications_busy")

    async def delete_notifications(self, user_id: str) -> None:
        await self._delete_partition(self._chats, f"NOTIFY#{user_id}")
        await self._call("delete_item", TableName=self._users, Key=_key(f"NOTIFY#{user_id}"))
