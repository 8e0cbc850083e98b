"""Reading the changes logs (written by `changelog` inside each write's transaction): a group's,
with the records a page of it names, and a user's own. A page of either is one Query of the log's
`SEQ#` range that stops at a gap."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, cast

from domain import Change, Unavailable, UserChange
from domain.models import ChangeKind, ChangeOp, UserChangeKind
from store.base import ChangedRecords
from store.dynamodb.changelog import LAST_SEQ_SK, log_pk, seq_sk, user_head_key, user_log_pk
from store.dynamodb.client import _ATTEMPTS, _ConditionFailed
from store.dynamodb.connection import _Connection
from store.dynamodb.items import _attrs, _chat_message, _comment, _expense, _key, _plain, _settlement


def _change(item: dict[str, Any]) -> Change:
    version = item.get("version")
    return Change(
        seq=int(item["seq"]),
        kind=cast(ChangeKind, item["kind"]),
        id=item["entity"],
        op=cast(ChangeOp, item["op"]),
        version=None if version is None else int(version),
        ref=item.get("ref"),
    )


def _user_change(item: dict[str, Any]) -> UserChange:
    return UserChange(
        seq=int(item["seq"]),
        kind=cast(UserChangeKind, item["kind"]),
        id=item["entity"],
        op=cast(ChangeOp, item["op"]),
    )


class _Changes(_Connection):
    """The changes-log part of the contract: the groups' logs and the users' own."""

    async def list_changes(self, group_id: str, *, after: int, limit: int) -> tuple[list[Change], bool]:
        items, more = await self._log_page(log_pk(group_id), after, limit)
        return [_change(item) for item in items], more

    async def list_user_changes(
        self, user_id: str, *, after: int, limit: int
    ) -> tuple[list[UserChange], bool]:
        items, more = await self._log_page(user_log_pk(user_id), after, limit)
        return [_user_change(item) for item in items], more

    async def _log_page(self, log: str, after: int, limit: int) -> tuple[list[dict[str, Any]], bool]:
        """Up to `limit` entries of `log` numbered above `after`, consecutively, and whether more
        follow: one Query of the entries' key range (a user's HEAD is outside it)."""
        response = await self._call(
            "query",
            TableName=self._expenses,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :first AND :last",
            ExpressionAttributeValues=_attrs(
                {":pk": log, ":first": seq_sk(max(after, 0) + 1), ":last": LAST_SEQ_SK}
            ),
            ConsistentRead=True,
            Limit=limit + 1,
        )
        # Log items are small (well under 1 KB), so `limit + 1` of them always fit one page.
        items = [_plain(item) for item in response.get("Items", [])]
        # Numbers are taken without gaps, but a Query is not a snapshot: it could pass `SEQ#n`
        # just before n's transaction commits and still see n + 1. Stop at a gap (the client asks
        # again at once), so no cursor ever moves past a change it has not seen.
        for index, item in enumerate(items):
            if int(item["seq"]) != max(after, 0) + 1 + index:
                return items[: min(index, limit)], True
        return items[:limit], len(items) > limit

    async def last_change(self, group_id: str) -> int:
        return await self._read_change_seq(group_id)

    async def last_user_change(self, user_id: str) -> int:
        response = await self._call(
            "get_item",
            TableName=self._expenses,
            Key=user_head_key(user_id),
            ConsistentRead=True,
            ProjectionExpression="change_seq",
        )
        item = response.get("Item")
        return int(_plain(item).get("change_seq", 0)) if item else 0

    async def delete_user_changes(self, user_id: str) -> None:
        # Entries first, the counter last and only if no write took a number meanwhile (else its
        # entry would be left behind a counter starting again from 0, and collide with the next).
        for _ in range(_ATTEMPTS):
            seen = await self.last_user_change(user_id)
            await self._delete_partition(self._expenses, user_log_pk(user_id), "SEQ#")
            try:
                await self._call(
                    "delete_item",
                    TableName=self._expenses,
                    Key=user_head_key(user_id),
                    ConditionExpression="attribute_not_exists(change_seq) OR change_seq = :seen",
                    ExpressionAttributeValues=_attrs({":seen": seen}),
                )
                return
            except _ConditionFailed:
                continue
        raise Unavailable("the user's changes kept coming while their log was being deleted")

    async def read_changed(self, group_id: str, changes: Collection[Change]) -> ChangedRecords:
        wanted = {(c.kind, c.id): c for c in changes if c.op == "upsert"}
        expense_keys = [
            _key(f"GROUP#{group_id}", f"EXP#{c.id}") for (kind, _), c in wanted.items() if kind == "expense"
        ]
        settlement_keys = [
            _key(f"GROUP#{group_id}", f"TXN#{c.id}")
            for (kind, _), c in wanted.items()
            if kind == "settlement"
        ]
        chat_keys = [
            _key(f"GROUP#{group_id}", c.ref)
            for (kind, _), c in wanted.items()
            if kind in ("chat", "comment") and c.ref
        ]
        expenses = (
            [_expense(i) for i in await self._batch_get(self._expenses, expense_keys)] if expense_keys else []
        )
        settlements = (
            [_settlement(i) for i in await self._batch_get(self._transactions, settlement_keys)]
            if settlement_keys
            else []
        )
        in_chats = await self._batch_get(self._chats, chat_keys) if chat_keys else []
        chats = [_chat_message(i) for i in in_chats if i["sk"].startswith("MSG#")]
        comments = [_comment(i) for i in in_chats if i["sk"].startswith("CMT#")]
        return ChangedRecords(
            expenses={e.id: e for e in expenses},
            settlements={s.id: s for s in settlements},
            chats={m.id: m for m in chats},
            comments={c.id: c for c in comments},
        )
