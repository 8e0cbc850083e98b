"""Immutable records the store hands out. Timestamps are timezone-aware UTC datetimes."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, Literal, TypeVar

T = TypeVar("T")
Role = Literal["owner", "member"]

MAX_GROUP_MEMBERS = 50
"""Keeps every group-wide write (delete, membership changes) inside one DynamoDB transaction."""


@dataclass(frozen=True, slots=True)
class User:
    id: str
    email: str
    name: str
    picture: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Group:
    id: str
    name: str
    description: str
    default_currency: str
    owner_id: str
    member_count: int
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Member:
    user_id: str
    role: Role
    joined_at: datetime
    email: str = ""
    name: str = ""
    picture: str | None = None


@dataclass(frozen=True, slots=True)
class GroupMembership:
    """One of a user's groups, as their group list shows it."""

    group: Group
    role: Role
    joined_at: datetime


@dataclass(frozen=True, slots=True)
class Invite:
    token_hash: str
    group_id: str
    created_by: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T] = field(default_factory=list)
    next_cursor: str | None = None
