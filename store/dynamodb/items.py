"""Items as DynamoDB stores them and as the domain reads them: attribute values to and from
DynamoDB's typed form, the key and attributes of each kind of item, and the records built back
from items. Pure data; nothing here makes a request."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import datetime, timedelta
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from domain import ActivityEntry, Balance, ChatMessage, Comment, Expense, Group, Member, Settlement, User
from domain.categories import CustomCategory
from domain.clock import from_text, to_text
from domain.models import MAX_INVITE_LIFETIME
from domain.rates import GroupRate
from store.base import NewGroup
from store.rates import group_rate_data, group_rate_from_data

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _attrs(values: dict[str, Any]) -> dict[str, Any]:
    """`values` in DynamoDB's typed form ({"S": ...}, {"N": ...}): items, keys, expression values."""
    return {name: _serializer.serialize(value) for name, value in values.items()}


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    """An item read back as plain Python values (numbers come back as `Decimal`)."""
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def _key(pk: str, sk: str | None = None) -> dict[str, Any]:
    """The key of an item: `pk`, and `sk` in the tables that have one."""
    return _attrs({"pk": pk} if sk is None else {"pk": pk, "sk": sk})


def _ttl(moment: datetime) -> int:
    """A `ttl` attribute: epoch seconds, rounded up so that TTL never removes an item early."""
    return math.ceil(moment.timestamp())


def _removal_key(group_id: str, user_id: str) -> dict[str, Any]:
    """The record that a user was removed from a group, in the group's invites partition."""
    return _key(f"INVITES#{group_id}", f"REMOVED#{user_id}")


def _removal_put(table: str, group_id: str, user_id: str, at: datetime) -> dict[str, Any]:
    """The action of `remove_member`'s transaction that keeps a removed member out through every
    invite made at or before `at`. Kept until all of those have expired (an invite lives at most
    MAX_INVITE_LIFETIME); a later removal replaces it."""
    item = {
        "pk": f"INVITES#{group_id}",
        "sk": f"REMOVED#{user_id}",
        "user_id": user_id,
        "removed_at": to_text(at),
        "ttl": _ttl(at + MAX_INVITE_LIFETIME + timedelta(days=1)),
    }
    return {"Put": {"TableName": table, "Item": _attrs(item)}}


def _json(value: Any) -> str:
    """Compact, key-sorted JSON text, for the attributes stored as JSON (`split`, `details`)."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _user(a: dict[str, Any]) -> User:
    return User(
        id=a["id"],
        email=a["email"],
        name=a["name"],
        picture=a.get("picture"),
        created_at=from_text(a["created_at"]),
        default_currency=a.get("default_currency", "USD"),
        locale=a.get("locale"),
        name_set=bool(a.get("name_set", False)),
        deleted_at=from_text(a["deleted_at"]) if a.get("deleted_at") else None,
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
        kind=a.get("kind", "group"),
        categories=tuple(CustomCategory(**c) for c in a.get("categories", [])),
        rates=tuple(group_rate_from_data(r) for r in a.get("rates", [])),
    )


def categories_item(categories: tuple[CustomCategory, ...]) -> list[dict[str, str]]:
    """A group's own categories as the META item's `categories` list."""
    return [dataclasses.asdict(c) for c in categories]


def rates_item(rates: tuple[GroupRate, ...]) -> list[dict[str, Any]]:
    """A group's own exchange rates as the META item's `rates` list."""
    return [group_rate_data(r) for r in rates]


def _group_meta(group: NewGroup, member_count: int, kind: str | None = None) -> dict[str, Any]:
    """A new group's `META` item (plain values), at version 1; `kind` only for direct ledgers."""
    created = to_text(group.created_at)
    meta: dict[str, Any] = {
        "pk": f"GROUP#{group.id}",
        "sk": "META",
        "id": group.id,
        "name": group.name,
        "description": group.description,
        "default_currency": group.default_currency,
        "owner_id": group.owner_id,
        "member_count": member_count,
        "version": 1,
        "created_at": created,
        "updated_at": created,
    }
    if kind is not None:
        meta["kind"] = kind
    return meta


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


