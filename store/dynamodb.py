"""The cloud backend: DynamoDB through aioboto3's low-level client.

Key design (docs/dynamodb.md has the full picture):

* users table, key `pk`: `USER#<id>` profile, `EMAIL#<email>` pointer to the user id (written in
  the same transaction as the profile, so emails are unique), `REVOKED#<jti>` with a `ttl`,
  `IDEM#<uid>#<key>` idempotency claim/reply with a `ttl`.
* groups table, keys `pk` + `sk`: `GROUP#<gid>`/`META` group (with `last_activity_at`, the time
  of its latest activity entry), `GROUP#<gid>`/`MEMBER#<uid>` membership carrying the member's
  `balances` map {currency: minor units} and `spending` map {"<YYYY-MM>|<category>|<currency>":
  their share in minor units} (indexed by GSI `by_user` on `gsi1pk = USER#<uid>`,
  `gsi1sk = <joined_at>#<gid>`), `INVITE#<token_hash>`/`INVITE` invite with a `ttl`.
* expenses table: `GROUP#<gid>`/`EXP#<id>` expense and `GROUP#<gid>`/`ACT#<at>#<id>` activity;
  transactions table: `GROUP#<gid>`/`TXN#<id>` settlement. Expenses and settlements carry
  `lsi1sk = <date>#<created_at>#<id>` for the LSI `by_date` (newest-first listing).
* chats table: `GROUP#<gid>`/`MSG#<created_at>#<id>` chat message, so a group's messages sort
  by time, then id (newest-first listing straight off the table).

Every method is a fixed number of round trips: no Scan, multi-item writes are one
TransactWriteItems, and a group's partition is bounded by MAX_GROUP_MEMBERS. An expense or
settlement write is one transaction: the record, one Update per member whose balance or spending
moves (conditioned on the membership existing), the META's `last_activity_at`, the activity entry
and the idempotent reply. Reads of base tables and LSIs are strongly consistent; the `by_user` GSI
(list_user_groups, dashboard) is eventually consistent.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import aioboto3
from aiobotocore.config import AioConfig
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from domain import (
    ActivityEntry,
    Balance,
    ChatMessage,
    Conflict,
    Dashboard,
    Expense,
    ExpenseFilter,
    Group,
    GroupMembership,
    GroupStanding,
    IdempotentReply,
    Invite,
    Member,
    NotFound,
    Page,
    PreconditionFailed,
    Settlement,
    StoredReply,
    Unavailable,
    User,
)
from domain.clock import from_text, to_text, utc_now
from domain.ids import new_id
from domain.models import MAX_GROUP_MEMBERS
from store.base import (
    IDEMPOTENCY_LEASE,
    IDEMPOTENCY_RETENTION,
    BalanceDeltas,
    NewGroup,
    SpendingDeltas,
    Store,
    TokenStanding,
)
from store.cursor import cursor_pair, dated_position, decode_cursor, encode_cursor, timed_pair
from store.errors import (
    author_not_a_member,
    chat_message_exists,
    group_not_found,
    in_progress,
    key_reused,
    linked_elsewhere,
    not_a_member,
    record_not_found,
    unsettled,
    user_not_found,
)
from store.recent import latest_across_groups
from store.settings import DynamoDBSettings

USER_GROUPS_INDEX = "by_user"
BY_DATE_INDEX = "by_date"
TTL_ATTRIBUTE = "ttl"
_EDITABLE = ("name", "description", "default_currency")
_BATCH_GET_LIMIT = 100
_DASHBOARD_PAGES = 5
"""Bound on the `by_user` pages the dashboard follows (a page stops at 1 MB)."""
_ATTEMPTS = 5
_LEDGER_ATTEMPTS = 10
"""Ledger writes all touch the group's busy membership items, so they may lose more races."""
_CONFIG = AioConfig(connect_timeout=5, read_timeout=10, retries={"max_attempts": 3, "mode": "standard"})

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class _ConditionFailed(Exception):
    """A single-item write's ConditionExpression was false; `item` is the old item, if asked for."""

    def __init__(self, item: dict[str, Any] | None) -> None:
        super().__init__("condition failed")
        self.item = item


class _ServiceError(Unavailable):
    """Any other DynamoDB failure; `aws_code` lets create_tables tell "no such table" apart."""

    def __init__(self, message: str, aws_code: str) -> None:
        super().__init__(message)
        self.aws_code = aws_code


class _Cancelled(Exception):
    """A transaction failed a condition; `reasons` holds one cancellation code per action, and
    `items` the old item of each action that asked for it (ReturnValuesOnConditionCheckFailure)
    and failed."""

    def __init__(self, reasons: list[str], items: list[dict[str, Any] | None] | None = None) -> None:
        super().__init__(f"transaction cancelled: {reasons}")
        self.reasons = reasons
        self.items = items or [None] * len(reasons)

    def failed(self, index: int) -> bool:
        return index < len(self.reasons) and self.reasons[index] == "ConditionalCheckFailed"

    def old_item(self, index: int) -> dict[str, Any] | None:
        return self.items[index] if index < len(self.items) else None


def _attrs(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in values.items()}


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def _key(pk: str, sk: str | None = None) -> dict[str, Any]:
    return _attrs({"pk": pk} if sk is None else {"pk": pk, "sk": sk})


def _ttl(moment: datetime) -> int:
    return math.ceil(moment.timestamp())


def _user(a: dict[str, Any]) -> User:
    return User(
        id=a["id"],
        email=a["email"],
        name=a["name"],
        picture=a.get("picture"),
        created_at=from_text(a["created_at"]),
    )


def _group(a: dict[str, Any]) -> Group:
    return Group(
        id=a["id"],
        name=a["name"],
        description=a["description"],
        default_currency=a["default_currency"],
        owner_id=a["owner_id"],
        member_count=int(a["member_count"]),
        version=int(a["version"]),
        created_at=from_text(a["created_at"]),
        updated_at=from_text(a["updated_at"]),
    )


def _membership_item(group_id: str, user_id: str, role: str, joined_at: str) -> dict[str, Any]:
    return _attrs(
        {
            "pk": f"GROUP#{group_id}",
            "sk": f"MEMBER#{user_id}",
            "gsi1pk": f"USER#{user_id}",
            "gsi1sk": f"{joined_at}#{group_id}",
            "group_id": group_id,
            "user_id": user_id,
            "role": role,
            "joined_at": joined_at,
            "balances": {},
            "spending": {},
        }
    )


def _spending_key(month: str, category: str, currency: str) -> str:
    """The key of one entry of a membership's `spending` map. The month has a fixed width and
    the currency no `|`, so a category containing `|` still reads back unambiguously."""
    return f"{month}|{category}|{currency}"


def _spending_entry(key: str) -> tuple[str, str, str]:
    month, rest = key[:7], key[8:]
    category, currency = rest.rsplit("|", 1)
    return month, category, currency


def _balances(memberships: list[dict[str, Any]]) -> list[Balance]:
    """The balances kept on membership items, sorted by user then currency."""
    balances = [
        Balance(user_id=m["user_id"], currency=currency, amount=int(amount))
        for m in memberships
        for currency, amount in (m.get("balances") or {}).items()
    ]
    balances.sort(key=lambda b: (b.user_id, b.currency))
    return balances


def _member_order(membership: dict[str, Any]) -> tuple[bool, str, str]:
    """Owner first, then by join time: the order `list_members` promises."""
    return membership["role"] != "owner", membership["joined_at"], membership["user_id"]


