"""The cloud backend: DynamoDB through aioboto3's low-level client.

Key design (docs/dynamodb.md has the full picture):

* users table, key `pk`: `USER#<id>` profile, `EMAIL#<email>` pointer to the user id (written in
  the same transaction as the profile, so emails are unique), `REVOKED#<jti>` with a `ttl`.
* groups table, keys `pk` + `sk`: `GROUP#<gid>`/`META` group, `GROUP#<gid>`/`MEMBER#<uid>`
  membership (indexed by GSI `by_user` on `gsi1pk = USER#<uid>`, `gsi1sk = <joined_at>#<gid>`),
  `INVITE#<token_hash>`/`INVITE` invite with a `ttl`.

Every method is a fixed number of round trips: no Scan, multi-item writes are one
TransactWriteItems, and a group's partition is bounded by MAX_GROUP_MEMBERS. Reads of base tables
are strongly consistent; the `by_user` index (list_user_groups) is eventually consistent.
"""
from __future__ import annotations

import asyncio
import math
import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aioboto3
from aiobotocore.config import AioConfig
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from domain import (
    BadRequest,
    Conflict,
    Group,
    GroupMembership,
    Invite,
    Member,
    NotFound,
    Page,
    PreconditionFailed,
    Unavailable,
    User,
)
from domain.models import MAX_GROUP_MEMBERS
from store.base import NewGroup, Store, TokenStanding
from store.cursor import decode_cursor, encode_cursor
from store.timefmt import from_text, to_text, utc_now

USER_GROUPS_INDEX = "by_user"
TTL_ATTRIBUTE = "ttl"
_EDITABLE = ("name", "description", "default_currency")
_BATCH_GET_LIMIT = 100
_ATTEMPTS = 5
_CONFIG = AioConfig(
    connect_timeout=5, read_timeout=10, retries={"max_attempts": 3, "mode": "standard"}
)

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


