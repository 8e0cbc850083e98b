"""Immutable records the store hands out. Timestamps are timezone-aware UTC datetimes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, Literal, TypeVar

from domain.categories import CustomCategory
from domain.ids import new_id
from domain.rates import GroupRate

T = TypeVar("T")
Role = Literal["owner", "admin", "member"]
GroupKind = Literal["group", "direct"]
"""`direct`: the two-person ledger of a friendship (no invites, renames, extra members or deletion)."""

MAX_GROUP_MEMBERS = 50
"""Keeps every group-wide write (delete, membership changes) inside one DynamoDB transaction."""


@dataclass(frozen=True, slots=True)
class User:
    id: str
    email: str
    name: str
    picture: str | None
    created_at: datetime
    default_currency: str = "USD"
    """ISO 4217; the default for the user's new groups and friend expenses."""
    locale: str | None = None
    """A BCP 47 language tag the clients may format with; None until the user sets one."""
    name_set: bool = False
    """True once the user set their name themselves: sign-in then stops refreshing name and
    picture from the identity provider."""
    deleted_at: datetime | None = None
    """Set when the account was deleted: the record stays (other people's expenses name it) with
    name, e-mail and picture erased."""


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
    kind: GroupKind = "group"
    categories: tuple[CustomCategory, ...] = ()
    """The group's own expense categories (domain/categories.py), in the order they were made."""
    rates: tuple[GroupRate, ...] = ()
    """The group's own exchange rates (domain/rates.py), in the order they were first set."""


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


MAX_INVITE_LIFETIME = timedelta(days=30)
"""The longest an invite link may live: also how long a removal must be remembered to keep the
removed member out through links made before it."""


@dataclass(frozen=True, slots=True)
class Invite:
    """A link to join a group. `token_hash` is what the link's holder presents (hashed); `id` is
    its public name, for listing and revoking, and reveals nothing about the token."""

    token_hash: str
    group_id: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    id: str = field(default_factory=new_id)
    max_uses: int | None = None
    """How many people may join through it; None for no limit (until it expires)."""
    uses: int = 0
    """How many people have joined through it."""


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T] = field(default_factory=list)
    next_cursor: str | None = None


@dataclass(frozen=True, slots=True)
class Expense:
    """One expense. `paid` and `owed` map member ids to minor units; each sums to `amount`."""

    id: str
    group_id: str
    description: str
    amount: int
    currency: str
    date: str
    """Calendar date the expense happened, ISO `YYYY-MM-DD` (no time zone: it is the payer's day)."""
    category: str
    paid: dict[str, int]
    owed: dict[str, int]
    split: dict[str, Any]
    """The split as the client expressed it (kind and parameters), so it can be edited as such."""
    notes: str
    receipt_id: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int
    deleted_at: datetime | None = None
    """Set while the expense is deleted but may still be restored (see `Store.delete_expense`)."""
    deleted_by: str | None = None
    recurring_id: str | None = None
    """The recurring expense (`domain.recurring.RecurringRule`) that made this one, if any."""
    exchange_rate: str | None = None
    """The payer's own rate (1 `currency` = `exchange_rate` `exchange_currency`, a decimal
    string): balances and spending then move in `exchange_currency`, the group's currency when
    the rate was given, not in `currency` (`ledger.effects`)."""
    exchange_currency: str | None = None

    @property
    def participants(self) -> list[str]:
        return sorted(set(self.paid) | set(self.owed))


@dataclass(frozen=True, slots=True)
class Settlement:
    """A payment from one member to another that settles debt (the seed calls these
    transactions)."""

    id: str
    group_id: str
    from_user: str
    to_user: str
    amount: int
    currency: str
    date: str
    note: str
    created_by: str
    created_at: datetime
    version: int
    deleted_at: datetime | None = None
    """Set while the settlement is deleted but may still be restored."""
    deleted_by: str | None = None


@dataclass(frozen=True, slots=True)
class Balance:
    """A member's net position in one currency: positive means the group owes them."""

    user_id: str
    currency: str
    amount: int


