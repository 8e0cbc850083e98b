"""Invites: a token pointer outside any group's partition (`INVITE#<token_hash>`), and the live
invite with its use count in the group's invites partition (`INVITES#<gid>`, beside the removal
records that keep a removed member out). An invite names the membership its maker made it in
(`maker_joined_at`), so it dies when that membership ends, without a write of its own."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain import ActivityEntry, Conflict, Invite, Member, Page, Unavailable
from domain.clock import from_text, to_text
from domain.models import MAX_GROUP_MEMBERS
from store.cursor import encode_cursor, invite_cursor
from store.dynamodb.changelog import Logged, UserLogged
from store.dynamodb.client import _ATTEMPTS, _backoff, _Cancelled
from store.dynamodb.connection import _Connection
from store.dynamodb.items import (
    DELETING,
    NOT_DELETING,
    _attrs,
    _key,
    _member,
    _membership_item,
    _person_put,
    _plain,
    _removal_key,
    _ttl,
)
from store.dynamodb.tables import TTL_ATTRIBUTE
from store.errors import (
    group_not_found,
    invite_expired,
    invite_not_found,
    invite_used_up,
    removed_from_group,
    user_not_found,
)

Found = dict[tuple[str, str], dict[str, Any]]
"""Items of a group's two partitions read together, by (`GROUP` or `INVITES`, sk)."""


def _pointer_key(token_hash: str) -> dict[str, Any]:
    return _key(f"INVITE#{token_hash}", "INVITE")


def _live_key(group_id: str, invite_id: str) -> dict[str, Any]:
    return _key(f"INVITES#{group_id}", f"INVITE#{invite_id}")


def _membership_key(group_id: str, user_id: str) -> dict[str, Any]:
    return _key(f"GROUP#{group_id}", f"MEMBER#{user_id}")


def _invite(a: dict[str, Any]) -> Invite:
    return Invite(
        token_hash=a["token_hash"],
        group_id=a["group_id"],
        created_by=a["created_by"],
        created_at=from_text(a["created_at"]),
        expires_at=from_text(a["expires_at"]),
        id=a["id"],
        max_uses=int(a["max_uses"]) if a.get("max_uses") is not None else None,
        uses=int(a["uses"]),
    )


def _alive(live: dict[str, Any] | None, found: Found) -> bool:
    """The invite exists and its maker is still in the membership they made it in."""
    if live is None:
        return False
    membership = found.get(("GROUP", f"MEMBER#{live['created_by']}"))
    return membership is not None and membership["joined_at"] == live["maker_joined_at"]