@dataclass(frozen=True, slots=True)
class DynamoDBSettings:
    region: str
    endpoint_url: str | None
    users_table: str
    groups_table: str
    expenses_table: str
    transactions_table: str
    chats_table: str


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
    """A transaction failed a condition; `reasons` holds one cancellation code per action."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(f"transaction cancelled: {reasons}")
        self.reasons = reasons

    def failed(self, index: int) -> bool:
        return index < len(self.reasons) and self.reasons[index] == "ConditionalCheckFailed"


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
        }
    )


def _member(a: dict[str, Any], profile: dict[str, Any] | None = None) -> Member:
    return Member(
        user_id=a["user_id"],
        role=a["role"],
        joined_at=from_text(a["joined_at"]),
        email=profile["email"] if profile else "",
        name=profile["name"] if profile else "",
        picture=profile.get("picture") if profile else None,
    )


def _cancellation_reasons(exc: ClientError) -> list[str]:
    reasons = exc.response.get("CancellationReasons", [])
    return [str(reason.get("Code", "None")) for reason in reasons]


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
            raise _Cancelled(_cancellation_reasons(exc)) from None
        raise _ServiceError(f"DynamoDB {operation} failed: {code or exc}", code) from exc
    except BotoCoreError as exc:
        raise _ServiceError(f"DynamoDB {operation} failed: {exc}", "") from exc


async def _backoff(attempt: int) -> None:
    await asyncio.sleep(random.uniform(0, 0.02 * 2**attempt))


class DynamoDBStore(Store):
    def __init__(self, client: Any, settings: DynamoDBSettings) -> None:
        self._client = client
        self._users = settings.users_table
        self._groups = settings.groups_table

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

    async def _transact(self, actions: list[dict[str, Any]]) -> None:
        """One TransactWriteItems, retried (bounded) only when it lost to a concurrent transaction.

        Raises _Cancelled when a condition failed, for the caller to interpret."""
        for attempt in range(_ATTEMPTS):
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
        user = User(
            id=uuid.uuid4().hex, email=email, name=name, picture=picture, created_at=utc_now()
        )
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
            raise NotFound("user not found")
        return _user(item)

    async def find_user_by_email(self, email: str) -> User | None:
        pointer = await self._get(self._users, _key(f"EMAIL#{email.strip().lower()}"))
        if pointer is None:
            return None
        item = await self._get(self._users, _key(f"USER#{pointer['user_id']}"))
        return None if item is None else _user(item)

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
            for item in await self._batch_get(
                self._users, [_key(f"USER#{user_id}"), _key(f"REVOKED#{jti}")]
            )
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
                raise NotFound("user not found") from None
            raise Conflict("group already exists", code="group_exists") from None
        return _group(meta)

    async def get_group(self, group_id: str) -> Group:
        item = await self._get(self._groups, _key(f"GROUP#{group_id}", "META"))
        if item is None:
            raise NotFound("group not found")
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
            raise NotFound("group not found")
        return _group(meta), _member(membership)

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
        memberships.sort(key=lambda m: (m["role"] != "owner", m["joined_at"], m["user_id"]))
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
            joined_at, group_id = _user_groups_position(cursor)
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
                raise NotFound("group not found") from None
            current = int(exc.item["version"])
            raise PreconditionFailed(
                f"group was changed meanwhile: you sent version {expected_version}, "
                f"it is now {current}",
                details={"current_version": current},
            ) from None
        return _group(_plain(response["Attributes"]))

    async def delete_group(self, group_id: str) -> None:
        for attempt in range(_ATTEMPTS):
            items = await self._partition(group_id)
            meta = next((item for item in items if item["sk"] == "META"), None)
            if meta is None:
                raise NotFound("group not found")
            members = [item for item in items if item["sk"].startswith("MEMBER#")]
            # The count pins the roster: a membership added since the Query fails the META
            # condition, and one removed fails its own; either way, read again and retry.
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
                        "ConditionExpression": "attribute_exists(pk)",
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
        self, group_id: str, user_id: str, joined_at: datetime
    ) -> tuple[Member, bool]:
        joined = to_text(joined_at)
        actions: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._groups,
                    "Key": _key(f"GROUP#{group_id}", "META"),
                    "UpdateExpression": "SET member_count = member_count + :one",
                    "ConditionExpression": "attribute_exists(pk) AND member_count < :max",
                    "ExpressionAttributeValues": _attrs({":one": 1, ":max": MAX_GROUP_MEMBERS}),
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
        for attempt in range(_ATTEMPTS):
            try:
                await self._transact(actions)
                return Member(user_id=user_id, role="member", joined_at=joined_at), True
            except _Cancelled as exc:
                meta, membership = await self._meta_and_membership(group_id, user_id)
                if meta is None:
                    raise NotFound("group not found") from None
                if membership is not None:
                    return _member(membership), False
                if int(meta["member_count"]) >= MAX_GROUP_MEMBERS:
                    raise Conflict(
                        f"group is full: at most {MAX_GROUP_MEMBERS} members", code="group_full"
                    ) from None
                if exc.failed(2):
                    raise NotFound("user not found") from None
            # The state that failed the transaction is gone (say, a member left); try again.
            await _backoff(attempt)
        raise Unavailable("group kept changing while adding a member; try again")

    async def remove_member(self, group_id: str, user_id: str) -> None:
        try:
            await self._transact(
                [
                    {
                        "Delete": {
                            "TableName": self._groups,
                            "Key": _key(f"GROUP#{group_id}", f"MEMBER#{user_id}"),
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._groups,
                            "Key": _key(f"GROUP#{group_id}", "META"),
                            "UpdateExpression": "SET member_count = member_count - :one",
                            "ConditionExpression": "attribute_exists(pk)",
                            "ExpressionAttributeValues": _attrs({":one": 1}),
                        }
                    },
                ]
            )
        except _Cancelled:
            raise NotFound("member not found") from None

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
                raise NotFound("group not found") from None
            raise Conflict("invite already exists", code="invite_exists") from None

    async def get_invite(self, token_hash: str) -> Invite:
        item = await self._get(self._groups, _key(f"INVITE#{token_hash}", "INVITE"))
        # Invites live outside their group's partition, so delete_group leaves them to TTL; an
        # invite to a deleted group is as gone as SQLite's cascaded one.
        if item is None or await self._get(
            self._groups, _key(f"GROUP#{item['group_id']}", "META")
        ) is None:
            raise NotFound("invite not found")
        return Invite(
            token_hash=item["token_hash"],
            group_id=item["group_id"],
            created_by=item["created_by"],
            created_at=from_text(item["created_at"]),
            expires_at=from_text(item["expires_at"]),
        )


def _user_groups_position(cursor: str) -> tuple[str, str]:
    position = decode_cursor("user_groups", cursor)
    invalid = BadRequest("cursor is not one this server issued", code="invalid_cursor")
    if not (
        isinstance(position, list)
        and len(position) == 2
        and all(isinstance(part, str) and part for part in position)
    ):
        raise invalid
    try:
        from_text(position[0])
    except ValueError:
        raise invalid from None
    return position[0], position[1]


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
    return [
        users,
        groups,
        pk_sk(settings.expenses_table),
        pk_sk(settings.transactions_table),
        pk_sk(settings.chats_table),
    ]


async def create_tables(settings: DynamoDBSettings) -> list[str]:
    """Create whichever tables are missing, wait until all are ACTIVE and make sure TTL is on
    where items carry `ttl`. Safe to run again, and concurrently; returns the tables it created."""
    created: list[str] = []
    async with _client(settings) as client:
        specs = _table_specs(settings)
        for spec in specs:
            name = spec["TableName"]
            try:
                await _call(client, "describe_table", TableName=name)
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
                await waiter.wait(
                    TableName=spec["TableName"], WaiterConfig={"Delay": 1, "MaxAttempts": 300}
                )
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
