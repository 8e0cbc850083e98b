"""Groups and their members."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from domain import (
    ActivityEntry,
    Conflict,
    Group,
    GroupMembership,
    Member,
    NotFound,
    Page,
    PreconditionFailed,
)
from domain.clock import from_text, to_text
from domain.models import MAX_GROUP_MEMBERS, GroupKind
from store.base import NewGroup
from store.cursor import encode_cursor, timed_pair
from store.errors import group_not_found, owner_cannot_leave, unsettled
from store.sqlite.engine import Db, _Engine, _fetchone
from store.sqlite.rows import (
    _GROUP_COLUMNS,
    _GROUP_WIDTH,
    _activity_row,
    _group,
    categories_to_json,
    rates_to_json,
)
from store.sqlite.writes import _log, _require_user

_GROUP_AS_MEMBER = (
    f"SELECT {_GROUP_COLUMNS}, m.role, m.joined_at FROM groups g "
    "JOIN memberships m ON m.group_id = g.id AND m.user_id = ? WHERE g.id = ?"
)
_MEMBER_ORDER = "m.role = 'owner' DESC, m.joined_at, m.user_id"
"""Owner first, then by join time: the order `list_members` promises."""
_GROUP_WITH_MEMBERS = (
    f"SELECT {_GROUP_COLUMNS}, m.user_id, m.role, m.joined_at FROM groups g "
    "JOIN memberships m ON m.group_id = g.id WHERE g.id = ? "
    f"ORDER BY {_MEMBER_ORDER}"
)


class _Groups(_Engine):
    """The group and membership methods of `SQLiteStore`."""

    async def create_group(self, group: NewGroup) -> Group:
        created = to_text(group.created_at)

        def work(db: Db) -> None:
            _require_user(db, group.owner_id)
            db.execute(
                "INSERT INTO groups (id, name, description, default_currency, owner_id, member_count,"
                " version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, 1, ?, ?)",
                (
                    group.id,
                    group.name,
                    group.description,
                    group.default_currency,
                    group.owner_id,
                    created,
                    created,
                ),
            )
            db.execute(
                "INSERT INTO memberships (group_id, user_id, role, joined_at) VALUES (?, ?, 'owner', ?)",
                (group.id, group.owner_id, created),
            )

        await self._write(work)
        return Group(
            id=group.id,
            name=group.name,
            description=group.description,
            default_currency=group.default_currency,
            owner_id=group.owner_id,
            member_count=1,
            version=1,
            created_at=group.created_at,
            updated_at=group.created_at,
        )

    async def get_group(self, group_id: str) -> Group:
        row = await self._one(f"SELECT {_GROUP_COLUMNS} FROM groups g WHERE g.id = ?", (group_id,))
        if row is None:
            raise group_not_found()
        return _group(row)

    async def get_group_as_member(self, group_id: str, user_id: str) -> tuple[Group, Member]:
        # Every group-scoped request asks: one statement on the event loop's thread.
        rows = await self._all(_GROUP_AS_MEMBER, (user_id, group_id))
        if not rows:
            raise group_not_found()
        row = rows[0]
        return _group(row), Member(
            user_id=user_id, role=row[_GROUP_WIDTH], joined_at=from_text(row[_GROUP_WIDTH + 1])
        )

    async def get_group_with_member_ids(self, group_id: str, user_id: str) -> tuple[Group, Member, list[str]]:
        rows = await self._all(_GROUP_WITH_MEMBERS, (group_id,))
        mine = next((row for row in rows if row[_GROUP_WIDTH] == user_id), None)
        if mine is None:
            raise group_not_found()
        me = Member(user_id=user_id, role=mine[_GROUP_WIDTH + 1], joined_at=from_text(mine[_GROUP_WIDTH + 2]))
        return _group(mine), me, [row[_GROUP_WIDTH] for row in rows]

    async def list_members(self, group_id: str) -> list[Member]:
        rows = await self._all(
            # An erased account keeps a placeholder in the unique email column: hand out "".
            "SELECT m.user_id, m.role, m.joined_at, CASE WHEN u.deleted_at IS NULL THEN u.email "
            "ELSE '' END, u.name, u.picture FROM memberships m "
            "JOIN users u ON u.id = m.user_id WHERE m.group_id = ? "
            f"ORDER BY {_MEMBER_ORDER}",
            (group_id,),
        )
        return [
            Member(
                user_id=r[0],
                role=r[1],
                joined_at=from_text(r[2]),
                email=r[3],
                name=r[4],
                picture=r[5],
            )
            for r in rows
        ]

    async def list_user_groups(
        self, user_id: str, *, limit: int, cursor: str | None = None, kind: GroupKind | None = None
    ) -> Page[GroupMembership]:
        where, params = "m.user_id = ?", [user_id]
        if kind is not None:
            where += " AND g.kind = ?"
            params.append(kind)
        if cursor is not None:
            joined_at, group_id = timed_pair("user_groups", cursor)
            where += " AND (m.joined_at, m.group_id) < (?, ?)"
            params += [joined_at, group_id]
        rows = await self._all(
            f"SELECT {_GROUP_COLUMNS}, m.role, m.joined_at FROM memberships m "
            f"JOIN groups g ON g.id = m.group_id WHERE {where} "
            "ORDER BY m.joined_at DESC, m.group_id DESC LIMIT ?",
            (*params, limit + 1),
        )
        items = [
            GroupMembership(group=_group(r), role=r[_GROUP_WIDTH], joined_at=from_text(r[_GROUP_WIDTH + 1]))
            for r in rows[:limit]
        ]
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = encode_cursor("user_groups", [last[_GROUP_WIDTH + 1], last[0]])
        return Page(items=items, next_cursor=next_cursor)

    async def update_group(
        self, group_id: str, *, expected_version: int, changes: dict[str, Any], updated_at: datetime
    ) -> Group:
        allowed = {"name", "description", "default_currency", "categories", "rates"}
        assignments = "".join(f"{column} = ?, " for column in changes if column in allowed)
        as_json: dict[str, Callable[[Any], str]] = {"categories": categories_to_json, "rates": rates_to_json}
        values = [
            as_json[column](value) if column in as_json else value
            for column, value in changes.items()
            if column in allowed
        ]
        updated = to_text(updated_at)

        def work(db: Db) -> Group:
            result = db.execute(
                f"UPDATE groups SET {assignments}version = version + 1, updated_at = ? "
                "WHERE id = ? AND version = ?",
                (*values, updated, group_id, expected_version),
            )
            if result.rowcount == 0:
                row = _fetchone(db, "SELECT version FROM groups WHERE id = ?", (group_id,))
                if row is None:
                    raise group_not_found()
                raise PreconditionFailed(
                    f"group was changed meanwhile: you sent version {expected_version}, it is now {row[0]}",
                    details={"current_version": row[0]},
                )
            return _group(_fetchone(db, f"SELECT {_GROUP_COLUMNS} FROM groups g WHERE g.id = ?", (group_id,)))

        return await self._write(work)

    async def delete_group(self, group_id: str) -> None:
        def work(db: Db) -> None:
            if _fetchone(
                db,
                "SELECT EXISTS (SELECT 1 FROM balances WHERE group_id = ? AND amount != 0)",
                (group_id,),
            )[0]:
                raise unsettled("the group still has unsettled balances; settle up first")
            if db.execute("DELETE FROM groups WHERE id = ?", (group_id,)).rowcount == 0:
                raise group_not_found()

        # Cascades over the group's whole history: too long to hold the event loop for.
        await self._write(work, inline=False)

    async def add_member(
        self,
        group_id: str,
        user_id: str,
        joined_at: datetime,
        activity: ActivityEntry | None = None,
    ) -> tuple[Member, bool]:
        joined = to_text(joined_at)

        def work(db: Db) -> tuple[Member, bool]:
            row = _fetchone(
                db,
                "SELECT g.member_count, m.role, m.joined_at FROM groups g LEFT JOIN memberships m "
                "ON m.group_id = g.id AND m.user_id = ? WHERE g.id = ?",
                (user_id, group_id),
            )
            if row is None:
                raise group_not_found()
            if row[1] is not None:
                return Member(user_id=user_id, role=row[1], joined_at=from_text(row[2])), False
            _require_user(db, user_id)
            if row[0] >= MAX_GROUP_MEMBERS:
                raise Conflict(f"group is full: at most {MAX_GROUP_MEMBERS} members", code="group_full")
            db.execute(
                "INSERT INTO memberships (group_id, user_id, role, joined_at) VALUES (?, ?, 'member', ?)",
                (group_id, user_id, joined),
            )
            db.execute("UPDATE groups SET member_count = member_count + 1 WHERE id = ?", (group_id,))
            if activity is not None:
                _log(db, _activity_row(activity))
            return Member(user_id=user_id, role="member", joined_at=joined_at), True

        return await self._write(work)

    async def remove_member(
        self,
        group_id: str,
        user_id: str,
        activity: ActivityEntry | None = None,
        *,
        barred_at: datetime | None = None,
    ) -> None:
        def work(db: Db) -> None:
            if _fetchone(
                db,
                "SELECT EXISTS (SELECT 1 FROM balances WHERE group_id = ? AND user_id = ? AND amount != 0)",
                (group_id, user_id),
            )[0]:
                raise unsettled("this member still has an unsettled balance; settle up first")
            result = db.execute(
                "DELETE FROM memberships WHERE group_id = ? AND user_id = ? AND (role != 'owner' "
                "OR (SELECT member_count FROM groups WHERE id = ?) = 1)",
                (group_id, user_id, group_id),
            )
            if result.rowcount == 0:
                if _fetchone(
                    db, "SELECT 1 FROM memberships WHERE group_id = ? AND user_id = ?", (group_id, user_id)
                ):
                    raise owner_cannot_leave()
                raise NotFound("member not found")
            db.execute("DELETE FROM balances WHERE group_id = ? AND user_id = ?", (group_id, user_id))
            db.execute("DELETE FROM spending WHERE group_id = ? AND user_id = ?", (group_id, user_id))
            db.execute("UPDATE groups SET member_count = member_count - 1 WHERE id = ?", (group_id,))
            # Their links die with their membership (index `invites_by_maker`).
            db.execute("DELETE FROM invites WHERE group_id = ? AND created_by = ?", (group_id, user_id))
            if barred_at is not None:
                db.execute(
                    "INSERT INTO member_removals (group_id, user_id, removed_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (group_id, user_id) DO UPDATE SET removed_at = excluded.removed_at",
                    (group_id, user_id, to_text(barred_at)),
                )
            if activity is not None:
                _log(db, _activity_row(activity))

        await self._write(work)
