"""What a group's members read as feeds: its activity, its chat, and a user's dashboard across
their groups."""

from __future__ import annotations

import sqlite3

from domain import ActivityEntry, ChatMessage, Dashboard, GroupMembership, GroupStanding, Page
from domain.clock import from_text, to_text
from store.cursor import cursor_pair, decode_cursor, encode_cursor, timed_pair
from store.errors import author_not_a_member, chat_message_exists, group_not_found
from store.recent import latest_across_groups
from store.sqlite.engine import Db, _Engine, _fetchone
from store.sqlite.rows import (
    _ACTIVITY_COLUMNS,
    _CHAT_COLUMNS,
    _GROUP_COLUMNS,
    _GROUP_WIDTH,
    _activity,
    _chat_message,
    _chat_row,
    _group,
)

_INSERT_CHAT_MESSAGE = f"INSERT INTO chat_messages ({_CHAT_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
_GROUP_AND_MEMBERSHIP = (
    "SELECT EXISTS (SELECT 1 FROM groups WHERE id = ?), "
    "EXISTS (SELECT 1 FROM memberships WHERE group_id = ? AND user_id = ?)"
)


class _Feeds(_Engine):
    """The activity, dashboard and chat methods of `SQLiteStore`."""

    async def list_activity(
        self, group_id: str, *, limit: int, cursor: str | None = None
    ) -> Page[ActivityEntry]:
        where, params = "group_id = ?", [group_id]
        if cursor is not None:
            at, entry_id = cursor_pair(decode_cursor("activity", cursor))
            where += " AND (at, id) < (?, ?)"
            params += [at, entry_id]
        rows = await self._all(
            f"SELECT {_ACTIVITY_COLUMNS} FROM activity WHERE {where} ORDER BY at DESC, id DESC LIMIT ?",
            (*params, limit + 1),
        )
        entries = [_activity(r) for r in rows]
        next_cursor = None
        if len(entries) > limit:
            last = entries[limit - 1]
            next_cursor = encode_cursor("activity", [to_text(last.at), last.id])
        return Page(items=entries[:limit], next_cursor=next_cursor)

    async def dashboard(self, user_id: str, *, group_limit: int, recent_limit: int) -> Dashboard:
        rows = await self._all(
            f"SELECT {_GROUP_COLUMNS}, m.role, m.joined_at, g.last_activity_at FROM memberships m "
            "JOIN groups g ON g.id = m.group_id WHERE m.user_id = ? "
            "ORDER BY m.joined_at DESC, m.group_id DESC LIMIT ?",
            (user_id, group_limit + 1),
        )
        rows, more_groups = rows[:group_limit], len(rows) > group_limit
        group_ids = [row[0] for row in rows]
        marks = ",".join("?" * len(group_ids))
        balances: dict[str, dict[str, int]] = {group_id: {} for group_id in group_ids}
        spending: dict[tuple[str, str, str], int] = {}
        if group_ids:
            for group_id, currency, amount in await self._all(
                "SELECT group_id, currency, amount FROM balances "
                f"WHERE group_id IN ({marks}) AND user_id = ? AND amount != 0 ORDER BY currency",
                (*group_ids, user_id),
            ):
                balances[group_id][currency] = amount
            for month, category, currency, amount in await self._all(
                "SELECT month, category, currency, SUM(amount) FROM spending "
                f"WHERE user_id = ? AND group_id IN ({marks}) "
                "GROUP BY month, category, currency HAVING SUM(amount) != 0 "
                "ORDER BY month, category, currency",
                (user_id, *group_ids),
            ):
                spending[(month, category, currency)] = amount
        active = sorted(
            ((row[0], row[_GROUP_WIDTH + 2]) for row in rows if row[_GROUP_WIDTH + 2] is not None),
            key=lambda group: (group[1], group[0]),
            reverse=True,
        )
        recent = (
            await latest_across_groups(active, recent_limit, self._latest_activity)
            if recent_limit > 0
            else []
        )
        return Dashboard(
            groups=[
                GroupStanding(
                    membership=GroupMembership(
                        group=_group(row), role=row[_GROUP_WIDTH], joined_at=from_text(row[_GROUP_WIDTH + 1])
                    ),
                    balances=balances[row[0]],
                )
                for row in rows
            ],
            more_groups=more_groups,
            spending=spending,
            recent=recent,
        )

    async def _latest_activity(self, group_id: str, limit: int) -> list[ActivityEntry]:
        rows = await self._all(
            f"SELECT {_ACTIVITY_COLUMNS} FROM activity WHERE group_id = ? ORDER BY at DESC, id DESC LIMIT ?",
            (group_id, limit),
        )
        return [_activity(row) for row in rows]

    async def create_chat_message(self, message: ChatMessage) -> None:
        row = _chat_row(message)

        def work(db: Db) -> None:
            group_exists, is_member = _fetchone(
                db, _GROUP_AND_MEMBERSHIP, (message.group_id, message.group_id, message.author_id)
            )
            if not group_exists:
                raise group_not_found()
            if not is_member:
                raise author_not_a_member(message.author_id)
            try:
                db.execute(_INSERT_CHAT_MESSAGE, row)
            except sqlite3.IntegrityError as exc:
                raise chat_message_exists() from exc

        await self._write(work)

    async def list_chat_messages(
        self, group_id: str, *, limit: int, cursor: str | None = None
    ) -> Page[ChatMessage]:
        where, params = "group_id = ?", [group_id]
        if cursor is not None:
            created_at, message_id = timed_pair("chat", cursor)
            where += " AND (created_at, id) < (?, ?)"
            params += [created_at, message_id]
        rows = await self._all(
            f"SELECT {_CHAT_COLUMNS} FROM chat_messages "
            f"WHERE {where} ORDER BY created_at DESC, id DESC LIMIT ?",
            (*params, limit + 1),
        )
        messages = [_chat_message(r) for r in rows]
        next_cursor = None
        if len(messages) > limit:
            last = messages[limit - 1]
            next_cursor = encode_cursor("chat", [to_text(last.created_at), last.id])
        return Page(items=messages[:limit], next_cursor=next_cursor)
