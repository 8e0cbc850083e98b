"""Row <-> record mapping for the embedded store: the column lists its statements select, and how
a record becomes a row's values and a row becomes a record again."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

from domain import ActivityEntry, ChatMessage, Comment, Expense, Group, Settlement, User
from domain.categories import CustomCategory
from domain.clock import from_text, to_text
from domain.rates import GroupRate
from store.rates import group_rate_data, group_rate_from_data

_GROUP_COLUMNS = (
    "g.id, g.name, g.description, g.default_currency, g.owner_id, g.member_count, g.version, "
    "g.created_at, g.updated_at, g.kind, g.categories, g.rates"
)
_GROUP_WIDTH = 12
"""How many columns `_GROUP_COLUMNS` selects: where the columns selected after it start."""
_USER_COLUMNS = "id, email, name, picture, created_at, default_currency, locale, name_set, deleted_at"
_EXPENSE_COLUMNS = (
    "id, group_id, description, amount, currency, date, category, paid, owed, split, notes, "
    "receipt_id, created_by, created_at, updated_at, version, deleted_at, deleted_by, recurring_id, "
    "exchange_rate, exchange_currency"
)
_SETTLEMENT_COLUMNS = (
    "id, group_id, from_user, to_user, amount, currency, date, note, created_by, created_at, version, "
    "deleted_at, deleted_by"
)
_ACTIVITY_COLUMNS = "id, group_id, at, actor_id, action, subject_id, details"
_CHAT_COLUMNS = "id, group_id, author_id, text, created_at"
_COMMENT_COLUMNS = "id, group_id, subject_kind, subject_id, author_id, text, created_at"


def _marks(columns: str) -> str:
    """One `?` placeholder per column of `columns`."""
    return ", ".join("?" * len(columns.split(",")))


# json.dumps with options builds a new encoder per call; these are built once (same output).
_json = json.JSONEncoder(separators=(",", ":"), sort_keys=True).encode
_compact_json = json.JSONEncoder(separators=(",", ":")).encode


def _group(row: Any, offset: int = 0) -> Group:
    """The group in `row`'s `_GROUP_COLUMNS`, which start at `offset`."""
    return Group(
        id=row[offset],
        name=row[offset + 1],
        description=row[offset + 2],
        default_currency=row[offset + 3],
        owner_id=row[offset + 4],
        member_count=row[offset + 5],
        version=row[offset + 6],
        created_at=from_text(row[offset + 7]),
        updated_at=from_text(row[offset + 8]),
        kind=row[offset + 9],
        categories=categories_from_json(row[offset + 10]),
        rates=rates_from_json(row[offset + 11]),
    )


def categories_to_json(categories: tuple[CustomCategory, ...]) -> str:
    return _compact_json([dataclasses.asdict(c) for c in categories])


def categories_from_json(text: str) -> tuple[CustomCategory, ...]:
    return tuple(CustomCategory(**c) for c in json.loads(text))


def rates_to_json(rates: tuple[GroupRate, ...]) -> str:
    return _compact_json([group_rate_data(r) for r in rates])


def rates_from_json(text: str) -> tuple[GroupRate, ...]:
    return tuple(group_rate_from_data(r) for r in json.loads(text))


def _user(row: Any) -> User:
    """A user from the columns of `_USER_COLUMNS`."""
    return User(
        id=row[0],
        email=row[1] if row[8] is None else "",
        name=row[2],
        picture=row[3],
        created_at=from_text(row[4]),
        default_currency=row[5],
        locale=row[6],
        name_set=bool(row[7]),
        deleted_at=None if row[8] is None else from_text(row[8]),
    )


def _expense_row(expense: Expense) -> tuple[Any, ...]:
    """`expense` as the values of `_EXPENSE_COLUMNS`."""
    return (
        expense.id,
        expense.group_id,
        expense.description,
        expense.amount,
        expense.currency,
        expense.date,
        expense.category,
        _json(expense.paid),
        _json(expense.owed),
        _json(expense.split),
        expense.notes,
        expense.receipt_id,
        expense.created_by,
        to_text(expense.created_at),
        to_text(expense.updated_at),
        expense.version,
        _optional_time(expense.deleted_at),
        expense.deleted_by,
        expense.recurring_id,
        expense.exchange_rate,
        expense.exchange_currency,
    )


def _expense(row: Any) -> Expense:
    return Expense(
        id=row[0],
        group_id=row[1],
        description=row[2],
        amount=row[3],
        currency=row[4],
        date=row[5],
        category=row[6],
        paid=json.loads(row[7]),
        owed=json.loads(row[8]),
        split=json.loads(row[9]),
        notes=row[10],
        receipt_id=row[11],
        created_by=row[12],
        created_at=from_text(row[13]),
        updated_at=from_text(row[14]),
        version=row[15],
        deleted_at=None if row[16] is None else from_text(row[16]),
        deleted_by=row[17],
        recurring_id=row[18],
        exchange_rate=row[19],
        exchange_currency=row[20],
    )


def _settlement_row(settlement: Settlement) -> tuple[Any, ...]:
    """`settlement` as the values of `_SETTLEMENT_COLUMNS`."""
    return (
        settlement.id,
        settlement.group_id,
        settlement.from_user,
        settlement.to_user,
        settlement.amount,
        settlement.currency,
        settlement.date,
        settlement.note,
        settlement.created_by,
        to_text(settlement.created_at),
        settlement.version,
        _optional_time(settlement.deleted_at),
        settlement.deleted_by,
    )


def _settlement(row: Any) -> Settlement:
    return Settlement(
        id=row[0],
        group_id=row[1],
        from_user=row[2],
        to_user=row[3],
        amount=row[4],
        currency=row[5],
        date=row[6],
        note=row[7],
        created_by=row[8],
        created_at=from_text(row[9]),
        version=row[10],
        deleted_at=None if row[11] is None else from_text(row[11]),
        deleted_by=row[12],
    )


def _activity_row(entry: ActivityEntry) -> tuple[Any, ...]:
    """`entry` as the values of `_ACTIVITY_COLUMNS`."""
    return (
        entry.id,
        entry.group_id,
        to_text(entry.at),
        entry.actor_id,
        entry.action,
        entry.subject_id,
        _compact_json(entry.details),
    )


def _activity(row: Any) -> ActivityEntry:
    return ActivityEntry(
        id=row[0],
        group_id=row[1],
        at=from_text(row[2]),
        actor_id=row[3],
        action=row[4],
        subject_id=row[5],
        details=json.loads(row[6]),
    )


def _chat_row(message: ChatMessage) -> tuple[Any, ...]:
    """`message` as the values of `_CHAT_COLUMNS`."""
    return (
        message.id,
        message.group_id,
        message.author_id,
        message.text,
        to_text(message.created_at),
    )


def _chat_message(row: Any) -> ChatMessage:
    return ChatMessage(
        id=row[0], group_id=row[1], author_id=row[2], text=row[3], created_at=from_text(row[4])
    )


def _optional_time(moment: datetime | None) -> str | None:
    return None if moment is None else to_text(moment)


def _comment_row(comment: Comment) -> tuple[Any, ...]:
    """`comment` as the values of `_COMMENT_COLUMNS`."""
    return (
        comment.id,
        comment.group_id,
        comment.subject_kind,
        comment.subject_id,
        comment.author_id,
        comment.text,
        to_text(comment.created_at),
    )


def _comment(row: Any) -> Comment:
    return Comment(
        id=row[0],
        group_id=row[1],
        subject_kind=row[2],
        subject_id=row[3],
        author_id=row[4],
        text=row[5],
        created_at=from_text(row[6]),
    )