class _Invites(_Connection):
    """The invites part of the contract."""

    async def create_invite(self, invite: Invite) -> None:
        maker = await self._get(self._groups, _membership_key(invite.group_id, invite.created_by))
        if maker is None:
            raise group_not_found()
        common = {
            "token_hash": invite.token_hash,
            "group_id": invite.group_id,
            "created_by": invite.created_by,
            "created_at": to_text(invite.created_at),
            "expires_at": to_text(invite.expires_at),
            TTL_ATTRIBUTE: _ttl(invite.expires_at),
        }
        live: dict[str, Any] = {
            **common,
            "pk": f"INVITES#{invite.group_id}",
            "sk": f"INVITE#{invite.id}",
            "id": invite.id,
            "maker_joined_at": maker["joined_at"],
            "uses": 0,
        }
        if invite.max_uses is not None:
            live["max_uses"] = invite.max_uses
        pointer = {**common, "pk": f"INVITE#{invite.token_hash}", "sk": "INVITE", "invite_id": invite.id}
        try:
            await self._transact(
                [
                    {
                        # The membership read above is still the maker's (so the group exists too).
                        "ConditionCheck": {
                            "TableName": self._groups,
                            "Key": _membership_key(invite.group_id, invite.created_by),
                            "ConditionExpression": "joined_at = :joined",
                            "ExpressionAttributeValues": _attrs({":joined": maker["joined_at"]}),
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._groups,
                            "Item": _attrs(pointer),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._groups,
                            "Item": _attrs(live),
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
        pointer = await self._get(self._groups, _pointer_key(token_hash))
        # A pointer without `invite_id` was written before invites could be revoked: it has no
        # live item to count its uses, so it is as dead as a revoked one.
        if pointer is None or "invite_id" not in pointer:
            raise invite_not_found()
        return await self._live_invite(pointer["group_id"], pointer["invite_id"], pointer["created_by"])

    async def get_group_invite(self, group_id: str, invite_id: str) -> Invite:
        live = await self._get(self._groups, _live_key(group_id, invite_id))
        if live is None:
            raise invite_not_found()
        return await self._live_invite(group_id, invite_id, live["created_by"])

    async def _live_invite(self, group_id: str, invite_id: str, maker: str) -> Invite:
        """The invite if it and its maker's membership are both still there (one BatchGetItem;
        a membership exists only while its group does); NotFound otherwise."""
        found = await self._found(
            group_id, [_live_key(group_id, invite_id), _membership_key(group_id, maker)]
        )
        live = found.get(("INVITES", f"INVITE#{invite_id}"))
        if live is None or not _alive(live, found):
            raise invite_not_found()
        return _invite(live)

    async def _found(self, group_id: str, keys: list[dict[str, Any]]) -> Found:
        """The items of `keys` (all in `group_id`'s two partitions) that exist. Duplicates are
        asked once (BatchGetItem refuses them): the maker may be the one accepting."""
        unique = list({(k["pk"]["S"], k["sk"]["S"]): k for k in keys}.values())
        items = await self._batch_get(self._groups, unique)
        return {(item["pk"].split("#", 1)[0], item["sk"]): item for item in items}

    async def list_invites(
        self, group_id: str, *, now: datetime, limit: int, cursor: str | None = None
    ) -> Page[Invite]:
        params: dict[str, Any] = {
            "TableName": self._groups,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "FilterExpression": "expires_at > :now AND (attribute_not_exists(max_uses) OR uses < max_uses)",
            "ExpressionAttributeValues": _attrs(
                {":pk": f"INVITES#{group_id}", ":prefix": "INVITE#", ":now": to_text(now)}
            ),
            "ScanIndexForward": False,
            "ConsistentRead": True,
            "Limit": limit,
        }
        if cursor is not None:
            params["ExclusiveStartKey"] = _live_key(group_id, invite_cursor(cursor))
        response = await self._call("query", **params)
        lives = [_plain(item) for item in response.get("Items", [])]
        makers = sorted({live["created_by"] for live in lives})
        found = await self._found(group_id, [_membership_key(group_id, m) for m in makers])
        items = [_invite(live) for live in lives if _alive(live, found)]
        next_cursor = None
        last = response.get("LastEvaluatedKey")
        if last is not None:
            # The filter may have dropped the page's last item: resume after the last one read.
            next_cursor = encode_cursor("invites", ["after", _plain(last)["sk"].removeprefix("INVITE#")])
        return Page(items=items, next_cursor=next_cursor)

    async def revoke_invite(self, group_id: str, invite_id: str, activity: ActivityEntry) -> None:
        invite = await self.get_group_invite(group_id, invite_id)
        try:
            await self._transact(
                [
                    {
                        "Delete": {
                            "TableName": self._groups,
                            "Key": _live_key(group_id, invite_id),
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    {"Delete": {"TableName": self._groups, "Key": _pointer_key(invite.token_hash)}},
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
            )
        except _Cancelled as exc:
            if exc.failed(2):
                raise group_not_found() from None
            raise invite_not_found() from None

    async def accept_invite(
        self, invite: Invite, user_id: str, now: datetime, activity: ActivityEntry
    ) -> tuple[Member, bool]:
        group_id = invite.group_id
        keys = [
            _key(f"GROUP#{group_id}", "META"),
            _membership_key(group_id, user_id),
            _live_key(group_id, invite.id),
            _membership_key(group_id, invite.created_by),
            _removal_key(group_id, user_id),
        ]
        for attempt in range(_ATTEMPTS):
            found = await self._found(group_id, keys)
            live = _judge_accept(found, invite, user_id, now)
            if isinstance(live, Member):
                return live, False
            try:
                await self._transact_logged(
                    group_id,
                    self._accept_actions(live, user_id, now, activity),
                    [Logged("member", user_id, "upsert")],
                    known=found.get(("GROUP", "META")),
                    # The membership it writes carries no `kind`: the user's view counts it a group.
                    users=[UserLogged(user_id, "group", group_id, "upsert")],
                )
                return Member(user_id=user_id, role="member", joined_at=now), True
            except _Cancelled as exc:
                if exc.failed(2):
                    raise user_not_found() from None
            # Something it was judged on changed meanwhile (another accept took the last use, the
            # maker left, the group filled up): judge again from a fresh read.
            await _backoff(attempt)
        raise Unavailable("group kept changing while joining it; try again")

    def _accept_actions(
        self, live: dict[str, Any], user_id: str, now: datetime, activity: ActivityEntry
    ) -> list[dict[str, Any]]:
        """One transaction that checks again every rule `_judge_accept` judged on its read, adds
        the membership, counts the use and logs `activity`. Index 2 is the user's existence."""
        group_id, created = live["group_id"], live["created_at"]
        return [
            {
                "Update": {
                    "TableName": self._groups,
                    "Key": _key(f"GROUP#{group_id}", "META"),
                    "UpdateExpression": "SET member_count = member_count + :one, last_activity_at = :at",
                    "ConditionExpression": f"attribute_exists(pk) AND member_count < :max AND {NOT_DELETING}",
                    "ExpressionAttributeValues": _attrs(
                        {":one": 1, ":max": MAX_GROUP_MEMBERS, ":at": to_text(activity.at)}
                    ),
                }
            },
            {
                "Put": {
                    "TableName": self._groups,
                    "Item": _membership_item(group_id, user_id, "member", to_text(now)),
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
            {
                # Counted in the join's own transaction: of two concurrent accepts of the last
                # use, one fails this condition.
                "Update": {
                    "TableName": self._groups,
                    "Key": _live_key(group_id, live["id"]),
                    "UpdateExpression": "SET uses = uses + :one",
                    "ConditionExpression": "attribute_exists(pk) AND expires_at > :now "
                    "AND (attribute_not_exists(max_uses) OR uses < max_uses)",
                    "ExpressionAttributeValues": _attrs({":one": 1, ":now": to_text(now)}),
                }
            },
            {
                "ConditionCheck": {
                    "TableName": self._groups,
                    "Key": _membership_key(group_id, live["created_by"]),
                    "ConditionExpression": "joined_at = :joined",
                    "ExpressionAttributeValues": _attrs({":joined": live["maker_joined_at"]}),
                }
            },
            {
                "ConditionCheck": {
                    "TableName": self._groups,
                    "Key": _removal_key(group_id, user_id),
                    "ConditionExpression": "attribute_not_exists(pk) OR removed_at < :created",
                    "ExpressionAttributeValues": _attrs({":created": created}),
                }
            },
            self._log(activity),
            _person_put(self._groups, group_id, user_id, to_text(now)),
        ]


def _judge_accept(found: Found, invite: Invite, user_id: str, now: datetime) -> Member | dict[str, Any]:
    """The joiner's membership if they already belong; else the live invite item if the join may
    go ahead (the transaction checks the same rules again, atomically); raise if a rule refuses."""
    meta = found.get(("GROUP", "META"))
    live = found.get(("INVITES", f"INVITE#{invite.id}"))
    if meta is None or DELETING in meta:
        raise group_not_found()
    if live is None or not _alive(live, found):
        raise invite_not_found()
    membership = found.get(("GROUP", f"MEMBER#{user_id}"))
    if membership is not None:
        return _member(membership)
    if live["expires_at"] <= to_text(now):
        raise invite_expired()
    if live.get("max_uses") is not None and int(live["uses"]) >= int(live["max_uses"]):
        raise invite_used_up()
    removal = found.get(("INVITES", f"REMOVED#{user_id}"))
    if removal is not None and removal["removed_at"] >= live["created_at"]:
        raise removed_from_group()
    if int(meta["member_count"]) >= MAX_GROUP_MEMBERS:
        raise Conflict(f"group is full: at most {MAX_GROUP_MEMBERS} members", code="group_full")
    return live
