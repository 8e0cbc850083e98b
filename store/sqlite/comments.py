"""Comments on expenses and settlements: written with their activity entry, read newest first."""

from __future__ import annotations

from domain import ActivityEntry, Comment, Page
from store.cursor import after_cursor, comment_cursor
from store.errors import comment_not_found, commenter_not_a_member, group_not_found, record_not_found
from store.sqlite.engine import Db, _Engine, _fetchone
from store.sqlite.rows import _COMMENT_COLUMNS, _activity_row, _comment, _comment_row, _marks
from store.sqlite.writes import _log

_INSERT_COMMENT = f"INSERT INTO comments ({_COMMENT_COLUMNS}) VALUES ({_marks(_COMMENT_COLUMNS)})"
_SUBJECT_TABLES = {"expense": "expenses", "settlement": "settlements"}


class _Comments(_Engine):
    """The comment methods of `SQLiteStore`."""

    async def create_comment(self, comment: Comment, activity: ActivityEntry) -> None:
        row = _comment_row(comment)
        logged = _activity_row(activity)
        table = _SUBJECT_TABLES[comment.subject_kind]

        def work(db: Db) -> None:
            group_exists, is_member, subject_live = _fetchone(
                db,
                "SELECT EXISTS (SELECT 1 FROM groups WHERE id = ?), "
                "EXISTS (SELECT 1 FROM memberships WHERE group_id = ? AND user_id = ?), "
                f"EXISTS (SELECT 1 FROM {table} WHERE group_id = ? AND id = ? AND deleted_at IS NULL)",
                (
                    comment.group_id,
                    comment.group_id,
                    comment.author_id,
                    comment.group_id,
                    comment.subject_id,
                ),
            )
            if not group_exists:
                raise group_not_found()
            if not is_member:
                raise commenter_not_a_member(comment.author_id)
            if not subject_live:
                raise record_not_found("expense" if comment.subject_kind == "expense" else "transaction")
            db.execute(_INSERT_COMMENT, row)
            _log(db, logged)

        await self._write(work)

    async def get_comment(self, group_id: str, subject_id: str, comment_id: str) -> Comment:
        row = await self._one(
            f"SELECT {_COMMENT_COLUMNS} FROM comments WHERE id = ? AND subject_id = ? AND group_id = ?",
            (comment_id, subject_id, group_id),
        )
        if row is None:
            raise comment_not_found()
        return _comment(row)

    async def list_comments(
        self, group_id: str, subject_id: str, *, limit: int, cursor: str | None = None
    ) -> Page[Comment]:
        where, params = "subject_id = ? AND group_id = ?", [subject_id, group_id]
        if cursor is not None:
            where += " AND id < ?"
            params.append(comment_cursor(cursor))
        rows = await self._all(
            f"SELECT {_COMMENT_COLUMNS} FROM comments WHERE {where} ORDER BY id DESC LIMIT ?",
            (*params, limit + 1),
        )
        comments = [_comment(r) for r in rows]
        next_cursor = after_cursor("comments", comments[limit - 1].id) if len(comments) > limit else None
        return Page(items=comments[:limit], next_cursor=next_cursor)

    async def delete_comment(
        self, group_id: str, subject_id: str, comment_id: str, activity: ActivityEntry
    ) -> None:
        logged = _activity_row(activity)

        def work(db: Db) -> None:
            gone = db.execute(
                "DELETE FROM comments WHERE id = ? AND subject_id = ? AND group_id = ?",
                (comment_id, subject_id, group_id),
            )
            if gone.rowcount != 1:
                raise comment_not_found()
            _log(db, logged)

        await self._write(work)
