"""The JSON shapes of records as clients see them: a REST reply and the realtime event of the same
change carry the same object, so both are made here, once."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from domain import ChatMessage, Comment, Expense, Group, Member, Settlement, User
from domain.categories import Category, CustomCategory
from domain.clock import to_text
from domain.rates import GroupRate
from domain.recurring import RecurringRule
from ledger import format_amount, payers_to_json
from ledger.effects import BalanceMoves, exchanged_sides
from realtime.envelope import RawJSON

_compact = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def json_text(value: Any) -> str:
    """`value` as compact JSON text: what a reply sends, encoded once when an event sends it too."""
    return _compact(value)


def version_etag(version: int) -> dict[str, str]:
    """The ETag header of a versioned record: its version, quoted (`If-Match` sends it back)."""
    return {"ETag": f'"{version}"'}


def expense_json(expense: Expense) -> dict[str, Any]:
    return {
        "id": expense.id,
        "group_id": expense.group_id,
        "description": expense.description,
        "amount": format_amount(expense.amount, expense.currency),
        "currency": expense.currency,
        "date": expense.date,
        "category": expense.category,
        "payers": payers_to_json(expense.paid, expense.currency),
        "split": expense.split,
        "shares": payers_to_json(expense.owed, expense.currency),
        "notes": expense.notes,
        "receipt_id": expense.receipt_id,
        "created_by": expense.created_by,
        "created_at": to_text(expense.created_at),
        "updated_at": to_text(expense.updated_at),
        "version": expense.version,
        "recurring_id": expense.recurring_id,
        "exchange_rate": expense.exchange_rate,
        "exchange_currency": expense.exchange_currency,
        "exchanged": _exchanged_json(expense),
        **deletion_json(expense.deleted_at, expense.deleted_by),
    }


def _exchanged_json(expense: Expense) -> dict[str, Any] | None:
    if expense.exchange_rate is None:
        return None
    currency, paid, owed = exchanged_sides(expense)
    return {
        "currency": currency,
        "amount": format_amount(sum(paid.values()), currency),
        "payers": payers_to_json(paid, currency),
        "shares": payers_to_json(owed, currency),
    }


def recurring_json(rule: RecurringRule) -> dict[str, Any]:
    """A recurring expense as the API shows it: the expense it repeats in an expense's own
    shape (without identity, date or receipt), its schedule, and where it stands."""
    template = rule.expense
    currency = template["currency"]
    return {
        "id": rule.id,
        "group_id": rule.group_id,
        "expense": {
            "description": template["description"],
            "amount": format_amount(int(template["amount"]), currency),
            "currency": currency,
            "category": template["category"],
            "payers": payers_to_json({u: int(a) for u, a in template["paid"].items()}, currency),
            "split": template["split"],
            "shares": payers_to_json({u: int(a) for u, a in template["owed"].items()}, currency),
            "notes": template["notes"],
        },
        "every": rule.every,
        "interval": rule.interval,
        "starts_on": rule.starts_on,
        "ends_on": rule.ends_on,
        "count": rule.count,
        "timezone": rule.timezone,
        "paused": rule.paused,
        "status": rule.status,
        "stopped": rule.stopped,
        "next_on": rule.next_on,
        "made": rule.made,
        "last_on": rule.last_on,
        "created_by": rule.created_by,
        "created_at": to_text(rule.created_at),
        "updated_at": to_text(rule.updated_at),
        "version": rule.version,
    }


def settlement_json(settlement: Settlement) -> dict[str, Any]:
    """A settlement as the API shows it (the wire calls settlements "transactions")."""
    return {
        "id": settlement.id,
        "group_id": settlement.group_id,
        "from_user": settlement.from_user,
        "to_user": settlement.to_user,
        "amount": format_amount(settlement.amount, settlement.currency),
        "currency": settlement.currency,
        "date": settlement.date,
        "note": settlement.note,
        "created_by": settlement.created_by,
        "created_at": to_text(settlement.created_at),
        "version": settlement.version,
        **deletion_json(settlement.deleted_at, settlement.deleted_by),
    }


def deletion_json(deleted_at: datetime | None, deleted_by: str | None) -> dict[str, Any]:
    """`deleted_at` and `deleted_by` of a deleted (restorable) record; a live one has neither."""
    if deleted_at is None:
        return {}
    return {"deleted_at": to_text(deleted_at), "deleted_by": deleted_by}


def comment_json(comment: Comment) -> dict[str, Any]:
    """A comment on an expense or settlement, as REST replies and `comment.created` carry it."""
    return {
        "id": comment.id,
        "group_id": comment.group_id,
        "subject_kind": comment.subject_kind,
        "subject_id": comment.subject_id,
        "author_id": comment.author_id,
        "text": comment.text,
        "created_at": to_text(comment.created_at),
    }


def moves_json(moves: BalanceMoves) -> list[dict[str, str]]:
    """How a write moved balances, as events carry it: signed amounts per member and currency."""
    return [
        {"user_id": user_id, "currency": currency, "amount": format_amount(amount, currency)}
        for (user_id, currency), amount in sorted(moves.items())
    ]


def with_moves(payload_json: str, moves: BalanceMoves) -> RawJSON:
    """An expense or settlement event's data: the REST reply plus `balance_moves`, made from the
    reply's already encoded JSON (`payload_json`, a JSON object) instead of encoding it again."""
    return RawJSON(f'{payload_json[:-1]},"balance_moves":{json_text(moves_json(moves))}}}')