def _person_put(table: str, group_id: str, user_id: str, joined_at: str) -> dict[str, Any]:
    """The action that records `user_id` among the people who ever belonged to the group (what
    `can_see_user` reads), put in the same transaction as every membership it creates. On the
    `by_user` index under `PERSON#<uid>` (memberships are under `USER#<uid>`), which is how the
    export finds every group a user ever belonged to; no leaving deletes it; a rejoin writes it
    again."""
    item = {
        "pk": f"GROUP#{group_id}",
        "sk": f"PERSON#{user_id}",
        "group_id": group_id,
        "user_id": user_id,
        "last_joined_at": joined_at,
        # On the `by_user` index under its own key, apart from the memberships (`USER#`).
        "gsi1pk": f"PERSON#{user_id}",
        "gsi1sk": group_id,
    }
    return {"Put": {"TableName": table, "Item": _attrs(item)}}


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


def _unsettled_balances(membership: dict[str, Any]) -> bool:
    return any(int(amount) != 0 for amount in (membership.get("balances") or {}).values())


DELETING = "deleting_at"
"""Set on a group's META while a deletion in several transactions is under way (see
`group_deletion`): writes that move balances or add members condition on its absence."""
NOT_DELETING = f"attribute_not_exists({DELETING})"


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
        **_deletion(expense.deleted_at, expense.deleted_by),
        **({"recurring_id": expense.recurring_id} if expense.recurring_id is not None else {}),
        **(
            {"exchange_rate": expense.exchange_rate, "exchange_currency": expense.exchange_currency}
            if expense.exchange_rate is not None
            else {}
        ),
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
        deleted_at=from_text(a["deleted_at"]) if "deleted_at" in a else None,
        deleted_by=a.get("deleted_by"),
        recurring_id=a.get("recurring_id"),
        exchange_rate=a.get("exchange_rate"),
        exchange_currency=a.get("exchange_currency"),
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
        **_deletion(settlement.deleted_at, settlement.deleted_by),
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
        deleted_at=from_text(a["deleted_at"]) if "deleted_at" in a else None,
        deleted_by=a.get("deleted_by"),
    )


def _deletion(deleted_at: datetime | None, deleted_by: str | None) -> dict[str, Any]:
    """A deleted record's `deleted_at` and `deleted_by` (a live one has neither attribute)."""
    if deleted_at is None:
        return {}
    return {"deleted_at": to_text(deleted_at), "deleted_by": deleted_by}


def _by_date_position(item: dict[str, Any]) -> list[str]:
    """A by_date key (`lsi1sk = <date>#<created_at>#<id>`) as the SQLite backend's cursor
    position [date, created_at, id], so cursors mean the same on both."""
    date, created_at, record_id = item["lsi1sk"].split("#", 2)
    return [date, created_at, record_id]


def _activity_item(entry: ActivityEntry) -> dict[str, Any]:
    """The item of an activity entry: its sort key `ACT#<at>#<id>` orders a group's log by time,
    then id (`at` is fixed-width text), the SQLite order."""
    at = to_text(entry.at)
    return {
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


def _chat_item(message: ChatMessage) -> dict[str, Any]:
    """The item of a chat message: its sort key `MSG#<created_at>#<id>` makes the table itself the
    newest-first index of a group's messages."""
    created = to_text(message.created_at)
    return {
        "pk": f"GROUP#{message.group_id}",
        "sk": f"MSG#{created}#{message.id}",
        "id": message.id,
        "group_id": message.group_id,
        "author_id": message.author_id,
        "text": message.text,
        "created_at": created,
    }


def _chat_message(a: dict[str, Any]) -> ChatMessage:
    return ChatMessage(
        id=a["id"],
        group_id=a["group_id"],
        author_id=a["author_id"],
        text=a["text"],
        created_at=from_text(a["created_at"]),
    )


def _comment_item(comment: Comment) -> dict[str, Any]:
    """The item of a comment, in the chats table beside the group's messages: its sort key
    `CMT#<subject id>#<comment id>` makes the table the newest-first index of a subject's comments
    (ids are time-ordered)."""
    return {
        "pk": f"GROUP#{comment.group_id}",
        "sk": f"CMT#{comment.subject_id}#{comment.id}",
        "id": comment.id,
        "group_id": comment.group_id,
        "subject_kind": comment.subject_kind,
        "subject_id": comment.subject_id,
        "author_id": comment.author_id,
        "text": comment.text,
        "created_at": to_text(comment.created_at),
    }


def _comment(a: dict[str, Any]) -> Comment:
    return Comment(
        id=a["id"],
        group_id=a["group_id"],
        subject_kind=a["subject_kind"],
        subject_id=a["subject_id"],
        author_id=a["author_id"],
        text=a["text"],
        created_at=from_text(a["created_at"]),
    )
