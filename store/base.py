"""The persistence contract every backend implements and `tests/store/test_contract.py` checks.

Each method is a bounded number of round trips to the backend, whatever the size of the data:
nothing here scans a table, and lists are pages behind an opaque cursor the backend produces.
"""
from __future__ import annotations

import abc
import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain import Group, GroupMembership, Invite, Member, Page, User


@dataclass(frozen=True, slots=True)
class NewGroup:
    id: str
    name: str
    description: str
    default_currency: str
    owner_id: str
    created_at: datetime


class TokenStanding(enum.Enum):
    ACTIVE = "active"
    REVOKED = "revoked"
    UNKNOWN_USER = "unknown_user"


class Store(abc.ABC):
    """Raises `domain` errors only; no backend type escapes."""

    @abc.abstractmethod
    async def ping(self) -> None:
        """Raise if the backend cannot be reached."""

    # users
    @abc.abstractmethod
    async def ensure_user(self, email: str, name: str, picture: str | None = None) -> User:
        """The user with this (normalised, lower-case) email, created if there is none yet."""

    @abc.abstractmethod
    async def get_user(self, user_id: str) -> User:
        """Raises NotFound."""

    @abc.abstractmethod
    async def find_user_by_email(self, email: str) -> User | None: ...

    # token revocation
    @abc.abstractmethod
    async def revoke_token(self, jti: str, expires_at: datetime) -> None:
        """Remember a revoked token id until the token would have expired anyway."""

    @abc.abstractmethod
    async def token_standing(self, user_id: str, jti: str) -> TokenStanding:
        """Whether a token with a valid signature may still be used: its user exists and it has not
        been revoked. One round trip, since every authenticated request asks."""

    # groups
    @abc.abstractmethod
    async def create_group(self, group: NewGroup) -> Group:
        """Create the group with its creator as owner, atomically."""

    @abc.abstractmethod
    async def get_group(self, group_id: str) -> Group:
        """Raises NotFound."""

    @abc.abstractmethod
    async def get_group_as_member(self, group_id: str, user_id: str) -> tuple[Group, Member]:
        """The group and the caller's membership in one read; NotFound unless both exist."""

    @abc.abstractmethod
    async def list_members(self, group_id: str) -> list[Member]:
        """Every member with their profile, owner first, then by join time."""

    @abc.abstractmethod
    async def list_user_groups(
        self, user_id: str, *, limit: int, cursor: str | None = None
    ) -> Page[GroupMembership]:
        """The user's groups, most recently joined first. Raises BadRequest for a foreign cursor."""

    @abc.abstractmethod
    async def update_group(
        self, group_id: str, *, expected_version: int, changes: dict[str, Any], updated_at: datetime
    ) -> Group:
        """Apply `changes` (name, description, default_currency) if the stored version is still
        `expected_version`, bumping it. Raises NotFound or PreconditionFailed."""

    @abc.abstractmethod
    async def delete_group(self, group_id: str) -> None:
        """Delete the group and every membership atomically. Raises NotFound."""

    @abc.abstractmethod
    async def add_member(self, group_id: str, user_id: str, joined_at: datetime) -> tuple[Member, bool]:
        """Add a plain member; returns the membership and whether it was created now (False if the
        user already belonged). Raises NotFound for a missing group, Conflict when the group is full."""

    @abc.abstractmethod
    async def remove_member(self, group_id: str, user_id: str) -> None:
        """Raises NotFound if the user is not a member."""

    # invites
    @abc.abstractmethod
    async def create_invite(self, invite: Invite) -> None: ...

    @abc.abstractmethod
    async def get_invite(self, token_hash: str) -> Invite:
        """Raises NotFound (expired invites are the caller's to judge)."""
