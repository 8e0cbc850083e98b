"""Comments on expenses and settlements, in the chats table beside the group's messages: each
written with its activity entry in one transaction, read newest first off the table itself."""

from __future__ import annotations

from typing import Any

from domain import ActivityEntry, Comment, Page
from store.cursor import after_cursor, comment_cursor
from store.dynamodb.changelog import Logged
from store.dynamodb.client import _Cancelled
from store.dynamodb.items import _attrs, _comment, _comment_item, _key, _plain
from store.dynamodb.ledger import _Ledger
from store.errors import comment_not_found, commenter_not_a_member, group_not_found, record_not_found

_LIVE = "attribute_exists(pk) AND attribute_not_exists(deleted_at)"
"""The condition on a comment's subject: it exists and is not deleted."""


class _Comments(_Ledger):
    """The comments part of the contract."""

    async def create_comment(self, comment: Comment, activity: ActivityEntry) -> None:
        expense = comment.subject_kind == "expense"
        subject_table = self._expenses if expense else self._transactions
        subject_sk = f"EXP#{comment.subject_id}" if expense else f"TXN#{comment.subject_id}"
        try:
            await self._transact_logged(
                comment.group_id,
                [
                    self._touch(comment.group_id, activity),
                    {
                        "ConditionCheck": {
                            "TableName": self._groups,
                            "Key": _key(f"GROUP#{comment.group_id}", f"MEMBER#{comment.author_id}"),
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    {
                        "ConditionCheck": {
                            "TableName": subject_table,
                            "Key": _key(f"GROUP#{comment.group_id}", subject_sk),
                            "ConditionExpression": _LIVE,
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._chats,
                            "Item": _attrs(_comment_item(comment)),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    self._log(activity),
                ],
                [Logged("comment", comment.id, "upsert", ref=_comment_item(comment)["sk"])],
            )
        except _Cancelled as exc:
            if exc.failed(0):
                raise group_not_found() from None
            if exc.failed(1):
                raise commenter_not_a_member(comment.author_id) from None
            raise record_not_found("expense" if expense else "transaction") from None

    async def get_comment(self, group_id: str, subject_id: str, comment_id: str) -> Comment:
        item = await self._get(self._chats, _key(f"GROUP#{group_id}", f"CMT#{subject_id}#{comment_id}"))
        if item is None:
            raise comment_not_found()
        return _comment(item)

    async def list_comments(
        self, group_id: str, subject_id: str, *, limit: int, cursor: str | None = None
    ) -> Page[Comment]:
        prefix = f"CMT#{subject_id}#"
        params: dict[str, Any] = {
            "TableName": self._chats,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": _attrs({":pk": f"GROUP#{group_id}", ":prefix": prefix}),
            "ScanIndexForward": False,
            "ConsistentRead": True,
            "Limit": limit + 1,
        }
        if cursor is not None:
            params["ExclusiveStartKey"] = _key(f"GROUP#{group_id}", prefix + comment_cursor(cursor))
        response = await self._call("query", **params)
        comments = [_comment(_plain(item)) for item in response.get("Items", [])]
        page = comments[:limit]
        # A page also stops at 1 MB: then it is short, and the cursor resumes after its last one.
        more = len(comments) > limit or "LastEvaluatedKey" in response
        next_cursor = after_cursor("comments", page[-1].id) if more and page else None
        return Page(items=page, next_cursor=next_cursor)

    async def delete_comment(
        self, group_id: str, subject_id: str, comment_id: str, activity: ActivityEntry
    ) -> None:
        try:
            await self._transact_logged(
                group_id,
                [
                    {
                        "Delete": {
                            "TableName": self._chats,
                            "Key": _key(f"GROUP#{group_id}", f"CMT#{subject_id}#{comment_id}"),
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    self._touch(group_id, activity),
                    self._log(activity),
                ],
                [Logged("comment", comment_id, "delete")],
            )
        except _Cancelled as exc:
            if exc.failed(0):
                raise comment_not_found() from None
            raise group_not_found() from None
