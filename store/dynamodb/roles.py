"""Group roles: handing ownership over, and making members admins or plain members again. Each is
one TransactWriteItems whose conditions pin the state it was judged on: the META's owner and
version, and each membership item it rewrites (so a member who left meanwhile is not written back
into being)."""

from __future__ import annotations

from typing import Any

from domain import ActivityEntry, Group, Member, Unavailable
from domain.clock import to_text
from domain.models import Role
from store.dynamodb.changelog import Logged
from store.dynamodb.client import _ATTEMPTS, _backoff, _Cancelled
from store.dynamodb.connection import _Connection
from store.dynamodb.items import _attrs, _group, _key, _member
from store.errors import (
    group_not_found,
    handover_to_self,
    member_not_found,
    owner_changed,
    owner_role,
    role_not_settable,
)


class _Roles(_Connection):
    """The role part of the contract."""

    async def transfer_ownership(
        self, group_id: str, *, from_user: str, to_user: str, activity: ActivityEntry
    ) -> Group:
        if from_user == to_user:
            raise handover_to_self()
        at = to_text(activity.at)
        for attempt in range(_ATTEMPTS):
            meta, heir = await self._meta_and_membership(group_id, to_user)
            if meta is None:
                raise group_not_found()
            if meta["owner_id"] != from_user:
                raise owner_changed()
            if heir is None:
                raise member_not_found()
            version = int(meta["version"])
            actions: list[dict[str, Any]] = [
                {
                    "Update": {
                        "TableName": self._groups,
                        "Key": _key(f"GROUP#{group_id}", "META"),
                        "UpdateExpression": (
                            "SET owner_id = :to, #version = :next, updated_at = :at, last_activity_at = :at"
                        ),
                        # The owner and version just read: a concurrent handover (or any other
                        # change of the group) cancels this one, to be judged again.
                        "ConditionExpression": "owner_id = :from AND #version = :version",
                        "ExpressionAttributeNames": {"#version": "version"},
                        "ExpressionAttributeValues": _attrs(
                            {
                                ":to": to_user,
                                ":from": from_user,
                                ":version": version,
                                ":next": version + 1,
                                ":at": at,
                            }
                        ),
                    }
                },
                {
                    "Update": {
                        "TableName": self._groups,
                        "Key": _key(f"GROUP#{group_id}", f"MEMBER#{to_user}"),
                        "UpdateExpression": "SET #role = :owner",
                        # The same membership: not left (and maybe rejoined) since the read.
                        "ConditionExpression": "joined_at = :joined",
                        "ExpressionAttributeNames": {"#role": "role"},
                        "ExpressionAttributeValues": _attrs(
                            {":owner": "owner", ":joined": heir["joined_at"]}
                        ),
                    }
                },
                {
                    "Update": {
                        "TableName": self._groups,
                        "Key": _key(f"GROUP#{group_id}", f"MEMBER#{from_user}"),
                        "UpdateExpression": "SET #role = :admin",
                        "ConditionExpression": "#role = :owner",
                        "ExpressionAttributeNames": {"#role": "role"},
                        "ExpressionAttributeValues": _attrs({":admin": "admin", ":owner": "owner"}),
                    }
                },
                self._log(activity),
            ]
            logged = [
                Logged("group", group_id, "upsert", version + 1),
                Logged("member", to_user, "upsert"),
                Logged("member", from_user, "upsert"),
            ]
            try:
                await self._transact_logged(group_id, actions, logged, known=meta)
            except _Cancelled:
                # Whatever changed (the owner, the heir's membership, the version), read again.
                await _backoff(attempt)
                continue
            return _group({**meta, "owner_id": to_user, "version": version + 1, "updated_at": at})
        raise Unavailable("group kept changing while handing it over; try again")

    async def set_member_role(
        self, group_id: str, user_id: str, role: Role, activity: ActivityEntry
    ) -> Member:
        if role == "owner":
            raise role_not_settable()
        for attempt in range(_ATTEMPTS):
            meta, membership = await self._meta_and_membership(group_id, user_id)
            if meta is None:
                raise group_not_found()
            if membership is None:
                raise member_not_found()
            if membership["role"] == "owner":
                raise owner_role()
            actions: list[dict[str, Any]] = [
                {
                    "Update": {
                        "TableName": self._groups,
                        "Key": _key(f"GROUP#{group_id}", f"MEMBER#{user_id}"),
                        "UpdateExpression": "SET #role = :role",
                        # The membership just read, and still not the owner's (a handover to
                        # them meanwhile cancels this).
                        "ConditionExpression": "joined_at = :joined AND #role <> :owner",
                        "ExpressionAttributeNames": {"#role": "role"},
                        "ExpressionAttributeValues": _attrs(
                            {":role": role, ":joined": membership["joined_at"], ":owner": "owner"}
                        ),
                    }
                },
                {
                    "Update": {
                        "TableName": self._groups,
                        "Key": _key(f"GROUP#{group_id}", "META"),
                        "UpdateExpression": "SET last_activity_at = :at",
                        "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeValues": _attrs({":at": to_text(activity.at)}),
                    }
                },
                self._log(activity),
            ]
            try:
                await self._transact_logged(
                    group_id, actions, [Logged("member", user_id, "upsert")], known=meta
                )
            except _Cancelled:
                await _backoff(attempt)
                continue
            profile = await self._get(self._users, _key(f"USER#{user_id}"))
            return _member({**membership, "role": role}, profile)
        raise Unavailable("membership kept changing while setting its role; try again")
