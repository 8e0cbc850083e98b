"""Direct ledgers (friendships): making one or bringing its members back, ending it, the user's
friends, and the balances of all their groups in one read."""

from __future__ import annotations

from collections import defaultdict

from domain import Balance, Group, NotFound
from domain.clock import from_text, to_text
from domain.models import Friend, GroupBalances
from store.base import NewGroup
from store.errors import unsettled
from store.sqlite.engine import Db, _Engine, _fetchone
from store.sqlite.rows import _GROUP_COLUMNS, _USER_COLUMNS, _group, _user
from store.sqlite.writes import _require_user

_FRIENDS = (
    "SELECT me.group_id, me.joined_at, "
    + ", ".join(f"u.{column.strip()}" for column in _USER_COLUMNS.split(","))
    + " FROM memberships me JOIN groups g ON g.id = me.group_id AND g.kind = 'direct' "
    "JOIN memberships f ON f.group_id = me.group_id AND f.user_id != me.user_id "
    "JOIN users u ON u.id = f.user_id WHERE me.user_id = ? "
    "ORDER BY me.joined_at DESC, me.group_id DESC LIMIT ?"
)
_BALANCES_ACROSS_GROUPS = (
    "SELECT mine.group_id, g.kind, mine.position, b.user_id, b.currency, b.amount FROM ("
    "SELECT group_id, ROW_NUMBER() OVER (ORDER BY joined_at DESC, group_id DESC) AS position "
    "FROM memberships WHERE user_id = ?) mine "
    "JOIN groups g ON g.id = mine.group_id "
    "LEFT JOIN balances b ON b.group_id = mine.group_id AND b.amount != 0 "
    "WHERE mine.position <= ? ORDER BY mine.position, b.user_id, b.currency"
)


class _Friends(_Engine):
    """The direct-ledger methods of `SQLiteStore`."""

    async def ensure_direct_group(self, group: NewGroup, friend_id: str) -> tuple[Group, bool]:
        joined = to_text(group.created_at)
        people = (group.owner_id, friend_id)

        def work(db: Db) -> tuple[Group, bool]:
            for user_id in people:
                _require_user(db, user_id)
            db.execute(
                "INSERT OR IGNORE INTO groups (id, name, description, default_currency, owner_id,"
                " member_count, version, created_at, updated_at, kind)"
                " VALUES (?, ?, ?, ?, ?, 0, 1, ?, ?, 'direct')",
                (
                    group.id,
                    group.name,
                    group.description,
                    group.default_currency,
                    group.owner_id,
                    joined,
                    joined,
                ),
            )
            added = 0
            for user_id in people:
                added += db.execute(
                    "INSERT OR IGNORE INTO memberships (group_id, user_id, role, joined_at)"
                    " VALUES (?, ?, 'member', ?)",
                    (group.id, user_id, joined),
                ).rowcount
            if added:
                db.execute(
                    "UPDATE groups SET member_count = member_count + ? WHERE id = ?", (added, group.id)
                )
            row = _fetchone(db, f"SELECT {_GROUP_COLUMNS} FROM groups g WHERE g.id = ?", (group.id,))
            return _group(row), added > 0

        return await self._write(work)

    async def end_direct_group(self, group_id: str) -> None:
        def work(db: Db) -> None:
            if _fetchone(
                db,
                "SELECT EXISTS (SELECT 1 FROM balances WHERE group_id = ? AND amount != 0)",
                (group_id,),
            )[0]:
                raise unsettled("your direct balance is not settled yet; settle up first")
            removed = db.execute("DELETE FROM memberships WHERE group_id = ?", (group_id,)).rowcount
            if removed == 0:
                raise NotFound("not a friend")
            # The zero balances go as on leaving a group; spending stays for when they are back.
            db.execute("DELETE FROM balances WHERE group_id = ?", (group_id,))
            db.execute("UPDATE groups SET member_count = 0 WHERE id = ?", (group_id,))

        await self._write(work)

    async def list_friends(self, user_id: str, *, limit: int) -> tuple[list[Friend], bool]:
        rows = await self._all(_FRIENDS, (user_id, limit + 1))
        friends = [Friend(user=_user(row[2:]), group_id=row[0], since=from_text(row[1])) for row in rows]
        return friends[:limit], len(friends) > limit

    async def balances_across_groups(
        self, user_id: str, *, group_limit: int
    ) -> tuple[list[GroupBalances], bool]:
        rows = await self._all(_BALANCES_ACROSS_GROUPS, (user_id, group_limit + 1))
        kinds: dict[str, str] = {}
        balances: dict[str, list[Balance]] = defaultdict(list)
        more = False
        for group_id, kind, position, member_id, currency, amount in rows:
            if position > group_limit:
                more = True
                continue
            kinds[group_id] = kind
            if member_id is not None:
                balances[group_id].append(Balance(user_id=member_id, currency=currency, amount=amount))
        found = [
            GroupBalances(
                group_id=group_id, kind="direct" if kinds[group_id] == "direct" else "group", balances=rows_
            )
            for group_id, rows_ in balances.items()
            if any(balance.user_id == user_id for balance in rows_)
        ]
        return found, more
