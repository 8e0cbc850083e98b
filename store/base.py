"""The persistence contract every backend implements and `tests/store/test_contract.py` checks.

Each method is a bounded number of round trips to the backend, whatever the size of the data:
nothing here scans a table, and lists are pages behind an opaque cursor the backend produces.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from domain import (
    ActivityEntry,
    Balance,
    Change,
    ChatMessage,
    Comment,
    Dashboard,
    Expense,
    ExpenseFilter,
    Group,
    GroupMembership,
    IdempotentReply,
    Invite,
    Member,
    Page,
    Settlement,
    StoredReply,
    User,
    UserChange,
)
from domain.models import Friend, GroupBalances, GroupKind, Role
from domain.rates import RateQuote
from domain.recurring import RecurringRule

BalanceDeltas = dict[tuple[str, str], int]
"""How a write moves balances: (user id, currency) → change in minor units. Sums to zero per
currency; computed by `ledger`, applied by the store in the same atomic write as the change."""

SpendingDeltas = dict[tuple[str, str, str, str], int]
"""How an expense write moves members' shares of spending: (user id, YYYY-MM, category, currency) →
change in minor units. Computed by `ledger.moves.spending_moves`, applied with the write."""

IDEMPOTENCY_RETENTION = timedelta(hours=24)
"""How long a used Idempotency-Key is remembered."""
IDEMPOTENCY_LEASE = timedelta(seconds=60)
"""How long a claim on a key blocks retries before it is presumed abandoned (its request died)."""
RESTORE_WINDOW = timedelta(days=30)
"""How long a deleted expense or settlement is kept for restoring when the caller names no
`keep_until` (the service passes RESTORE_DAYS)."""
PURGE_BATCH = 20
"""How many expired deleted records one delete write purges on the way (SQLite): bounded work
on an index, never a scan."""


@dataclass(frozen=True, slots=True)
class ImportedRecord:
    """One record an import makes (an expense or a settlement with a new id), with the balances
    and spending it moves."""

    record: Expense | Settlement
    deltas: BalanceDeltas
    spending: SpendingDeltas


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


MAX_LIVE_SESSIONS = 100
"""Live sessions a user may have at once: a new sign-in beyond it ends the least recently used."""


@dataclass(frozen=True, slots=True)
class Session:
    """One sign-in on one device: what its refresh tokens and access tokens belong to. `generation`
    counts rotations; only hashes of refresh tokens are stored."""

    id: str
    user_id: str
    created_at: datetime
    last_used_at: datetime
    user_agent: str
    generation: int
    expires_at: datetime


class Rotation(enum.Enum):
    ROTATED = "rotated"
    """The presented hash was the current one: it is replaced, the session extended."""
    GRACE_REPLAY = "grace_replay"
    """The presented hash was replaced moments ago (within the grace window): nothing changes, the
    caller answers with the current generation again."""
    REUSED = "reused"
    """The presented hash was replaced before: the session is now revoked."""
    UNKNOWN = "unknown"
    """No live, unexpired session with this id."""


@dataclass(frozen=True, slots=True)
class RotationResult:
    outcome: Rotation
    session: Session | None


@dataclass(frozen=True, slots=True)
class ChangedRecords:
    """What `read_changed` found, by record id."""

    expenses: dict[str, Expense]
    settlements: dict[str, Settlement]
    chats: dict[str, ChatMessage]
    comments: dict[str, Comment]


AUTHORIZATION_CODE_RETENTION = timedelta(hours=1)
"""How long past its expiry a redeemed authorization code is kept, so that presenting it again is
still recognised as reuse (and ends the session it made); after that it may be purged."""


@dataclass(frozen=True, slots=True)
class AuthorizationCode:
    """A native app's one-time authorization code (RFC 6749 §4.1, RFC 7636), stored by the sha256
    of the code: whose sign-in it is, the exact redirect URI and PKCE challenge it is bound to,
    and, once redeemed, the session the redemption chose (`session_id`)."""

    user_id: str
    redirect_uri: str
    code_challenge: str
    expires_at: datetime
    session_id: str | None = None


class Redemption(enum.Enum):
    REDEEMED = "redeemed"
    """The code was live and unused: it is now used, bound to the session id given."""
    REUSED = "reused"
    """The code was redeemed before; `code.session_id` names the session that redemption made."""
    UNKNOWN = "unknown"
    """No such code, or it expired unused."""


@dataclass(frozen=True, slots=True)
class RedemptionResult:
    outcome: Redemption
    code: AuthorizationCode | None


MAX_PUSH_SUBSCRIPTIONS = 20
"""Web Push subscriptions a user may have at once (one per browser profile they allow)."""


@dataclass(frozen=True, slots=True)
class PushSubscription:
    """A browser's PushSubscription (RFC 8030 §6 and the W3C Push API), kept for its user. `id` is
    derived from `endpoint` (`services.push.subscription_id`), so saving the same endpoint twice
    is one subscription; `p256dh` and `auth` are the browser's keys as it sends them (base64url);
    `expiration_time` is the browser's `expirationTime` (ms since the epoch) or None."""

    id: str
    user_id: str
    endpoint: str
    p256dh: str
    auth: str
    expiration_time: int | None
    created_at: datetime