def _member(a: dict[str, Any], profile: dict[str, Any] | None = None) -> Member:
    return Member(
        user_id=a["user_id"],
        role=a["role"],
        joined_at=from_text(a["joined_at"]),
        email=profile["email"] if profile else "",
        name=profile["name"] if profile else "",
        picture=profile.get("picture") if profile else None,
    )


def _cancellation(exc: ClientError) -> _Cancelled:
    reasons = exc.response.get("CancellationReasons", [])
    return _Cancelled(
        [str(reason.get("Code", "None")) for reason in reasons],
        [_plain(reason["Item"]) if reason.get("Item") else None for reason in reasons],
    )


def _client(settings: DynamoDBSettings) -> Any:
    return aioboto3.Session().client(
        "dynamodb", region_name=settings.region, endpoint_url=settings.endpoint_url, config=_CONFIG
    )


async def _call(client: Any, operation: str, **params: Any) -> dict[str, Any]:
    """Run one API call, turning every botocore failure into a module or domain error."""
    try:
        response: dict[str, Any] = await getattr(client, operation)(**params)
        return response
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code == "ConditionalCheckFailedException":
            item = exc.response.get("Item")
            raise _ConditionFailed(_plain(item) if item else None) from None
        if code == "TransactionCanceledException":
            raise _cancellation(exc) from None
        raise _ServiceError(f"DynamoDB {operation} failed: {code or exc}", code) from exc
    except BotoCoreError as exc:
        raise _ServiceError(f"DynamoDB {operation} failed: {exc}", "") from exc


async def _backoff(attempt: int) -> None:
    await asyncio.sleep(random.uniform(0, min(1.0, 0.02 * 2**attempt)))


