"""`_Connection`: the client and table names through which each concern of the store reaches
DynamoDB, with the reads and transaction actions that several concerns share."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from domain import ActivityEntry, Unavailable
from store.base import Store
from store.dynamodb.changelog import (
    Logged,
    UserLogged,
    group_numbering,
    log_pk,
    user_head_key,
    user_log_pk,
    user_numbering,
    with_logs,
)
from store.dynamodb.client import _ATTEMPTS, _batch_get, _call, _Cancelled, _transact
from store.dynamodb.items import _activity_item, _attrs, _key, _plain
from store.dynamodb.tables import USER_GROUPS_INDEX
from store.settings import DynamoDBSettings

_MEMBERSHIP_PAGES = 5
"""Bound on the `by_user` pages one listing of a user's memberships follows."""
_LOG_ATTEMPTS = 25
"""Tries of a logged write that keeps losing its numbers to other processes' writes."""
_FILTERED_PAGE = 1000
"""Memberships one filtered `by_user` page evaluates (small items: well under DynamoDB's 1 MB)."""


class _Connection(Store):
    """State and shared requests of `DynamoDBStore`; the concern classes derive from it."""

    def __init__(self, client: Any, settings: DynamoDBSettings) -> None:
        self._client = client
        self._log_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._users = settings.users_table
        self._groups = settings.groups_table
        self._expenses = settings.expenses_table
        self._transactions = settings.transactions_table
        self._chats = settings.chats_table

    async def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        """One request on this store's client (see `client._call` for the errors it raises)."""
        return await _call(self._client, operation, **params)

    async def _get(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        """The item at `key`, read consistently, or None."""
        response = await self._call("get_item", TableName=table, Key=key, ConsistentRead=True)
        item = response.get("Item")
        return _plain(item) if item else None

    async def _batch_get(self, table: str, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Every item of `keys` that exists (consistent reads), in no particular order."""
        return await _batch_get(self._client, table, keys)

    async def _transact(self, actions: list[dict[str, Any]], attempts: int = _ATTEMPTS) -> None:
        """One TransactWriteItems (see `client._transact`); raises _Cancelled when a condition
        failed, for the caller to interpret."""
        await _transact(self._client, actions, attempts)

    async def _transact_logged(
        self,
        group_id: str | None,
        actions: list[dict[str, Any]],
        changes: Sequence[Logged] = (),
        attempts: int = _ATTEMPTS,
        *,
        known: dict[str, Any] | None = None,
        users: Sequence[UserLogged] = (),
    ) -> None:
        """`_transact(actions)` that also logs `changes` in the group's changes log (none when
        `group_id` is None) and `users` in each of those users' own logs, all numbered in commit
        order (see `changelog`). A lost race for any log's numbers is retried here (bounded); any
        other cancellation reaches the caller with the indices of `actions` unchanged.

        The numbers are read first (one GetItem of META, unless the caller has just read it
        (`known`), beside one BatchGetItem of the users' HEADs). Writes of one process to one log
        take their numbers one at a time (a lock per log, taken in the order of the logs' keys,
        so two writes sharing logs cannot wait for each other), so they do not race each other. A
        write that lost the race to another process's learns the current numbers from the
        failure (the counter actions' old items) and tries again at once, ahead of that process's
        next write, which reads first: so no process starves. (Remembering the numbers instead
        of reading them saves that read but starves the other processes: the one that keeps
        winning always has its next write in flight first.)"""
        by_user: dict[str, list[UserLogged]] = {}
        for change in users:
            by_user.setdefault(change.user_id, []).append(change)
        logs = ([log_pk(group_id)] if group_id is not None else []) + [user_log_pk(u) for u in by_user]
        async with self._log_locks_held(logs):
            prev = await self._read_counters(group_id if known is None else None, list(by_user))
            if group_id is not None and known is not None:
                prev[log_pk(group_id)] = int(known.get("change_seq", 0))
            for _ in range(_LOG_ATTEMPTS):
                numberings = [
                    user_numbering(self._expenses, user_id, prev[user_log_pk(user_id)], logged)
                    for user_id, logged in by_user.items()
                ]
                if group_id is not None:
                    numberings.insert(
                        0,
                        group_numbering(
                            self._groups, self._expenses, group_id, prev[log_pk(group_id)], changes
                        ),
                    )
                merged, counters = with_logs(actions, numberings)
                try:
                    await self._transact(merged, attempts)
                except _Cancelled as exc:
                    lost = False
                    for numbering, index in zip(numberings, counters, strict=True):
                        old = exc.old_item(index) if exc.failed(index) else None
                        current = int(old.get("change_seq", 0)) if old is not None else numbering.prev
                        if current != numbering.prev:
                            prev[numbering.log] = current
                            lost = True
                    if not lost:
                        raise
                    # Another process took these numbers: take the next ones at once. No backoff:
                    # each lost race means another write went through (no livelock), and waiting
                    # would let a process with a steady stream of writes win every race.
                    continue
                return
        raise Unavailable("the records kept changing; try again")

    @asynccontextmanager
    async def _log_locks_held(self, logs: list[str]) -> AsyncIterator[None]:
        """This process's locks of `logs`, taken in sorted order (the one order every write takes
        them in, so none waits on another that waits on it)."""
        async with AsyncExitStack() as stack:
            for log in sorted(set(logs)):
                lock = self._log_locks.get(log)
                if lock is None:
                    lock = self._log_locks[log] = asyncio.Lock()
                await stack.enter_async_context(lock)
            yield

    async def _read_counters(self, group_id: str | None, user_ids: list[str]) -> dict[str, int]:
        """The current number of the group's log (when `group_id` is given) and of each user's
        log, by log key: the GetItem and the BatchGetItem run side by side."""

        async def heads() -> dict[str, int]:
            if not user_ids:
                return {}
            found = await self._batch_get(self._expenses, [user_head_key(u) for u in user_ids])
            numbers = {item["pk"]: int(item.get("change_seq", 0)) for item in found}
            return {user_log_pk(u): numbers.get(user_log_pk(u), 0) for u in user_ids}

        if group_id is None:
            return await heads()
        group, users = await asyncio.gather(self._read_change_seq(group_id), heads())
        return {log_pk(group_id): group, **users}

    async def _read_change_seq(self, group_id: str) -> int:
        response = await self._call(
            "get_item",
            TableName=self._groups,
            Key=_key(f"GROUP#{group_id}", "META"),
            ConsistentRead=True,
            ProjectionExpression="change_seq",
        )
        item = response.get("Item")
        return int(_plain(item).get("change_seq", 0)) if item else 0

    async def _delete_partition(self, table: str, pk: str, sk_prefix: str | None = None) -> None:
        """Delete every item of partition `pk` (whose sort key starts with `sk_prefix`, if given)
        — account deletion: the user's own items — a page of keys at a time, 100 deletes per
        transaction."""
        condition, values = "pk = :pk", {":pk": pk}
        if sk_prefix is not None:
            condition += " AND begins_with(sk, :prefix)"
            values[":prefix"] = sk_prefix
        params: dict[str, Any] = {
            "TableName": table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": _attrs(values),
            "ProjectionExpression": "pk, sk",
            "ConsistentRead": True,
        }
        while True:
            response = await self._call("query", **params)
            deletes = [
                {"Delete": {"TableName": table, "Key": {"pk": item["pk"], "sk": item["sk"]}}}
                for item in response.get("Items", [])
            ]
            for start in range(0, len(deletes), 100):
                await self._transact(deletes[start : start + 100])
            if "LastEvaluatedKey" not in response:
                return
            params["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    async def _partition(self, group_id: str, sk_prefix: str | None = None) -> list[dict[str, Any]]:
        """Every item of a group's partition (META and at most MAX_GROUP_MEMBERS memberships, far
        below the 1 MB page size, so in practice one Query)."""
        condition = "pk = :pk"
        values: dict[str, Any] = {":pk": f"GROUP#{group_id}"}
        if sk_prefix is not None:
            condition += " AND begins_with(sk, :prefix)"
            values[":prefix"] = sk_prefix
        params: dict[str, Any] = {
            "TableName": self._groups,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": _attrs(values),
            "ConsistentRead": True,
        }
        items: list[dict[str, Any]] = []
        for _ in range(_ATTEMPTS):
            response = await self._call("query", **params)
            items += [_plain(item) for item in response.get("Items", [])]
            if "LastEvaluatedKey" not in response:
                return items
            params["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        raise Unavailable("group partition is larger than it can be")

    async def _meta_and_membership(
        self, group_id: str, user_id: str
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """A group's META and one user's membership item (each None if missing), in one
        BatchGetItem."""
        items = await self._batch_get(
            self._groups,
            [_key(f"GROUP#{group_id}", "META"), _key(f"GROUP#{group_id}", f"MEMBER#{user_id}")],
        )
        by_sk = {item["sk"]: item for item in items}
        return by_sk.get("META"), by_sk.get(f"MEMBER#{user_id}")

    def _log(self, entry: ActivityEntry) -> dict[str, Any]:
        """The Put that records `entry` as one action of the change's transaction."""
        return {"Put": {"TableName": self._expenses, "Item": _attrs(_activity_item(entry))}}

    async def _newest_memberships(
        self, user_id: str, limit: int, kind: str | None = None
    ) -> tuple[list[dict[str, Any]], bool]:
        """Up to `limit` of the user's membership items (of `kind` only, when given) from GSI
        `by_user`, newest joined first, and whether there are more. Normally one Query; a page
        cut short by DynamoDB's 1 MB cap (or by the filter) is followed, at most
        _MEMBERSHIP_PAGES times."""
        params: dict[str, Any] = {
            "TableName": self._groups,
            "IndexName": USER_GROUPS_INDEX,
            "KeyConditionExpression": "gsi1pk = :user",
            "ExpressionAttributeValues": _attrs({":user": f"USER#{user_id}"}),
            "ScanIndexForward": False,
        }
        if kind is not None:
            params["FilterExpression"] = "#kind = :kind"
            params["ExpressionAttributeNames"] = {"#kind": "kind"}
            params["ExpressionAttributeValues"] = _attrs({":user": f"USER#{user_id}", ":kind": kind})
        found: list[dict[str, Any]] = []
        for _ in range(_MEMBERSHIP_PAGES):
            # A filter applies after `Limit`: with one, evaluate whole pages' worth of memberships,
            # or a user with many ordinary groups would see few friends in five pages.
            params["Limit"] = limit + 1 - len(found) if kind is None else _FILTERED_PAGE
            response = await self._call("query", **params)
            found += [_plain(item) for item in response.get("Items", [])]
            evaluated = response.get("LastEvaluatedKey")
            if len(found) > limit:
                return found[:limit], True
            if evaluated is None:
                return found, False
            params["ExclusiveStartKey"] = evaluated
        return found, True