def chat_message_json(message: ChatMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "group_id": message.group_id,
        "author_id": message.author_id,
        "text": message.text,
        "created_at": to_text(message.created_at),
    }


def category_json(category: Category | CustomCategory) -> dict[str, Any]:
    """A category as the API shows it: a group's own, or the catalogue's (`custom` says which)."""
    return {**dataclasses.asdict(category), "custom": isinstance(category, CustomCategory)}


def group_rate_json(rate: GroupRate) -> dict[str, Any]:
    """A group's own exchange rate as the API shows it: 1 `from` = `rate` `to`."""
    return {
        "from": rate.source,
        "to": rate.target,
        "rate": rate.rate,
        "set_by": rate.set_by,
        "set_at": to_text(rate.set_at),
        "version": rate.version,
    }


def group_json(group: Group, role: str) -> dict[str, Any]:
    """A group as its member `role` sees it."""
    return {
        "id": group.id,
        "name": group.name,
        "description": group.description,
        "default_currency": group.default_currency,
        "owner_id": group.owner_id,
        "member_count": group.member_count,
        "version": group.version,
        "created_at": to_text(group.created_at),
        "updated_at": to_text(group.updated_at),
        "role": role,
        "kind": group.kind,
        "categories": [category_json(c) for c in group.categories],
        "rates": [group_rate_json(r) for r in group.rates],
    }


def member_json(member: Member) -> dict[str, Any]:
    return {
        "user_id": member.user_id,
        "role": member.role,
        "joined_at": to_text(member.joined_at),
        "email": member.email,
        "name": member.name,
        "picture": member.picture,
    }


def group_event(group: Group, members: list[Member]) -> dict[str, Any]:
    """The group as events carry it: as GET returns it, without the caller-specific `role`."""
    body = {**group_json(group, ""), "members": [member_json(m) for m in members]}
    del body["role"]
    return body


DELETED_USER_NAME = "Deleted user"
"""How a deleted account is named wherever it still appears (its name is erased)."""


def user_json(user: User) -> dict[str, Any]:
    """The caller's own profile, as `GET /api/user` shows it."""
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "picture": user.picture,
        "default_currency": user.default_currency,
        "locale": user.locale,
        "created_at": to_text(user.created_at),
    }


def public_user_json(user: User) -> dict[str, Any]:
    """What anyone who shares a group with the user sees of them (the `user.updated` event)."""
    if user.deleted_at is not None:
        return {"id": user.id, "name": DELETED_USER_NAME, "picture": None}
    return {"id": user.id, "name": user.name, "picture": user.picture}


def person_json(user: User) -> dict[str, Any]:
    """Someone the caller may look up (`GET /api/users/{id}`): a deleted account shows as a
    deleted user, with no e-mail or picture."""
    deleted = user.deleted_at is not None
    return {**public_user_json(user), "email": None if deleted else user.email, "deleted": deleted}


def user_names_json(users: Mapping[str, User]) -> dict[str, dict[str, Any]]:
    """The `users` map of a page that mentions people: id → name, picture, deleted."""
    return {
        user_id: {
            "name": DELETED_USER_NAME if user.deleted_at is not None else user.name,
            "picture": None if user.deleted_at is not None else user.picture,
            "deleted": user.deleted_at is not None,
        }
        for user_id, user in sorted(users.items())
    }
