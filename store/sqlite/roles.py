"""Group roles: handing ownership over, and making members admins or plain members again."""

from __future__ import annotations

from domain import ActivityEntry, Group, Member
from domain.clock import from_text, to_text
from domain.models import Role
from store.errors import (
    group_not_found,
    handover_to_self,
    member_not_found,
    owner_changed,
    owner_role,
    role_not_settable,
)
from store.sqlite.engine import Db, _Engine, _fetchone
from store.sqlite.rows import _GROUP_COLUMNS, _activity_row, _group
from store.sqlite.writes import _log


class _Roles(_Engine):
    """The role methods of `SQLiteStore`. Each is one IMMEDIATE transaction, so every rule is
    judged against the state it writes over."""

    async def transfer_ownership(
        self, group_id: str, *, from_user: str, to_user: str, activity: ActivityEntry
    ) -> Group:
        if from_user == to_user:
            raise handover_to_self()

        def work(db: Db) -> Group:
            group = _fetchone(db, "SELECT owner_id FROM groups WHERE id = ?", (group_id,))
            if group is None:
                raise group_not_found()
            if group[0] != from_user:
                raise owner_changed()
            promoted = db.execute(
                "UPDATE memberships SET role = 'owner' WHERE group_id = ? AND user_id = ?",
                (group_id, to_user),
            )
            if promoted.rowcount == 0:
                raise member_not_found()
            db.execute(
                "UPDATE memberships SET role = 'admin' WHERE group_id = ? AND user_id = ?",
                (group_id, from_user),
            )
            db.execute(
                "UPDATE groups SET owner_id = ?, version = version + 1, updated_at = ? WHERE id = ?",
                (to_user, to_text(activity.at), group_id),
            )
            _log(db, _activity_row(activity))
            return _group(_fetchone(db, f"SELECT {_GROUP_COLUMNS} FROM groups g WHERE g.id = ?", (group_id,)))

        return await self._write(work)

    async def set_member_role(
        self, group_id: str, user_id: str, role: Role, activity: ActivityEntry
    ) -> Member:
        if role == "owner":
            raise role_not_settable()

        def work(db: Db) -> Member:
            row = _fetchone(
                db,
                "SELECT m.role, m.joined_at, u.email, u.name, u.picture FROM memberships m "
                "JOIN users u ON u.id = m.user_id WHERE m.group_id = ? AND m.user_id = ?",
                (group_id, user_id),
            )
            if row is None:
                if _fetchone(db, "SELECT 1 FROM groups WHERE id = ?", (group_id,)) is None:
                    raise group_not_found()
                raise member_not_found()
            if row[0] == "owner":
                raise owner_role()
            db.execute(
                "UPDATE memberships SET role = ? WHERE group_id = ? AND user_id = ?",
                (role, group_id, user_id),
            )
            _log(db, _activity_row(activity))
            return Member(
                user_id=user_id,
                role=role,
                joined_at=from_text(row[1]),
                email=row[2],
                name=row[3],
                picture=row[4],
            )

        return await self._write(work)