@dataclass(frozen=True, slots=True)
class ActivityEntry:
    id: str
    group_id: str
    at: datetime
    actor_id: str
    action: str
    """`expense.created`, `expense.updated`, `expense.deleted`, `settlement.created`,
    `settlement.deleted`, `member.joined`, `member.left`, `member.removed`, `invite.revoked`
    (subject: the invite id; details: `created_by`), `group.owner_changed` (subject: the new
    owner; details `{"owner_id": {"from", "to"}}`), `member.role_changed` (subject: the member;
    details `{"role": {"from", "to"}}`), `recurring.created`, `recurring.updated`,
    `recurring.deleted` and `recurring.stopped` (subject: the recurring expense; a stop's details
    `{"reason": "members_left", "user_ids"}`)."""
    subject_id: str
    details: dict[str, Any]
    """What changed: for updates, `{"field": {"from": old, "to": new}}`."""


@dataclass(frozen=True, slots=True)
class ExpenseFilter:
    date_from: str | None = None
    date_to: str | None = None
    categories: tuple[str, ...] | None = None
    """Any of these category ids (`domain.categories.matching` turns a filter into them)."""
    member: str | None = None


@dataclass(frozen=True, slots=True)
class StoredReply:
    """The response an idempotent request gave the first time, replayed on a retry."""

    status: int
    body: str


@dataclass(frozen=True, slots=True)
class IdempotentReply:
    """Recorded in the same atomic write as the change it answers, so a retry can never repeat
    the change nor lose its answer."""

    user_id: str
    key: str
    status: int
    body: str


@dataclass(frozen=True, slots=True)
class GroupStanding:
    """One of a user's groups with their own balance in it, per currency."""

    membership: GroupMembership
    balances: dict[str, int]


@dataclass(frozen=True, slots=True)
class Dashboard:
    groups: list[GroupStanding]
    """The user's groups, most recently joined first, at most the limit asked for."""
    more_groups: bool
    """True when the user has more groups than were returned."""
    spending: dict[tuple[str, str, str], int]
    """The user's share of expenses in the returned groups: (YYYY-MM, category, currency) → amount."""
    recent: list[ActivityEntry]
    """The latest activity across the returned groups, newest first."""


MAX_CHAT_MESSAGE_LENGTH = 4000
MAX_COMMENT_LENGTH = 2000

CommentSubject = Literal["expense", "settlement"]
"""What a comment is on: an expense, or a settlement (a "transaction" on the wire)."""


@dataclass(frozen=True, slots=True)
class Comment:
    """A member's remark on one expense or settlement of the group. It lives as long as its
    subject: kept (hidden) while the subject is deleted, back when it is restored."""

    id: str
    group_id: str
    subject_kind: CommentSubject
    subject_id: str
    author_id: str
    text: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ChatMessage:
    id: str
    group_id: str
    author_id: str
    text: str
    created_at: datetime


ChangeKind = Literal["group", "member", "expense", "settlement", "chat", "comment"]
ChangeOp = Literal["upsert", "delete"]


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of a group's changes log (issue 14): written in the same atomic write as the
    change itself, numbered in commit order (`seq` grows with every change of the group)."""

    seq: int
    kind: ChangeKind
    id: str
    """The changed record's id (a member's user id)."""
    op: ChangeOp
    version: int | None
    """The record's version after the change (before it, for a delete), where it has one."""
    ref: str | None = None
    """Where the backend finds the record, when its id alone does not say (opaque; for
    `Store.read_changed`)."""


UserChangeKind = Literal["group", "friend", "profile", "notification", "read"]


@dataclass(frozen=True, slots=True)
class UserChange:
    """One entry of a user's own changes log (issue 14): what changed in the user's view outside
    any one group's records, written in the same atomic write as the change, in commit order.

    - `group` / `friend`: the user joined (`upsert`) or left (`delete`: left, removed, the group
      deleted, the account erased) a group, or a direct ledger (a friend); `id` is the group's id.
    - `profile`: the user's own profile changed; `id` is the user's id.
    - `notification`: a notification for the user was stored; `id` is the notification's id.
    - `read`: the user's read mark moved; `id` is the notification now marked read up to."""

    seq: int
    kind: UserChangeKind
    id: str
    op: ChangeOp


@dataclass(frozen=True, slots=True)
class Friend:
    """Someone the user has a direct ledger with (both are its current members)."""

    user: User
    group_id: str
    """The direct ledger: a group of kind `direct` with exactly the two of them."""
    since: datetime
    """When the user (re)joined that ledger."""


@dataclass(frozen=True, slots=True)
class GroupBalances:
    """Every current member's balances in one of a user's groups, as `get_balances` reads them."""

    group_id: str
    kind: GroupKind
    balances: list[Balance]