class DynamoDBStore(Store):
    def __init__(self, client: Any, settings: DynamoDBSettings) -> None:
        self._client = client
        self._users = settings.users_table
        self._groups = settings.groups_table
        self._expenses = settings.expenses_table
        self._transactions = settings.transactions_table
        self._chats = settings.chats_table

    @classmethod
    @asynccontextmanager
    async def open(cls, settings: DynamoDBSettings) -> AsyncIterator[DynamoDBStore]:
        async with _client(settings) as client:
            yield cls(client, settings)

    async def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        return await _call(self._client, operation, **params)

    async def _get(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        response = await self._call("get_item", TableName=table, Key=key, ConsistentRead=True)
        item = response.get("Item")
        return _plain(item) if item else None

    async def _batch_get(self, table: str, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """BatchGetItem in chunks of 100, asking again for UnprocessedKeys a bounded number of
        times."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(keys), _BATCH_GET_LIMIT):
            pending: dict[str, Any] = {
                table: {"Keys": keys[start : start + _BATCH_GET_LIMIT], "ConsistentRead": True}
            }
            for attempt in range(_ATTEMPTS):
                response = await self._call("batch_get_item", RequestItems=pending)
                found += [_plain(item) for item in response.get("Responses", {}).get(table, [])]
                pending = response.get("UnprocessedKeys") or {}
                if not pending:
                    break
                await _backoff(attempt)
            else:
                raise Unavailable("DynamoDB kept leaving keys unprocessed")
        return found

    async def _transact(self, actions: list[dict[str, Any]], attempts: int = _ATTEMPTS) -> None:
        """One TransactWriteItems, retried (bounded) only when it lost to a concurrent transaction.

        Raises _Cancelled when a condition failed, for the caller to interpret."""
        for attempt in range(attempts):
            try:
                await self._call("transact_write_items", TransactItems=actions)
                return
            except _Cancelled as exc:
                if "ConditionalCheckFailed" in exc.reasons:
                    raise
                if "TransactionConflict" not in exc.reasons:
                    raise Unavailable(f"DynamoDB transaction cancelled: {exc.reasons}") from None
            await _backoff(attempt)
        raise Unavailable("DynamoDB transaction kept conflicting; try again")

    async def ping(self) -> None:
        await self._call("get_item", TableName=self._users, Key=_key("PING"))

    # users

    async def ensure_user(self, email: str, name: str, picture: str | None = None) -> User:
        email = email.strip().lower()
        existing = await self.find_user_by_email(email)
        if existing is not None:
            return existing
        user = User(id=new_id(), email=email, name=name, picture=picture, created_at=utc_now())
        profile = {
            "pk": f"USER#{user.id}",
            "id": user.id,
            "email": email,
            "name": name,
            "picture": picture,
            "created_at": to_text(user.created_at),
        }
        try:
            await self._transact(
                [
                    {
                        "Put": {
                            "TableName": self._users,
                            "Item": _attrs(profile),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._users,
                            "Item": _attrs({"pk": f"EMAIL#{email}", "user_id": user.id}),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        except _Cancelled:
            winner = await self.find_user_by_email(email)
            if winner is None:
                raise Unavailable("user creation raced and the winner is not visible") from None
            return winner
        return user

    async def get_user(self, user_id: str) -> User:
        item = await self._get(self._users, _key(f"USER#{user_id}"))
        if item is None:
            raise user_not_found()
        return _user(item)

    async def find_user_by_email(self, email: str) -> User | None:
        pointer = await self._get(self._users, _key(f"EMAIL#{email.strip().lower()}"))
        if pointer is None:
            return None
        item = await self._get(self._users, _key(f"USER#{pointer['user_id']}"))
        return None if item is None else _user(item)

    async def ensure_oidc_user(self, subject: str, email: str, name: str, picture: str | None) -> User:
        email = email.strip().lower()
        for _ in range(_ATTEMPTS):
            pointer = await self._get(self._users, _key(f"SUB#{subject}"))
            if pointer is not None:
                return await self._refresh_profile(pointer["user_id"], name, picture)
            existing = await self._get(self._users, _key(f"EMAIL#{email}"))
            try:
                if existing is None:
                    return await self._create_oidc_user(subject, email, name, picture)
                await self._link_subject(existing["user_id"], subject)
                return await self._refresh_profile(existing["user_id"], name, picture)
            except _Cancelled as exc:
                if existing is not None and exc.failed(1):
                    raise linked_elsewhere() from None
                # Lost a race with a concurrent first sign-in: read the winner's links again.
        raise Unavailable("sign-in kept racing with another; try again")

    async def _create_oidc_user(self, subject: str, email: str, name: str, picture: str | None) -> User:
        user = User(id=new_id(), email=email, name=name, picture=picture, created_at=utc_now())
        profile = {
            "pk": f"USER#{user.id}",
            "id": user.id,
            "email": email,
            "name": name,
            "picture": picture,
            "created_at": to_text(user.created_at),
            "oidc_subject": subject,
        }
        await self._transact(
            [
                {
                    "Put": {
                        "TableName": self._users,
                        "Item": _attrs(profile),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Put": {
                        "TableName": self._users,
                        "Item": _attrs({"pk": f"EMAIL#{email}", "user_id": user.id}),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Put": {
                        "TableName": self._users,
                        "Item": _attrs({"pk": f"SUB#{subject}", "user_id": user.id}),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
        return user

    async def _link_subject(self, user_id: str, subject: str) -> None:
        """Point `subject` at the user, if they are not linked to another subject yet (action 1)."""
        await self._transact(
            [
                {
                    "Put": {
                        "TableName": self._users,
                        "Item": _attrs({"pk": f"SUB#{subject}", "user_id": user_id}),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Update": {
                        "TableName": self._users,
                        "Key": _key(f"USER#{user_id}"),
                        "UpdateExpression": "SET oidc_subject = :s",
                        "ConditionExpression": "attribute_exists(pk) AND "
                        "(attribute_not_exists(oidc_subject) OR oidc_subject = :s)",
                        "ExpressionAttributeValues": _attrs({":s": subject}),
                    }
                },
            ]
        )

    async def _refresh_profile(self, user_id: str, name: str, picture: str | None) -> User:
        try:
            response = await self._call(
                "update_item",
                TableName=self._users,
                Key=_key(f"USER#{user_id}"),
                UpdateExpression="SET #n = :n, picture = :p",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#n": "name"},
                ExpressionAttributeValues=_attrs({":n": name, ":p": picture}),
                ReturnValues="ALL_NEW",
            )
        except _ConditionFailed:
            raise user_not_found() from None
        return _user(_plain(response["Attributes"]))

    # token revocation

    async def revoke_token(self, jti: str, expires_at: datetime) -> None:
        await self._call(
            "put_item",
            TableName=self._users,
            Item=_attrs(
                {
                    "pk": f"REVOKED#{jti}",
                    "expires_at": to_text(expires_at),
                    TTL_ATTRIBUTE: _ttl(expires_at),
                }
            ),
        )

    async def token_standing(self, user_id: str, jti: str) -> TokenStanding:
        found = {
            item["pk"]
            for item in await self._batch_get(self._users, [_key(f"USER#{user_id}"), _key(f"REVOKED#{jti}")])
        }
        if f"USER#{user_id}" not in found:
            return TokenStanding.UNKNOWN_USER
        return TokenStanding.REVOKED if f"REVOKED#{jti}" in found else TokenStanding.ACTIVE

    # groups

    async def create_group(self, group: NewGroup) -> Group:
        created = to_text(group.created_at)
        meta = {
            "pk": f"GROUP#{group.id}",
            "sk": "META",
            "id": group.id,
            "name": group.name,
            "description": group.description,
            "default_currency": group.default_currency,
            "owner_id": group.owner_id,
            "member_count": 1,
            "version": 1,
            "created_at": created,
            "updated_at": created,
        }
        try:
            await self._transact(
                [
                    {
                        "ConditionCheck": {
                            "TableName": self._users,
                            "Key": _key(f"USER#{group.owner_id}"),
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._groups,
                            "Item": _attrs(meta),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._groups,
                            "Item": _membership_item(group.id, group.owner_id, "owner", created),
                        }
                    },
                ]
            )
        except _Cancelled as exc:
            if exc.failed(0):
                raise user_not_found() from None
            raise Conflict("group already exists", code="group_exists") from None
        return _group(meta)

    async def get_group(self, group_id: str) -> Group:
        item = await self._get(self._groups, _key(f"GROUP#{group_id}", "META"))
        if item is None:
            raise group_not_found()
        return _group(item)

    async def _meta_and_membership(
        self, group_id: str, user_id: str
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        items = await self._batch_get(
            self._groups,
            [_key(f"GROUP#{group_id}", "META"), _key(f"GROUP#{group_id}", f"MEMBER#{user_id}")],
        )
        by_sk = {item["sk"]: item for item in items}
        return by_sk.get("META"), by_sk.get(f"MEMBER#{user_id}")

    async def get_group_as_member(self, group_id: str, user_id: str) -> tuple[Group, Member]:
        meta, membership = await self._meta_and_membership(group_id, user_id)
        if meta is None or membership is None:
            raise group_not_found()
        return _group(meta), _member(membership)

    async def get_group_with_member_ids(self, group_id: str, user_id: str) -> tuple[Group, Member, list[str]]:
        items = await self._partition(group_id)
        meta = next((item for item in items if item["sk"] == "META"), None)
        memberships = [item for item in items if item["sk"].startswith("MEMBER#")]
        mine = next((m for m in memberships if m["user_id"] == user_id), None)
        if meta is None or mine is None:
            raise group_not_found()
        memberships.sort(key=_member_order)
        return _group(meta), _member(mine), [m["user_id"] for m in memberships]

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

    async def list_members(self, group_id: str) -> list[Member]:
        memberships = await self._partition(group_id, "MEMBER#")
        if not memberships:
            return []
        profiles = {
            item["id"]: item
            for item in await self._batch_get(
                self._users, [_key(f"USER#{m['user_id']}") for m in memberships]
            )
        }
        memberships.sort(key=_member_order)
        return [_member(m, profiles[m["user_id"]]) for m in memberships if m["user_id"] in profiles]

    async def list_user_groups(
        self, user_id: str, *, limit: int, cursor: str | None = None
    ) -> Page[GroupMembership]:
        params: dict[str, Any] = {
            "TableName": self._groups,
            "IndexName": USER_GROUPS_INDEX,
            "KeyConditionExpression": "gsi1pk = :user",
            "ExpressionAttributeValues": _attrs({":user": f"USER#{user_id}"}),
            "ScanIndexForward": False,
            # One extra item tells whether another page exists, as the SQLite backend does.
            "Limit": limit + 1,
        }
        if cursor is not None:
            joined_at, group_id = timed_pair("user_groups", cursor)
            params["ExclusiveStartKey"] = _attrs(
                {
                    "gsi1pk": f"USER#{user_id}",
                    "gsi1sk": f"{joined_at}#{group_id}",
                    "pk": f"GROUP#{group_id}",
                    "sk": f"MEMBER#{user_id}",
                }
            )
        response = await self._call("query", **params)
        memberships = [_plain(item) for item in response.get("Items", [])]
        page = memberships[:limit]
        more = len(memberships) > limit or "LastEvaluatedKey" in response
        metas = {
            item["id"]: item
            for item in await self._batch_get(
                self._groups, [_key(f"GROUP#{m['group_id']}", "META") for m in page]
            )
        }
        items = [
            GroupMembership(
                group=_group(metas[m["group_id"]]),
                role=m["role"],
                joined_at=from_text(m["joined_at"]),
            )
            for m in page
            if m["group_id"] in metas
        ]
        next_cursor = None
        if more and page:
            last = page[-1]
            next_cursor = encode_cursor("user_groups", [last["joined_at"], last["group_id"]])
        return Page(items=items, next_cursor=next_cursor)

    async def update_group(
        self, group_id: str, *, expected_version: int, changes: dict[str, Any], updated_at: datetime
    ) -> Group:
        fields = [column for column in _EDITABLE if column in changes]
        names = {"#version": "version", "#updated": "updated_at"}
        values: dict[str, Any] = {
            ":expected": expected_version,
            ":one": 1,
            ":updated": to_text(updated_at),
        }
        assignments = []
        for number, column in enumerate(fields):
            names[f"#f{number}"] = column
            values[f":f{number}"] = changes[column]
            assignments.append(f"#f{number} = :f{number}")
        assignments += ["#version = #version + :one", "#updated = :updated"]
        try:
            response = await self._call(
                "update_item",
                TableName=self._groups,
                Key=_key(f"GROUP#{group_id}", "META"),
                UpdateExpression="SET " + ", ".join(assignments),
                ConditionExpression="attribute_exists(pk) AND #version = :expected",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=_attrs(values),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except _ConditionFailed as exc:
            if exc.item is None:
                raise group_not_found() from None
            current = int(exc.item["version"])
            raise PreconditionFailed(
                f"group was changed meanwhile: you sent version {expected_version}, it is now {current}",
                details={"current_version": current},
            ) from None
        return _group(_plain(response["Attributes"]))

    async def delete_group(self, group_id: str) -> None:
        for attempt in range(_ATTEMPTS):
            items = await self._partition(group_id)
            meta = next((item for item in items if item["sk"] == "META"), None)
            members = [item for item in items if item["sk"].startswith("MEMBER#")]
            if any(_unsettled_balances(m) for m in members):
                raise unsettled("the group still has unsettled balances; settle up first")
            if meta is None:
                raise group_not_found()
            # The count pins the roster: a membership added since the Query fails the META
            # condition, and one removed fails its own; each membership's condition also pins its
            # balances at the zeros just read, so an expense written in between cancels the
            # transaction too. Either way, read again and retry.
            actions: list[dict[str, Any]] = [
                {
                    "Delete": {
                        "TableName": self._groups,
                        "Key": _key(f"GROUP#{group_id}", "META"),
                        "ConditionExpression": "member_count = :count",
                        "ExpressionAttributeValues": _attrs({":count": int(meta["member_count"])}),
                    }
                }
            ]
            actions += [
                {
                    "Delete": {
                        "TableName": self._groups,
                        "Key": _key(f"GROUP#{group_id}", m["sk"]),
                        **_settled_condition(m),
                    }
                }
                for m in members
            ]
            try:
                await self._transact(actions)
                return
            except _Cancelled:
                await _backoff(attempt)
        raise Unavailable("group kept changing while being deleted; try again")

    async def add_member(
        self,
        group_id: str,
        user_id: str,
        joined_at: datetime,
        activity: ActivityEntry | None = None,
    ) -> tuple[Member, bool]:
        joined = to_text(joined_at)
        meta_values: dict[str, Any] = {":one": 1, ":max": MAX_GROUP_MEMBERS}
        meta_update = "SET member_count = member_count + :one"
        if activity is not None:
            meta_update += ", last_activity_at = :at"
            meta_values[":at"] = to_text(activity.at)
        actions: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._groups,
                    "Key": _key(f"GROUP#{group_id}", "META"),
                    "UpdateExpression": meta_update,
                    "ConditionExpression": "attribute_exists(pk) AND member_count < :max",
                    "ExpressionAttributeValues": _attrs(meta_values),
                }
            },
            {
                "Put": {
                    "TableName": self._groups,
                    "Item": _membership_item(group_id, user_id, "member", joined),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "ConditionCheck": {
                    "TableName": self._users,
                    "Key": _key(f"USER#{user_id}"),
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
        ]
        if activity is not None:
            # Cancelled with the rest when the user already belongs: nothing is logged then.
            actions.append(self._log(activity))
        for attempt in range(_ATTEMPTS):
            try:
                await self._transact(actions)
                return Member(user_id=user_id, role="member", joined_at=joined_at), True
            except _Cancelled as exc:
                meta, membership = await self._meta_and_membership(group_id, user_id)
                if meta is None:
                    raise group_not_found() from None
                if membership is not None:
                    return _member(membership), False
                if int(meta["member_count"]) >= MAX_GROUP_MEMBERS:
                    raise Conflict(
                        f"group is full: at most {MAX_GROUP_MEMBERS} members", code="group_full"
                    ) from None
                if exc.failed(2):
                    raise user_not_found() from None
            # The state that failed the transaction is gone (say, a member left); try again.
            await _backoff(attempt)
        raise Unavailable("group kept changing while adding a member; try again")

    async def remove_member(self, group_id: str, user_id: str, activity: ActivityEntry | None = None) -> None:
        for attempt in range(_ATTEMPTS):
            membership = await self._get(self._groups, _key(f"GROUP#{group_id}", f"MEMBER#{user_id}"))
            if membership is None:
                raise NotFound("member not found")
            if _unsettled_balances(membership):
                raise unsettled("this member still has an unsettled balance; settle up first")
            meta_values: dict[str, Any] = {":one": 1}
            meta_update = "SET member_count = member_count - :one"
            if activity is not None:
                meta_update += ", last_activity_at = :at"
                meta_values[":at"] = to_text(activity.at)
            actions: list[dict[str, Any]] = [
                {
                    "Delete": {
                        "TableName": self._groups,
                        "Key": _key(f"GROUP#{group_id}", f"MEMBER#{user_id}"),
                        # Race-free: fails if an expense moved the balances since the read.
                        **_settled_condition(membership),
                    }
                },
                {
                    "Update": {
                        "TableName": self._groups,
                        "Key": _key(f"GROUP#{group_id}", "META"),
                        "UpdateExpression": meta_update,
                        "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeValues": _attrs(meta_values),
                    }
                },
            ]
            if activity is not None:
                actions.append(self._log(activity))
            try:
                await self._transact(actions)
                return
            except _Cancelled as exc:
                if exc.failed(1):
                    raise group_not_found() from None
            # The membership changed since it was read (or left meanwhile); judge it again.
            await _backoff(attempt)
        raise Unavailable("membership kept changing while being removed; try again")

    # invites

    async def create_invite(self, invite: Invite) -> None:
        item = {
            "pk": f"INVITE#{invite.token_hash}",
            "sk": "INVITE",
            "token_hash": invite.token_hash,
            "group_id": invite.group_id,
            "created_by": invite.created_by,
            "created_at": to_text(invite.created_at),
            "expires_at": to_text(invite.expires_at),
            TTL_ATTRIBUTE: _ttl(invite.expires_at),
        }
        try:
            await self._transact(
                [
                    {
                        "ConditionCheck": {
                            "TableName": self._groups,
                            "Key": _key(f"GROUP#{invite.group_id}", "META"),
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._groups,
                            "Item": _attrs(item),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        except _Cancelled as exc:
            if exc.failed(0):
                raise group_not_found() from None
            raise Conflict("invite already exists", code="invite_exists") from None

    async def get_invite(self, token_hash: str) -> Invite:
        item = await self._get(self._groups, _key(f"INVITE#{token_hash}", "INVITE"))
        # Invites live outside their group's partition, so delete_group leaves them to TTL; an
        # invite to a deleted group is as gone as SQLite's cascaded one.
        if item is None or await self._get(self._groups, _key(f"GROUP#{item['group_id']}", "META")) is None:
            raise NotFound("invite not found")
        return Invite(
            token_hash=item["token_hash"],
            group_id=item["group_id"],
            created_by=item["created_by"],
            created_at=from_text(item["created_at"]),
            expires_at=from_text(item["expires_at"]),
        )

    # activity (written inside other methods' transactions)

    def _log(self, entry: ActivityEntry) -> dict[str, Any]:
        """The Put that records `entry` as one action of the change's transaction."""
        at = to_text(entry.at)
        return {
            "Put": {
                "TableName": self._expenses,
                "Item": _attrs(
                    {
                        "pk": f"GROUP#{entry.group_id}",
                        "sk": f"ACT#{at}#{entry.id}",
                        "id": entry.id,
                        "group_id": entry.group_id,
                        "at": at,
                        "actor_id": entry.actor_id,
                        "action": entry.action,
                        "subject_id": entry.subject_id,
                        "details": _json(entry.details),
                    }
                ),
            }
        }

    # idempotency

    async def claim_idempotency_key(
        self, user_id: str, key: str, fingerprint: str, now: datetime
    ) -> StoredReply | None:
        pk = f"IDEM#{user_id}#{key}"
        expires = now + IDEMPOTENCY_RETENTION
        item = {
            "pk": pk,
            "user_id": user_id,
            "key": key,
            "fingerprint": fingerprint,
            "state": "pending",
            "claimed_at": to_text(now),
            "expires_at": to_text(expires),
            TTL_ATTRIBUTE: _ttl(expires),
        }
        for _ in range(_ATTEMPTS):
            try:
                # Free, past its retention (TTL deletes lazily), or an abandoned claim of the
                # same request whose lease ran out.
                await self._call(
                    "put_item",
                    TableName=self._users,
                    Item=_attrs(item),
                    ConditionExpression=(
                        "attribute_not_exists(pk) OR expires_at < :now OR "
                        "(#state = :pending AND claimed_at <= :cutoff AND fingerprint = :fp)"
                    ),
                    ExpressionAttributeNames={"#state": "state"},
                    ExpressionAttributeValues=_attrs(
                        {
                            ":now": to_text(now),
                            ":pending": "pending",
                            ":cutoff": to_text(now - IDEMPOTENCY_LEASE),
                            ":fp": fingerprint,
                        }
                    ),
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
                return None
            except _ConditionFailed as exc:
                stored = exc.item or await self._get(self._users, _key(pk))
            if stored is None:
                continue  # released or expired in between: claim again
            if stored["fingerprint"] != fingerprint:
                raise key_reused()
            if stored["state"] == "done":
                return StoredReply(status=int(stored["status"]), body=stored["body"])
            raise in_progress()
        raise Unavailable("idempotency key kept changing while being claimed; try again")

    async def release_idempotency_key(self, user_id: str, key: str) -> None:
        try:
            await self._call(
                "delete_item",
                TableName=self._users,
                Key=_key(f"IDEM#{user_id}#{key}"),
                ConditionExpression="#state = :pending",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=_attrs({":pending": "pending"}),
            )
        except _ConditionFailed:
            pass  # completed (its reply stays) or already gone

    def _record_reply(self, reply: IdempotentReply) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._users,
                "Key": _key(f"IDEM#{reply.user_id}#{reply.key}"),
                "UpdateExpression": "SET #state = :done, #status = :status, body = :body",
                "ConditionExpression": "#state = :pending",
                "ExpressionAttributeNames": {"#state": "state", "#status": "status"},
                "ExpressionAttributeValues": _attrs(
                    {
                        ":done": "done",
                        ":pending": "pending",
                        ":status": reply.status,
                        ":body": reply.body,
                    }
                ),
            }
        }

    # the ledger write: record + balances + spending + activity (+ reply), one transaction

    async def _ledger_write(
        self,
        group_id: str,
        record: dict[str, Any],
        *,
        what: str,
        expected_version: int | None,
        deltas: BalanceDeltas,
        members: list[str],
        activity: ActivityEntry,
        reply: IdempotentReply | None = None,
        spending: SpendingDeltas | None = None,
    ) -> None:
        """Run `record` (the action on the expense or settlement, first in the transaction) with an
        Update per member whose balance or spending moves and a ConditionCheck per other member in
        `members`, each conditioned on the membership existing, then the Update of META's
        `last_activity_at`, the activity Put and the reply Update.

        At most 1 + 50 + 1 + 1 + 1 actions: more than 50 distinct users cannot all be members."""
        moves: dict[str, dict[str, int]] = {}
        for (user_id, currency), delta in sorted(deltas.items()):
            moves.setdefault(user_id, {})[currency] = delta  # a zero records the currency
        spent: dict[str, dict[str, int]] = {}
        for (user_id, month, category, currency), delta in sorted((spending or {}).items()):
            if delta:
                spent.setdefault(user_id, {})[_spending_key(month, category, currency)] = delta
        moving = sorted(moves.keys() | spent.keys())
        users = moving + sorted(set(members) - set(moving))
        if len(users) > MAX_GROUP_MEMBERS:
            current = {m["user_id"] for m in await self._partition(group_id, "MEMBER#")}
            raise not_a_member([u for u in users if u not in current])
        actions = [record]
        actions += [
            self._move(group_id, user_id, moves.get(user_id), spent.get(user_id)) for user_id in users
        ]
        meta_index = len(actions)
        actions.append(self._touch(group_id, activity))
        actions.append(self._log(activity))
        if reply is not None:
            actions.append(self._record_reply(reply))
        try:
            await self._transact(actions, attempts=_LEDGER_ATTEMPTS)
        except _Cancelled as exc:
            if exc.failed(0):
                if expected_version is None:
                    raise Conflict(f"{what} already exists", code=f"{what}_exists") from None
                # ReturnValuesOnConditionCheckFailure=ALL_OLD: a failed record action brings the
                # stored item back, or nothing when there is none.
                old = exc.old_item(0)
                if old is None:
                    raise record_not_found(what) from None
                current_version = int(old["version"])
                raise PreconditionFailed(
                    f"it was changed meanwhile: you sent version {expected_version}, "
                    f"it is now {current_version}",
                    details={"current_version": current_version},
                ) from None
            if exc.failed(meta_index):
                raise group_not_found() from None
            if reply is not None and exc.failed(len(actions) - 1):
                raise in_progress() from None
            outsiders = [u for i, u in enumerate(users, start=1) if exc.failed(i)]
            if outsiders:
                raise not_a_member(outsiders) from None
            raise Unavailable(f"DynamoDB transaction cancelled: {exc.reasons}") from None

    def _touch(self, group_id: str, activity: ActivityEntry) -> dict[str, Any]:
        """The Update recording on META when the group's latest activity happened (conditioned on
        the group existing, so a write to a deleted group cannot bring back a bare META)."""
        return {
            "Update": {
                "TableName": self._groups,
                "Key": _key(f"GROUP#{group_id}", "META"),
                "UpdateExpression": "SET last_activity_at = :at",
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeValues": _attrs({":at": to_text(activity.at)}),
            }
        }

    def _move(
        self,
        group_id: str,
        user_id: str,
        moves: dict[str, int] | None,
        spent: dict[str, int] | None = None,
    ) -> dict[str, Any]:
        """The action on one membership: move its balances (all currencies) and its spending (all
        month|category|currency entries) in one Update, or only check it exists. Either way the
        condition is the membership check."""
        key = _key(f"GROUP#{group_id}", f"MEMBER#{user_id}")
        if not moves and not spent:
            return {
                "ConditionCheck": {
                    "TableName": self._groups,
                    "Key": key,
                    "ConditionExpression": "attribute_exists(pk)",
                }
            }
        names: dict[str, str] = {}
        values: dict[str, Any] = {":zero": 0}
        assignments = []
        if moves:
            names["#b"] = "balances"
            for number, (currency, delta) in enumerate(sorted(moves.items())):
                names[f"#c{number}"] = currency
                values[f":d{number}"] = delta
                assignments.append(f"#b.#c{number} = if_not_exists(#b.#c{number}, :zero) + :d{number}")
        if spent:
            # The map exists from the moment the membership does (_membership_item).
            names["#s"] = "spending"
            for number, (entry, delta) in enumerate(sorted(spent.items())):
                names[f"#k{number}"] = entry
                values[f":s{number}"] = delta
                assignments.append(f"#s.#k{number} = if_not_exists(#s.#k{number}, :zero) + :s{number}")
        return {
            "Update": {
                "TableName": self._groups,
                "Key": key,
                "UpdateExpression": "SET " + ", ".join(assignments),
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": _attrs(values),
            }
        }

    def _versioned(
        self,
        kind: str,
        table: str,
        group_id: str,
        sk: str,
        expected: int,
        item: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """Put `item` (or Delete) the record at `sk` if it is still at version `expected`."""
        action: dict[str, Any] = {
            "TableName": table,
            "ConditionExpression": "#version = :expected",
            "ExpressionAttributeNames": {"#version": "version"},
            "ExpressionAttributeValues": _attrs({":expected": expected}),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if item is None:
            action["Key"] = _key(f"GROUP#{group_id}", sk)
        else:
            action["Item"] = _attrs(item)
        return {kind: action}

    # expenses

    async def create_expense(
        self,
        expense: Expense,
        *,
        deltas: BalanceDeltas,
        activity: ActivityEntry,
        reply: IdempotentReply | None = None,
        spending: SpendingDeltas | None = None,
    ) -> None:
        record = {
            "Put": {
                "TableName": self._expenses,
                "Item": _attrs(_expense_item(expense)),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        await self._ledger_write(
            expense.group_id,
            record,
            what="expense",
            expected_version=None,
            deltas=deltas,
            members=expense.participants,
            activity=activity,
            reply=reply,
            spending=spending,
        )

    async def get_expense(self, group_id: str, expense_id: str) -> Expense:
        item = await self._get(self._expenses, _key(f"GROUP#{group_id}", f"EXP#{expense_id}"))
        if item is None:
            raise record_not_found("expense")
        return _expense(item)

    async def list_expenses(
        self,
        group_id: str,
        *,
        limit: int,
        cursor: str | None = None,
        filters: ExpenseFilter = ExpenseFilter(),
    ) -> Page[Expense]:
        conditions: list[str] = []
        values: dict[str, Any] = {}
        if filters.category is not None:
            conditions.append("category = :category")
            values[":category"] = filters.category
        if filters.member is not None:
            conditions.append("contains(participants, :member)")
            values[":member"] = filters.member
        items, next_cursor = await self._dated_page(
            self._expenses,
            group_id,
            "expenses",
            "EXP#",
            limit=limit,
            cursor=cursor,
            date_from=filters.date_from,
            date_to=filters.date_to,
            filter_expression=" AND ".join(conditions) or None,
            filter_values=values,
        )
        return Page(items=[_expense(item) for item in items], next_cursor=next_cursor)

    async def update_expense(
        self,
        expense: Expense,
        *,
        expected_version: int,
        deltas: BalanceDeltas,
        activity: ActivityEntry,
        spending: SpendingDeltas | None = None,
    ) -> None:
        record = self._versioned(
            "Put",
            self._expenses,
            expense.group_id,
            f"EXP#{expense.id}",
            expected_version,
            _expense_item(expense),
        )
        await self._ledger_write(
            expense.group_id,
            record,
            what="expense",
            expected_version=expected_version,
            deltas=deltas,
            members=expense.participants,
            activity=activity,
            spending=spending,
        )

    async def delete_expense(
        self,
        group_id: str,
        expense_id: str,
        *,
        expected_version: int,
        deltas: BalanceDeltas,
        activity: ActivityEntry,
        spending: SpendingDeltas | None = None,
    ) -> None:
        record = self._versioned(
            "Delete", self._expenses, group_id, f"EXP#{expense_id}", expected_version, None
        )
        await self._ledger_write(
            group_id,
            record,
            what="expense",
            expected_version=expected_version,
            deltas=deltas,
            members=[],
            activity=activity,
            spending=spending,
        )

    # settlements

    async def create_settlement(
        self,
        settlement: Settlement,
        *,
        deltas: BalanceDeltas,
        activity: ActivityEntry,
        reply: IdempotentReply | None = None,
    ) -> None:
        record = {
            "Put": {
                "TableName": self._transactions,
                "Item": _attrs(_settlement_item(settlement)),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        await self._ledger_write(
            settlement.group_id,
            record,
            what="transaction",
            expected_version=None,
            deltas=deltas,
            members=[settlement.from_user, settlement.to_user],
            activity=activity,
            reply=reply,
        )

    async def get_settlement(self, group_id: str, settlement_id: str) -> Settlement:
        item = await self._get(self._transactions, _key(f"GROUP#{group_id}", f"TXN#{settlement_id}"))
        if item is None:
            raise record_not_found("transaction")
        return _settlement(item)

    async def list_settlements(
        self, group_id: str, *, limit: int, cursor: str | None = None
    ) -> Page[Settlement]:
        items, next_cursor = await self._dated_page(
            self._transactions, group_id, "settlements", "TXN#", limit=limit, cursor=cursor
        )
        return Page(items=[_settlement(item) for item in items], next_cursor=next_cursor)

    async def delete_settlement(
        self,
        group_id: str,
        settlement_id: str,
        *,
        expected_version: int,
        deltas: BalanceDeltas,
        activity: ActivityEntry,
    ) -> None:
        record = self._versioned(
            "Delete", self._transactions, group_id, f"TXN#{settlement_id}", expected_version, None
        )
        await self._ledger_write(
            group_id,
            record,
            what="transaction",
            expected_version=expected_version,
            deltas=deltas,
            members=[],
            activity=activity,
        )

    async def _dated_page(
        self,
        table: str,
        group_id: str,
        kind: str,
        sk_prefix: str,
        *,
        limit: int,
        cursor: str | None,
        date_from: str | None = None,
        date_to: str | None = None,
        filter_expression: str | None = None,
        filter_values: dict[str, Any] | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One Query of the `by_date` LSI, newest first (`lsi1sk = <date>#<created_at>#<id>`).

        Reads limit + 1 items, so an unfiltered listing knows whether another page exists; with a
        filter a page may come back short (even empty) while the cursor is set."""
        low = date_from
        high = None if date_to is None else f"{date_to}~"  # '~' sorts after '#<created_at>…'
        values: dict[str, Any] = {":pk": f"GROUP#{group_id}", **(filter_values or {})}
        if low is not None and high is not None:
            condition = "pk = :pk AND lsi1sk BETWEEN :low AND :high"
            values.update({":low": low, ":high": high})
        elif low is not None:
            condition = "pk = :pk AND lsi1sk >= :low"
            values[":low"] = low
        elif high is not None:
            condition = "pk = :pk AND lsi1sk <= :high"
            values[":high"] = high
        else:
            condition = "pk = :pk"
        params: dict[str, Any] = {
            "TableName": table,
            "IndexName": BY_DATE_INDEX,
            "KeyConditionExpression": condition,
            "ScanIndexForward": False,
            "ConsistentRead": True,
            "Limit": limit + 1,
        }
        if filter_expression:
            params["FilterExpression"] = filter_expression
        if cursor is not None:
            date, created_at, record_id = dated_position(decode_cursor(kind, cursor))
            position = f"{date}#{created_at}#{record_id}"
            if low is not None and position <= low:
                return [], None  # nothing in the range lies before the cursor
            if high is None or position < high:
                # (A cursor beyond the range's top end means "from the top".)
                params["ExclusiveStartKey"] = _attrs(
                    {
                        "pk": f"GROUP#{group_id}",
                        "sk": f"{sk_prefix}{record_id}",
                        "lsi1sk": position,
                    }
                )
        params["ExpressionAttributeValues"] = _attrs(values)
        response = await self._call("query", **params)
        items = [_plain(item) for item in response.get("Items", [])]
        if len(items) > limit:
            last = items[limit - 1]
            return items[:limit], encode_cursor(kind, _dated_position(last))
        evaluated = response.get("LastEvaluatedKey")
        if evaluated is not None:
            return items, encode_cursor(kind, _dated_position(_plain(evaluated)))
        return items, None

    # balances and activity

    async def get_balances(self, group_id: str) -> list[Balance]:
        return _balances(await self._partition(group_id, "MEMBER#"))

    async def get_balances_for_member(self, group_id: str, user_id: str) -> list[Balance]:
        memberships = await self._partition(group_id, "MEMBER#")
        if not any(m["user_id"] == user_id for m in memberships):
            raise group_not_found()
        return _balances(memberships)

    async def list_activity(
        self, group_id: str, *, limit: int, cursor: str | None = None
    ) -> Page[ActivityEntry]:
        params: dict[str, Any] = {
            "TableName": self._expenses,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": _attrs({":pk": f"GROUP#{group_id}", ":prefix": "ACT#"}),
            "ScanIndexForward": False,
            "ConsistentRead": True,
            "Limit": limit + 1,
        }
        if cursor is not None:
            at, entry_id = cursor_pair(decode_cursor("activity", cursor))
            params["ExclusiveStartKey"] = _key(f"GROUP#{group_id}", f"ACT#{at}#{entry_id}")
        response = await self._call("query", **params)
        entries = [_activity(_plain(item)) for item in response.get("Items", [])]
        next_cursor = None
        if len(entries) > limit:
            last = entries[limit - 1]
            next_cursor = encode_cursor("activity", [to_text(last.at), last.id])
        return Page(items=entries[:limit], next_cursor=next_cursor)

    async def _latest_activity(self, group_id: str, limit: int) -> list[ActivityEntry]:
        response = await self._call(
            "query",
            TableName=self._expenses,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=_attrs({":pk": f"GROUP#{group_id}", ":prefix": "ACT#"}),
            ScanIndexForward=False,
            ConsistentRead=True,
            Limit=limit,
        )
        return [_activity(_plain(item)) for item in response.get("Items", [])]

    # chat

    async def create_chat_message(self, message: ChatMessage) -> None:
        created = to_text(message.created_at)
        item = {
            "pk": f"GROUP#{message.group_id}",
            "sk": f"MSG#{created}#{message.id}",
            "id": message.id,
            "group_id": message.group_id,
            "author_id": message.author_id,
            "text": message.text,
            "created_at": created,
        }
        try:
            await self._transact(
                [
                    {
                        "ConditionCheck": {
                            "TableName": self._groups,
                            "Key": _key(f"GROUP#{message.group_id}", "META"),
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    {
                        "ConditionCheck": {
                            "TableName": self._groups,
                            "Key": _key(f"GROUP#{message.group_id}", f"MEMBER#{message.author_id}"),
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._chats,
                            "Item": _attrs(item),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        except _Cancelled as exc:
            if exc.failed(0):
                raise group_not_found() from None
            if exc.failed(1):
                raise author_not_a_member(message.author_id) from None
            raise chat_message_exists() from None

    async def list_chat_messages(
        self, group_id: str, *, limit: int, cursor: str | None = None
    ) -> Page[ChatMessage]:
        params: dict[str, Any] = {
            "TableName": self._chats,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": _attrs({":pk": f"GROUP#{group_id}", ":prefix": "MSG#"}),
            "ScanIndexForward": False,
            "ConsistentRead": True,
            # One extra item tells whether another page exists, as the SQLite backend does.
            "Limit": limit + 1,
        }
        if cursor is not None:
            created_at, message_id = timed_pair("chat", cursor)
            params["ExclusiveStartKey"] = _key(f"GROUP#{group_id}", f"MSG#{created_at}#{message_id}")
        response = await self._call("query", **params)
        messages = [_chat_message(_plain(item)) for item in response.get("Items", [])]
        page = messages[:limit]
        # A page also stops at 1 MB (100 messages of 4000 characters can exceed it): then it is
        # short, and the cursor resumes after its last message.
        more = len(messages) > limit or "LastEvaluatedKey" in response
        next_cursor = None
        if more and page:
            last = page[-1]
            next_cursor = encode_cursor("chat", [to_text(last.created_at), last.id])
        return Page(items=page, next_cursor=next_cursor)

    async def _newest_memberships(self, user_id: str, limit: int) -> tuple[list[dict[str, Any]], bool]:
        """Up to `limit` of the user's membership items from GSI `by_user`, newest joined first,
        and whether there are more. Normally one Query (Limit limit + 1); a page cut short by
        DynamoDB's 1 MB cap is followed, at most _DASHBOARD_PAGES times."""
        params: dict[str, Any] = {
            "TableName": self._groups,
            "IndexName": USER_GROUPS_INDEX,
            "KeyConditionExpression": "gsi1pk = :user",
            "ExpressionAttributeValues": _attrs({":user": f"USER#{user_id}"}),
            "ScanIndexForward": False,
        }
        found: list[dict[str, Any]] = []
        for _ in range(_DASHBOARD_PAGES):
            params["Limit"] = limit + 1 - len(found)
            response = await self._call("query", **params)
            found += [_plain(item) for item in response.get("Items", [])]
            evaluated = response.get("LastEvaluatedKey")
            if len(found) > limit:
                return found[:limit], True
            if evaluated is None:
                return found, False
            params["ExclusiveStartKey"] = evaluated
        return found, True

    async def dashboard(self, user_id: str, *, group_limit: int, recent_limit: int) -> Dashboard:
        memberships, more_groups = await self._newest_memberships(user_id, max(group_limit, 0))
        metas = {
            item["id"]: item
            for item in await self._batch_get(
                self._groups, [_key(f"GROUP#{m['group_id']}", "META") for m in memberships]
            )
        }
        groups: list[GroupStanding] = []
        spending: dict[tuple[str, str, str], int] = {}
        for m in memberships:
            meta = metas.get(m["group_id"])
            if meta is None:  # deleted since the (eventually consistent) index was read
                continue
            groups.append(
                GroupStanding(
                    membership=GroupMembership(
                        group=_group(meta), role=m["role"], joined_at=from_text(m["joined_at"])
                    ),
                    balances={
                        currency: int(amount)
                        for currency, amount in sorted((m.get("balances") or {}).items())
                        if int(amount)
                    },
                )
            )
            for entry, amount in (m.get("spending") or {}).items():
                key = _spending_entry(entry)
                spending[key] = spending.get(key, 0) + int(amount)
        active = sorted(
            (
                (meta["id"], meta["last_activity_at"])
                for meta in (metas[m["group_id"]] for m in memberships if m["group_id"] in metas)
                if meta.get("last_activity_at")
            ),
            key=lambda group: (group[1], group[0]),
            reverse=True,
        )
        recent = (
            await latest_across_groups(active, recent_limit, self._latest_activity)
            if recent_limit > 0
            else []
        )
        return Dashboard(
            groups=groups,
            more_groups=more_groups,
            spending={key: amount for key, amount in sorted(spending.items()) if amount},
            recent=recent,
        )


# ledger items and helpers


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _expense_item(expense: Expense) -> dict[str, Any]:
    created = to_text(expense.created_at)
    return {
        "pk": f"GROUP#{expense.group_id}",
        "sk": f"EXP#{expense.id}",
        "lsi1sk": f"{expense.date}#{created}#{expense.id}",
        "id": expense.id,
        "group_id": expense.group_id,
        "description": expense.description,
        "amount": expense.amount,
        "currency": expense.currency,
        "date": expense.date,
        "category": expense.category,
        "paid": dict(expense.paid),
        "owed": dict(expense.owed),
        "participants": set(expense.participants),
        "split": _json(expense.split),
        "notes": expense.notes,
        "receipt_id": expense.receipt_id,
        "created_by": expense.created_by,
        "created_at": created,
        "updated_at": to_text(expense.updated_at),
        "version": expense.version,
    }


def _expense(a: dict[str, Any]) -> Expense:
    return Expense(
        id=a["id"],
        group_id=a["group_id"],
        description=a["description"],
        amount=int(a["amount"]),
        currency=a["currency"],
        date=a["date"],
        category=a["category"],
        paid={user: int(amount) for user, amount in a["paid"].items()},
        owed={user: int(amount) for user, amount in a["owed"].items()},
        split=json.loads(a["split"]),
        notes=a["notes"],
        receipt_id=a.get("receipt_id"),
        created_by=a["created_by"],
        created_at=from_text(a["created_at"]),
        updated_at=from_text(a["updated_at"]),
        version=int(a["version"]),
    )


def _settlement_item(settlement: Settlement) -> dict[str, Any]:
    created = to_text(settlement.created_at)
    return {
        "pk": f"GROUP#{settlement.group_id}",
        "sk": f"TXN#{settlement.id}",
        "lsi1sk": f"{settlement.date}#{created}#{settlement.id}",
        "id": settlement.id,
        "group_id": settlement.group_id,
        "from_user": settlement.from_user,
        "to_user": settlement.to_user,
        "amount": settlement.amount,
        "currency": settlement.currency,
        "date": settlement.date,
        "note": settlement.note,
        "created_by": settlement.created_by,
        "created_at": created,
        "version": settlement.version,
    }


def _settlement(a: dict[str, Any]) -> Settlement:
    return Settlement(
        id=a["id"],
        group_id=a["group_id"],
        from_user=a["from_user"],
        to_user=a["to_user"],
        amount=int(a["amount"]),
        currency=a["currency"],
        date=a["date"],
        note=a["note"],
        created_by=a["created_by"],
        created_at=from_text(a["created_at"]),
        version=int(a["version"]),
    )


def _activity(a: dict[str, Any]) -> ActivityEntry:
    return ActivityEntry(
        id=a["id"],
        group_id=a["group_id"],
        at=from_text(a["at"]),
        actor_id=a["actor_id"],
        action=a["action"],
        subject_id=a["subject_id"],
        details=json.loads(a["details"]),
    )


def _dated_position(item: dict[str, Any]) -> list[str]:
    """A by_date key (`lsi1sk = <date>#<created_at>#<id>`) as the SQLite backend's cursor
    position [date, created_at, id], so cursors mean the same on both."""
    date, created_at, record_id = item["lsi1sk"].split("#", 2)
    return [date, created_at, record_id]


def _chat_message(a: dict[str, Any]) -> ChatMessage:
    return ChatMessage(
        id=a["id"],
        group_id=a["group_id"],
        author_id=a["author_id"],
        text=a["text"],
        created_at=from_text(a["created_at"]),
    )


def _unsettled_balances(membership: dict[str, Any]) -> bool:
    return any(int(amount) != 0 for amount in (membership.get("balances") or {}).values())


def _settled_condition(membership: dict[str, Any]) -> dict[str, Any]:
    """ConditionExpression (and its names/values) that the membership still exists with exactly
    the all-zero balances it was read with: no currency added, none moved."""
    balances = membership.get("balances")
    if balances is None:  # a membership written before balances existed
        return {"ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(balances)"}
    names = {"#b": "balances"}
    values: dict[str, Any] = {":n": len(balances)}
    parts = ["attribute_exists(pk)", "size(#b) = :n"]
    for number, currency in enumerate(sorted(balances)):
        names[f"#c{number}"] = currency
        parts.append(f"#b.#c{number} = :zero")
        values[":zero"] = 0
    return {
        "ConditionExpression": " AND ".join(parts),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": _attrs(values),
    }


# tables


def _table_specs(settings: DynamoDBSettings) -> list[dict[str, Any]]:
    def string_keys(*names: str) -> list[dict[str, str]]:
        return [{"AttributeName": name, "AttributeType": "S"} for name in names]

    def key_schema(hash_key: str, range_key: str | None = None) -> list[dict[str, str]]:
        schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
        if range_key is not None:
            schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
        return schema

    def pk_sk(name: str) -> dict[str, Any]:
        return {
            "TableName": name,
            "AttributeDefinitions": string_keys("pk", "sk"),
            "KeySchema": key_schema("pk", "sk"),
        }

    groups = pk_sk(settings.groups_table)
    groups["AttributeDefinitions"] = string_keys("pk", "sk", "gsi1pk", "gsi1sk")
    groups["GlobalSecondaryIndexes"] = [
        {
            "IndexName": USER_GROUPS_INDEX,
            "KeySchema": key_schema("gsi1pk", "gsi1sk"),
            "Projection": {"ProjectionType": "ALL"},
        }
    ]
    users = {
        "TableName": settings.users_table,
        "AttributeDefinitions": string_keys("pk"),
        "KeySchema": key_schema("pk"),
    }

    def dated(name: str) -> dict[str, Any]:
        spec = pk_sk(name)
        spec["AttributeDefinitions"] = string_keys("pk", "sk", "lsi1sk")
        spec["LocalSecondaryIndexes"] = [
            {
                "IndexName": BY_DATE_INDEX,
                "KeySchema": key_schema("pk", "lsi1sk"),
                "Projection": {"ProjectionType": "ALL"},
            }
        ]
        return spec

    return [
        users,
        groups,
        dated(settings.expenses_table),
        dated(settings.transactions_table),
        pk_sk(settings.chats_table),
    ]


def _require_indexes(spec: dict[str, Any], table: dict[str, Any]) -> None:
    """Local secondary indexes can only be made with their table: an expenses or transactions
    table created by an earlier version (which stored nothing in it) has to be recreated."""
    wanted = {index["IndexName"] for index in spec.get("LocalSecondaryIndexes", [])}
    present = {index["IndexName"] for index in table.get("LocalSecondaryIndexes", [])}
    if wanted - present:
        raise Unavailable(
            f"table {spec['TableName']} lacks local secondary index(es) {sorted(wanted - present)}; "
            "it was created by an older version of this service and must be deleted and recreated"
        )


async def create_tables(settings: DynamoDBSettings) -> list[str]:
    """Create whichever tables are missing, wait until all are ACTIVE and make sure TTL is on
    where items carry `ttl`. Safe to run again, and concurrently; returns the tables it created."""
    created: list[str] = []
    async with _client(settings) as client:
        specs = _table_specs(settings)
        for spec in specs:
            name = spec["TableName"]
            try:
                described = await _call(client, "describe_table", TableName=name)
                _require_indexes(spec, described["Table"])
                continue
            except _ServiceError as exc:
                if exc.aws_code != "ResourceNotFoundException":
                    raise
            try:
                await _call(client, "create_table", BillingMode="PAY_PER_REQUEST", **spec)
                created.append(name)
            except _ServiceError as exc:
                if exc.aws_code != "ResourceInUseException":
                    raise
        for spec in specs:
            waiter = client.get_waiter("table_exists")
            try:
                await waiter.wait(TableName=spec["TableName"], WaiterConfig={"Delay": 1, "MaxAttempts": 300})
            except (BotoCoreError, ClientError) as exc:
                raise Unavailable(f"table {spec['TableName']} did not become active") from exc
        for name in (settings.users_table, settings.groups_table):
            described = await _call(client, "describe_time_to_live", TableName=name)
            status = described.get("TimeToLiveDescription", {}).get("TimeToLiveStatus")
            if status not in ("ENABLED", "ENABLING"):
                await _call(
                    client,
                    "update_time_to_live",
                    TableName=name,
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
                )
    return created