MAX_NOTIFICATION_RECIPIENTS = 50
"""The most people one change notifies (a group has at most MAX_GROUP_MEMBERS)."""
NOTIFICATIONS_PER_WRITE = 25
"""The most notifications one `add_notifications` stores, in one atomic write: on DynamoDB each
takes four actions (its item, its recipient's counter, and its entry and counter in the
recipient's changes log) and a transaction holds 100."""


@dataclass(frozen=True, slots=True)
class Notification:
    """Something another person did that concerns `user_id` (issue 14 part 5). `id` is
    time-ordered (`domain.ids.new_id`), so newest first is by id; `link` names what it is about
    (`kind`, `group_id` and `expense_id`, `settlement_id` or `comment_id`). Whether it is read is
    the user's `NotificationState`, not the record's."""

    id: str
    user_id: str
    kind: str
    actor_id: str
    actor_name: str
    summary: str
    link: dict[str, str]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NotificationState:
    """A user's counter and read mark: `unread` notifications have ids above `read_up_to`
    (None: none read yet). Kept with every notification and every read, so reading it is O(1)."""

    unread: int = 0
    read_up_to: str | None = None

    def is_read(self, notification_id: str) -> bool:
        return self.read_up_to is not None and notification_id <= self.read_up_to


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

    @abc.abstractmethod
    async def ensure_oidc_user(self, subject: str, email: str, name: str, picture: str | None) -> User:
        """The user who signs in as `subject` ("<issuer>|<sub>"): the one linked to it, else the
        existing user with this verified email (linked now), else a new one. Name and picture are
        refreshed from the provider each time until the user sets a name themselves (`name_set`,
        see `update_profile`); from then on sign-in leaves both alone. Raises Conflict
        (`account_conflict`) when the email belongs to a user linked to another subject."""

    # token revocation
    @abc.abstractmethod
    async def revoke_token(self, jti: str, expires_at: datetime) -> None:
        """Remember a revoked token id until the token would have expired anyway."""

    @abc.abstractmethod
    async def token_standing(self, user_id: str, jti: str, session_id: str | None = None) -> TokenStanding:
        """Whether a token with a valid signature may still be used: its user exists, it has not
        been revoked and, for a token of a session, that session is the user's and still live
        (not revoked; expiry is the access token's own). One round trip, since every
        authenticated request asks."""

    # sessions (refresh-token families)
    @abc.abstractmethod
    async def create_session(self, session: Session, refresh_hash: str, now: datetime) -> None:
        """Store a new session whose current refresh token hashes to `refresh_hash`. When the user
        already has MAX_LIVE_SESSIONS live sessions, the least recently used are revoked first.
        A bounded number of round trips."""

    @abc.abstractmethod
    async def rotate_refresh(
        self,
        session_id: str,
        presented_hash: str,
        new_hash: str,
        *,
        now: datetime,
        expires_at: datetime,
        grace: timedelta,
    ) -> RotationResult:
        """Atomically compare-and-swap the session's current refresh hash `presented_hash` for
        `new_hash` (generation + 1, last used = now, expiry slid to `expires_at`). A presented hash
        that was the previous one and was replaced less than `grace` ago is a GRACE_REPLAY; any
        other hash of a live session is REUSED and revokes the session in the same call (the
        caller has verified the token is one we issued). A revoked, expired or unknown session is
        UNKNOWN."""

    @abc.abstractmethod
    async def list_sessions(self, user_id: str, now: datetime) -> list[Session]:
        """The user's live (unrevoked, unexpired) sessions, most recently used first; at most
        MAX_LIVE_SESSIONS. Bounded round trips."""

    @abc.abstractmethod
    async def revoke_session(self, user_id: str, session_id: str, now: datetime) -> None:
        """End one of the user's live sessions. Raises NotFound when it is not a live session of
        theirs (unknown, another user's, already ended)."""

    @abc.abstractmethod
    async def revoke_sessions(self, user_id: str, now: datetime) -> list[str]:
        """End every live session of the user; the ids ended."""

    # authorization codes (native apps)
    @abc.abstractmethod
    async def create_authorization_code(self, code_hash: str, code: AuthorizationCode, now: datetime) -> None:
        """Store a new, unused code under `code_hash`. May purge codes that expired more than
        AUTHORIZATION_CODE_RETENTION before `now`. A bounded number of round trips."""

    @abc.abstractmethod
    async def redeem_authorization_code(
        self, code_hash: str, now: datetime, session_id: str
    ) -> RedemptionResult:
        """Atomically burn the code: a live (`now` before its expiry), unused code becomes used with
        `session_id` written into it, in one compare-and-set, and is REDEEMED (with the record as
        stored before). A code used before is REUSED (its record names the session of the first
        redemption) for as long as it is kept; an unknown or expired unused code is UNKNOWN. Of
        concurrent redemptions of one code exactly one is REDEEMED."""

    # Web Push subscriptions
    @abc.abstractmethod
    async def save_push_subscription(self, subscription: PushSubscription) -> tuple[PushSubscription, bool]:
        """Keep `subscription` for its user; one with the same id is replaced (a browser may renew
        its keys for the same endpoint), keeping its `created_at`. Returns what is stored and whether
        it is new. Raises Conflict (`too_many_push_subscriptions`) when it is new and the user already
        has MAX_PUSH_SUBSCRIPTIONS. One atomic write (DynamoDB: a get and a conditional put)."""

    @abc.abstractmethod
    async def list_push_subscriptions(self, user_id: str) -> list[PushSubscription]:
        """The user's subscriptions, oldest first (at most MAX_PUSH_SUBSCRIPTIONS); one read."""

    @abc.abstractmethod
    async def delete_push_subscription(self, user_id: str, subscription_id: str) -> bool:
        """Forget one of the user's subscriptions; False when the user has none with this id."""

    @abc.abstractmethod
    async def delete_push_subscriptions(self, user_id: str) -> None:
        """Forget every subscription of the user (their account is being deleted)."""

    # notifications (issue 14 part 5)
    @abc.abstractmethod
    async def add_notifications(self, notifications: Collection[Notification]) -> None:
        """Store the notifications (at most NOTIFICATIONS_PER_WRITE), each with one added to its
        recipient's `unread` and logged in the recipient's changes log, all in one atomic write:
        all of them or none (so a caller announces exactly what was stored)."""

    @abc.abstractmethod
    async def list_notifications(
        self, user_id: str, *, limit: int, cursor: str | None = None
    ) -> Page[Notification]:
        """The user's notifications, newest first; one bounded read. Raises BadRequest
        (`invalid_cursor`) for a cursor this listing did not issue."""

    @abc.abstractmethod
    async def get_notifications(self, user_id: str, ids: Collection[str]) -> dict[str, Notification]:
        """Those of the user's notifications `ids` names that exist, by id: one bounded read (a
        page of the user's changes at most)."""

    @abc.abstractmethod
    async def notification_state(self, user_id: str) -> NotificationState:
        """The user's unread counter and read mark: one read of one row or item."""

    @abc.abstractmethod
    async def mark_notifications_read(self, user_id: str, up_to: str) -> NotificationState:
        """Mark the user's notification `up_to` and every older one read: the read mark moves
        to `up_to` unless it is already past it (so repeating is harmless) and `unread` becomes
        the number above the mark (reads only the unread ones, never the history). Raises
        NotFound (`notification not found`) when the user has no notification `up_to`."""

    @abc.abstractmethod
    async def delete_notifications(self, user_id: str) -> None:
        """Forget every notification of the user and their counter (account deletion)."""

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
    async def get_group_with_member_ids(self, group_id: str, user_id: str) -> tuple[Group, Member, list[str]]:
        """`get_group_as_member` plus every member's id (owner first, then by join time) in the
        same one read: what a write naming members (payers, participants) checks them against."""

    @abc.abstractmethod
    async def list_members(self, group_id: str) -> list[Member]:
        """Every member with their profile, owner first, then by join time."""

    @abc.abstractmethod
    async def list_user_groups(
        self, user_id: str, *, limit: int, cursor: str | None = None, kind: GroupKind | None = None
    ) -> Page[GroupMembership]:
        """The user's groups, most recently joined first; only those of `kind` when given (None:
        every kind). With `kind`, a page may hold fewer than `limit` while `next_cursor` is set
        (DynamoDB filters while paging). Raises BadRequest for a foreign cursor."""

    @abc.abstractmethod
    async def update_group(
        self, group_id: str, *, expected_version: int, changes: dict[str, Any], updated_at: datetime
    ) -> Group:
        """Apply `changes` (name, description, default_currency, categories: the group's whole
        tuple of CustomCategory, or rates: its whole tuple of GroupRate) if the stored version is
        still `expected_version`, bumping it. Raises NotFound or PreconditionFailed."""

    @abc.abstractmethod
    async def delete_group(self, group_id: str) -> None:
        """Delete the group and every membership atomically. Raises NotFound, or Conflict
        (code `balance_not_settled`) while any member has a non-zero balance."""

    @abc.abstractmethod
    async def add_member(
        self,
        group_id: str,
        user_id: str,
        joined_at: datetime,
        activity: ActivityEntry | None = None,
    ) -> tuple[Member, bool]:
        """Add a plain member; returns the membership and whether it was created now (False if the
        user already belonged, and then `activity` is not logged). Raises NotFound for a missing
        group, Conflict when the group is full."""

    @abc.abstractmethod
    async def remove_member(
        self,
        group_id: str,
        user_id: str,
        activity: ActivityEntry | None = None,
        *,
        barred_at: datetime | None = None,
    ) -> None:
        """Remove the membership, in one atomic write with `activity`. Every invite the user made
        to the group dies with it (`get_invite` and `list_invites` no longer find them, even if
        they rejoin). With `barred_at` (a removal by someone else), the user can no longer join
        through any invite made at or before that moment (`accept_invite` raises Forbidden); a
        link made later lets them back. Raises NotFound if the user is not a member, Conflict
        (code `balance_not_settled`) while they have a non-zero balance in any currency, Conflict
        (`owner_cannot_leave`) when they are the owner at the moment of the write, unless they
        are its last member (account deletion: the group then stays, memberless, with its
        history, for the people who left it before)."""

    @abc.abstractmethod
    async def transfer_ownership(
        self, group_id: str, *, from_user: str, to_user: str, activity: ActivityEntry
    ) -> Group:
        """Hand the group from its owner `from_user` to the member `to_user` in one atomic write
        with `activity`: the group's `owner_id`, `to_user`'s role "owner", `from_user`'s role
        "admin", the version bumped and `updated_at` set to `activity.at`. Returns the changed
        group. Judged in that same write, so of two concurrent handovers exactly one wins.
        Raises NotFound (no such group, or `to_user` is not a member), Invalid when both are
        the same user, Conflict (`owner_changed`) when `from_user` is no longer the owner."""

    @abc.abstractmethod
    async def set_member_role(
        self, group_id: str, user_id: str, role: Role, activity: ActivityEntry
    ) -> Member:
        """Make the member an "admin" or a plain "member", in one atomic write with `activity`;
        returns the membership with its profile as `list_members` has it. Raises NotFound (no
        such group or not a member), Invalid for the role "owner" (ownership is handed over
        with `transfer_ownership`), Conflict (`owner_role`) when the member is the owner at the
        moment of the write."""

    # invites
    @abc.abstractmethod
    async def create_invite(self, invite: Invite) -> None:
        """Store a new invite (`uses` 0); `get_invite(invite.token_hash)` and
        `get_group_invite(invite.group_id, invite.id)` then return it. Raises NotFound for a missing
        group, Conflict (`invite_exists`) when the token hash or id is taken."""

    @abc.abstractmethod
    async def get_invite(self, token_hash: str) -> Invite:
        """The invite with this token hash, with its current `uses`. Raises NotFound when there is
        none, or it was revoked, or its group is gone, or its maker has left the group since
        making it. Expired and used-up invites are returned: they are the caller's to judge."""

    @abc.abstractmethod
    async def get_group_invite(self, group_id: str, invite_id: str) -> Invite:
        """`get_invite`, by the public id within one group; the same NotFound cases."""

    @abc.abstractmethod
    async def list_invites(
        self, group_id: str, *, now: datetime, limit: int, cursor: str | None = None
    ) -> Page[Invite]:
        """The group's live invites at `now` (not expired, not used up, not revoked, maker still a
        member), newest first by id (ids are time-ordered). A page may hold fewer than `limit`
        while `next_cursor` is set. Raises BadRequest (`invalid_cursor`) for a foreign cursor."""

    @abc.abstractmethod
    async def revoke_invite(self, group_id: str, invite_id: str, activity: ActivityEntry) -> None:
        """Delete the invite and log `activity`, atomically; its token then finds nothing.
        Raises NotFound if the group has no such invite (or it is already dead)."""

    @abc.abstractmethod
    async def accept_invite(
        self, invite: Invite, user_id: str, now: datetime, activity: ActivityEntry
    ) -> tuple[Member, bool]:
        """Join `user_id` to the invite's group through it, in one atomic write: the membership
        (joined at `now`), one more use of the invite, and `activity`. Every rule is judged in
        that same write, so two concurrent accepts of a one-use link let exactly one in. Returns
        the membership and whether it was created now; an existing member gets (their
        membership, False) and uses nothing. Raises NotFound (the invite or its group is gone,
        or the maker left), Gone (`invite_expired` at `now`, `invite_used_up` at `max_uses`),
        Forbidden (`removed_from_group`: the user was removed after the invite was made),
        Conflict (`group_full`), NotFound for an unknown user."""

    # idempotency

    @abc.abstractmethod
    async def claim_idempotency_key(
        self, user_id: str, key: str, fingerprint: str, now: datetime
    ) -> StoredReply | None:
        """Claim `key` for the request `fingerprint` identifies.

        None: claimed; go ahead, and pass an `IdempotentReply` to the write so the answer is kept
        with the change. A StoredReply: the request already completed; replay it. Raises Conflict
        (code `idempotency_in_progress`) while another request holds an unexpired claim, Invalid
        (code `idempotency_key_reused`) when the key was used for a different request."""

    @abc.abstractmethod
    async def release_idempotency_key(self, user_id: str, key: str) -> None:
        """Drop an unfinished claim: its request failed without changing anything."""

    # expenses

    @abc.abstractmethod
    async def create_expense(
        self,
        expense: Expense,
        *,
        deltas: BalanceDeltas,
        activity: ActivityEntry,
        reply: IdempotentReply | None = None,
        spending: SpendingDeltas | None = None,
        expected_balances: BalanceDeltas | None = None,
    ) -> None:
        """Store the expense, move balances by `deltas` and spending by `spending`, log `activity`
        and record `reply`, all in one atomic write. Raises NotFound (no such group) or Conflict
        (code `not_a_member`) when a participant is not a member at the moment of the write.
        `expected_balances` ((user, currency) → minor units; absent from the store counts as 0):
        write only if each of those balances is still that, else Conflict `balances_changed` (a
        recorded conversion, computed from balances read a moment before); each of those users
        must be a member too."""

    @abc.abstractmethod
    async def get_expense(self, group_id: str, expense_id: str, *, include_deleted: bool = False) -> Expense:
        """Raises NotFound, also for a deleted expense unless `include_deleted` (then it comes
        with `deleted_at` and `deleted_by`)."""

    @abc.abstractmethod
    async def list_expenses(
        self,
        group_id: str,
        *,
        limit: int,
        cursor: str | None = None,
        filters: ExpenseFilter = ExpenseFilter(),
        include_deleted: bool = False,
    ) -> Page[Expense]:
        """Newest first: by date, then creation time, then id; deleted ones only with
        `include_deleted`. A page may hold fewer than `limit` items while `next_cursor` is set
        (filters, and leaving deleted ones out, are applied while paging)."""

    @abc.abstractmethod
    async def update_expense(
        self,
        expense: Expense,
        *,
        expected_version: int,
        deltas: BalanceDeltas,
        activity: ActivityEntry,
        spending: SpendingDeltas | None = None,
    ) -> None:
        """Replace the stored expense with `expense` (whose version is expected_version + 1) if the
        stored one is still at `expected_version`, moving balances and logging, atomically.
        Raises NotFound, PreconditionFailed (details `current_version`), Conflict `not_a_member`."""

    @abc.abstractmethod
    async def delete_expense(
        self,
        group_id: str,
        expense_id: str,
        *,
        expected_version: int,
        deltas: BalanceDeltas,
        activity: ActivityEntry,
        spending: SpendingDeltas | None = None,
        keep_until: datetime | None = None,
    ) -> None:
        """Soft-delete if still at `expected_version` (and not deleted), moving balances back,
        atomically: the expense stays, with `deleted_at` = `activity.at`, `deleted_by` =
        `activity.actor_id` and its version + 1, hidden from reads unless they ask for deleted
        ones, until `keep_until` (default `activity.at` + RESTORE_WINDOW); after that a backend
        may drop it (and its comments) whenever it likes: SQLite purges up to PURGE_BATCH
        expired ones in this same write, DynamoDB leaves it to TTL. Raises NotFound (also when
        already deleted), PreconditionFailed, or Conflict `not_a_member` when someone it
        involves has left the group (their balance would move while they are not there to
        settle it)."""

    @abc.abstractmethod
    async def restore_expense(
        self,
        expense: Expense,
        *,
        expected_version: int,
        deltas: BalanceDeltas,
        activity: ActivityEntry,
        spending: SpendingDeltas | None = None,
    ) -> None:
        """Bring a deleted expense back as `expense` (no `deleted_at`, version expected_version +
        1) if the stored one is deleted and still at `expected_version`, moving balances and
        spending again and logging `activity`, atomically. Raises NotFound (no such expense, or
        not deleted: callers check that first, from their read), PreconditionFailed, Conflict
        `not_a_member` (details `user_ids`) when anyone it involves is not a member now."""

    # recurring expenses

    @abc.abstractmethod
    async def create_recurring(
        self, rule: RecurringRule, *, activity: ActivityEntry, reply: IdempotentReply | None = None
    ) -> None:
        """Store the rule, log `activity` and record `reply`, in one atomic write. Raises NotFound
        (no such group) or Conflict `too_many_recurring` (the group has MAX_RECURRING_PER_GROUP)."""

    @abc.abstractmethod
    async def get_recurring(self, group_id: str, rule_id: str) -> RecurringRule:
        """Raises NotFound (`recurring_not_found`)."""

    @abc.abstractmethod
    async def list_recurring(self, group_id: str) -> list[RecurringRule]:
        """The group's rules, oldest first (at most MAX_RECURRING_PER_GROUP)."""

    @abc.abstractmethod
    async def update_recurring(
        self, rule: RecurringRule, *, expected_version: int, activity: ActivityEntry
    ) -> None:
        """Replace the stored rule with `rule` (version expected_version + 1) if it is still at
        `expected_version`, logging `activity`, atomically. Raises NotFound, PreconditionFailed
        (details `current_version`)."""

    @abc.abstractmethod
    async def delete_recurring(
        self, group_id: str, rule_id: str, *, expected_version: int, activity: ActivityEntry
    ) -> None:
        """Delete the rule if still at `expected_version` (the expenses it made stay), logging
        `activity`, atomically. Raises NotFound, PreconditionFailed."""

    @abc.abstractmethod
    async def due_recurring(self, now: datetime, *, limit: int) -> list[RecurringRule]:
        """Rules of any group that are due (not paused, not finished) with `due_at` at or before
        `now`, earliest first, at most `limit`: a range on an index, never a scan. On
        DynamoDB the index is eventually consistent, so a rule may come back a moment stale;
        `create_occurrence` is conditional, so a stale one makes nothing twice."""

    @abc.abstractmethod
    async def create_occurrence(
        self,
        expense: Expense,
        rule: RecurringRule,
        *,
        expected_version: int,
        deltas: BalanceDeltas,
        activity: ActivityEntry,
        spending: SpendingDeltas | None = None,
    ) -> None:
        """Make one occurrence of a recurring expense, in one atomic write: store `expense` (its
        `recurring_id` is `rule.id`), the occurrence key (`rule.id`, `expense.date`), `rule` as
        it is after this occurrence (version expected_version + 1), the balances and spending it
        moves and `activity`. Raises PreconditionFailed when the rule is no longer at
        `expected_version` (another instance made this occurrence, or someone edited the rule),
        Conflict `occurrence_exists` when the key is there, NotFound when the rule or the group
        is gone, Conflict `not_a_member` (details `user_ids`) when someone it involves, its
        creator included, is not a member."""

    # imports

    @abc.abstractmethod
    async def existing_records(self, group_id: str, ids: Collection[str]) -> set[str]:
        """Which of `ids` name an expense or settlement of the group, deleted ones included: keyed
        look-ups in batches, never a scan."""

    @abc.abstractmethod
    async def import_records(
        self, group_id: str, records: Sequence[ImportedRecord], *, activity: ActivityEntry
    ) -> None:
        """Write all of `records` with the balances and spending they move, and `activity`, or
        none of them. Raises Conflict `record_exists` when one of their ids is taken (the same
        file imported meanwhile), Conflict `not_a_member` when someone they involve is not a
        member, NotFound when the group is gone: nothing is written then. No records: nothing
        at all (not even `activity`).

        SQLite writes it all in one transaction. DynamoDB cannot (100 actions a transaction):
        it takes the group's import lease, writes the records in transactions of whole records
        with their balances (so balances always match the records there), and on a failure
        deletes what it wrote before letting it go; while the lease is held, other writes to the
        group's ledger are refused with Conflict `import_in_progress`, and another import too."""

    # exchange rates

    @abc.abstractmethod
    async def put_rates(self, quotes: Sequence[RateQuote]) -> int:
        """Store the quotes, each replacing the one for its currency and day, except that an
        `ecb` quote never replaces an `imported` one (of quotes for the same currency and day,
        the last one counts). Returns how many were written. Idempotent
        but not atomic across quotes (the ECB's history is 200,000 of them): running it again
        completes an interrupted import."""

    @abc.abstractmethod
    async def rates_on(self, currencies: Collection[str], on: str) -> dict[str, RateQuote]:
        """For each of `currencies`, its latest quote dated on or before `on` (YYYY-MM-DD);
        a currency without one is absent. One indexed look-up per currency, side by side."""

    # settlements (the seed's "transactions")

    @abc.abstractmethod
    async def create_settlement(
        self,
        settlement: Settlement,
        *,
        deltas: BalanceDeltas,
        activity: ActivityEntry,
        reply: IdempotentReply | None = None,
    ) -> None:
        """As create_expense."""

    @abc.abstractmethod
    async def get_settlement(
        self, group_id: str, settlement_id: str, *, include_deleted: bool = False
    ) -> Settlement:
        """Raises NotFound; as get_expense for deleted ones."""

    @abc.abstractmethod
    async def list_settlements(
        self, group_id: str, *, limit: int, cursor: str | None = None, include_deleted: bool = False
    ) -> Page[Settlement]:
        """Newest first: by date, then creation time, then id; as list_expenses for deleted ones
        (so a page may be short while `next_cursor` is set)."""

    @abc.abstractmethod
    async def delete_settlement(
        self,
        group_id: str,
        settlement_id: str,
        *,
        expected_version: int,
        deltas: BalanceDeltas,
        activity: ActivityEntry,
        keep_until: datetime | None = None,
    ) -> None:
        """As delete_expense (a soft delete)."""

    @abc.abstractmethod
    async def restore_settlement(
        self,
        settlement: Settlement,
        *,
        expected_version: int,
        deltas: BalanceDeltas,
        activity: ActivityEntry,
    ) -> None:
        """As restore_expense."""

    # balances and activity

    @abc.abstractmethod
    async def get_balances(self, group_id: str) -> list[Balance]:
        """Every (current member, currency) balance the group has recorded, zeros included, sorted
        by user then currency. Costs the same however long the group's history is."""

    @abc.abstractmethod
    async def get_balances_for_member(self, group_id: str, user_id: str) -> list[Balance]:
        """`get_balances`, for a caller who must be a member of the group (NotFound otherwise),
        in one read: what the balances and settle-up endpoints need."""

    @abc.abstractmethod
    async def list_activity(
        self, group_id: str, *, limit: int, cursor: str | None = None
    ) -> Page[ActivityEntry]:
        """Newest first."""

    @abc.abstractmethod
    async def dashboard(self, user_id: str, *, group_limit: int, recent_limit: int) -> Dashboard:
        """The user's position across their `group_limit` most recently joined groups: their
        balances in each, their share of spending (kept incrementally by the expense writes'
        `spending` deltas, so this never reads expense history), and the `recent_limit` latest
        activity entries of those groups. A bounded number of round trips: the recent activity
        comes from the few groups whose latest activity is newest (every activity write records
        the time on the group), not from all of them."""

    # chat

    @abc.abstractmethod
    async def create_chat_message(self, message: ChatMessage) -> None:
        """Persist a message (before anyone is told of it), in one atomic write that checks the
        author's membership. Raises NotFound (no such group), Conflict (`not_a_member`, details
        `user_ids`) when the author is not a member at the moment of the write, or Conflict
        (`chat_message_exists`) when a message with this id is already stored. The text is
        stored as given: its limits are the caller's to enforce (`services.chats`)."""

    @abc.abstractmethod
    async def list_chat_messages(
        self, group_id: str, *, limit: int, cursor: str | None = None
    ) -> Page[ChatMessage]:
        """Newest first (by creation time, then id); a bounded read however long the history.
        A page may hold fewer than `limit` messages while `next_cursor` is set (DynamoDB stops a
        page at 1 MB). An unknown group has no messages. Raises BadRequest (`invalid_cursor`)
        for a cursor this listing did not issue."""

    # the changes log (issue 14): every write to a group's record of kind `group`, `member`,
    # `expense`, `settlement` or `chat` adds one Change per record it changes, in the same atomic
    # write, numbered in commit order.

    @abc.abstractmethod
    async def list_changes(self, group_id: str, *, after: int, limit: int) -> tuple[list[Change], bool]:
        """The group's changes with `seq` above `after`, oldest first, at most `limit`, and whether
        there are more. One bounded read however long the log. An unknown group has none."""

    @abc.abstractmethod
    async def last_change(self, group_id: str) -> int:
        """The `seq` of the group's latest change (0 when it has none): "now" in its log."""

    @abc.abstractmethod
    async def read_changed(self, group_id: str, changes: Collection[Change]) -> ChangedRecords:
        """The expenses, settlements, chat messages and comments `changes` name that still exist
        (deleted expenses and settlements included: the caller tells them apart), in one
        bounded read (a page of changes at most). Groups and members are read as usual."""

    # the user's own changes log (issue 14): every write that changes what a user sees outside any
    # one group's records adds one UserChange for that user, in the same atomic write, numbered in
    # commit order per user: a membership added or removed (kind `group`, or `friend` for a direct
    # ledger; for each member when a group is deleted), the profile updated (`profile`), a
    # notification stored (`notification`), the read mark moved (`read`).

    @abc.abstractmethod
    async def list_user_changes(
        self, user_id: str, *, after: int, limit: int
    ) -> tuple[list[UserChange], bool]:
        """The user's changes with `seq` above `after`, oldest first, at most `limit`, and whether
        there are more. One bounded read however long the log. An unknown user has none."""

    @abc.abstractmethod
    async def last_user_change(self, user_id: str) -> int:
        """The `seq` of the user's latest change (0 when there is none): "now" in their log."""

    @abc.abstractmethod
    async def delete_user_changes(self, user_id: str) -> None:
        """Forget the user's changes log (account deletion: the groups, friends and notifications
        it names are their personal data)."""

    # comments on expenses and settlements

    @abc.abstractmethod
    async def create_comment(self, comment: Comment, activity: ActivityEntry) -> None:
        """Store the comment and log `activity`, in one atomic write that checks the author is a
        member and the subject (the group's expense or settlement) exists and is not deleted.
        Raises NotFound (no such group, or no such live subject), Conflict (`not_a_member`,
        details `user_ids`). The text is the caller's to check (`services.comments`)."""

    @abc.abstractmethod
    async def get_comment(self, group_id: str, subject_id: str, comment_id: str) -> Comment:
        """One comment on the subject; raises NotFound (`comment not found`)."""

    @abc.abstractmethod
    async def list_comments(
        self, group_id: str, subject_id: str, *, limit: int, cursor: str | None = None
    ) -> Page[Comment]:
        """The subject's comments, newest first by id (ids are time-ordered); one bounded read.
        A page may hold fewer than `limit` while `next_cursor` is set. Whether the subject is
        visible is the caller's to check. Raises BadRequest (`invalid_cursor`) for a foreign
        cursor."""

    @abc.abstractmethod
    async def delete_comment(
        self, group_id: str, subject_id: str, comment_id: str, activity: ActivityEntry
    ) -> None:
        """Delete the comment and log `activity`, atomically. Raises NotFound when there is no
        such comment (or no such group)."""

    # people

    @abc.abstractmethod
    async def update_profile(self, user_id: str, *, changes: dict[str, Any]) -> User:
        """Apply `changes` to the user's own profile: `name` (also sets `name_set`, so sign-in
        stops refreshing name and picture), `default_currency`, `locale` (None clears it); other
        keys are ignored. One write; returns the user as stored. Raises NotFound."""

    @abc.abstractmethod
    async def can_see_user(self, viewer_id: str, user_id: str) -> bool:
        """Whether `viewer_id` may look `user_id` up: they are the same person, or the viewer is a
        current member of a group `user_id` belongs or ever belonged to (friendships are direct
        groups, so they count). False for unknown ids. Two round trips at most (the viewer's
        memberships, then the group people of those groups in one batch)."""

    @abc.abstractmethod
    async def list_groups_ever(self, user_id: str, *, limit: int, cursor: str | None = None) -> Page[str]:
        """The ids of every group the user belongs or ever belonged to (left ones, direct ledgers
        and deleted groups included), by id, one page at a time: what the personal data export
        reads. Raises BadRequest (`invalid_cursor`) for a foreign cursor."""

    @abc.abstractmethod
    async def get_users(self, user_ids: Collection[str]) -> dict[str, User]:
        """The users with these ids, by id, in one round trip (DynamoDB: one BatchGetItem per 100
        ids); unknown ids are left out, duplicates are fine. Deleted accounts are included as
        they are stored (`deleted_at` set, personal data erased)."""

    # friends: direct ledgers

    @abc.abstractmethod
    async def ensure_direct_group(self, group: NewGroup, friend_id: str) -> tuple[Group, bool]:
        """The direct ledger `group.id` (kind `direct`) between `group.owner_id` and `friend_id`,
        both with role `member`: created now, owned by `group.owner_id`, if it does not exist;
        else given back whichever of the two memberships it lacks (joined at `group.created_at`),
        keeping its name, owner, currency and history. Returns the ledger and whether a
        membership was created now. Atomic and safe to race: concurrent calls for the same pair
        end in one ledger with both members. Raises NotFound for an unknown user."""

    @abc.abstractmethod
    async def end_direct_group(self, group_id: str) -> None:
        """Remove both memberships of a direct ledger in one atomic write, keeping the ledger, its
        history and its members' spending (`ensure_direct_group` brings them back). Raises
        NotFound when it has no members, Conflict (`balance_not_settled`) while a balance in it
        is not zero."""

    @abc.abstractmethod
    async def list_friends(self, user_id: str, *, limit: int) -> tuple[list[Friend], bool]:
        """The people the user has a direct ledger with (both current members), most recently
        (re)joined first, at most `limit`, and whether there are more. A bounded number of round
        trips (the friends' profiles in one batch)."""

    @abc.abstractmethod
    async def balances_across_groups(
        self, user_id: str, *, group_limit: int
    ) -> tuple[list[GroupBalances], bool]:
        """Every current member's balances (as `get_balances`, zeros left out) in each of the
        user's `group_limit` most recently joined groups, of every kind, in which the user's own
        balance is not zero in some currency; and whether the user has more than `group_limit`
        groups. Never reads history: SQLite answers in one query, DynamoDB reads the user's
        memberships from `by_user` and then the partitions of those groups, in parallel."""

    # accounts

    @abc.abstractmethod
    async def get_oidc_subject(self, user_id: str) -> str | None:
        """The sign-in identity ("<issuer>|<sub>") linked to the user, None when there is none
        (never signed in through OpenID Connect, or deleted). Raises NotFound. One read."""

    @abc.abstractmethod
    async def erase_user(self, user_id: str, deleted_at: datetime) -> User:
        """Delete the account, keeping its record (other people's expenses name it): name "",
        e-mail "" (and free: `ensure_user` and `find_user_by_email` no longer find the address),
        picture None, the sign-in identity unlinked (`ensure_oidc_user` with the same subject
        then makes a new user), `deleted_at` set, after which `token_standing` answers
        UNKNOWN_USER for every token of the user. One atomic write; a second call changes
        nothing (the first `deleted_at` stays). Memberships are the caller's to end before.
        Raises NotFound."""
