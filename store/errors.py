"""The errors every backend raises for the same broken rule, made in one place so that both answer a
client with the same code, message and details."""

from __future__ import annotations

from collections.abc import Iterable

from domain import Conflict, Forbidden, Gone, Invalid, NotFound


def group_not_found() -> NotFound:
    return NotFound("group not found")


def user_not_found() -> NotFound:
    return NotFound("user not found")


def session_not_found() -> NotFound:
    return NotFound("no such session", code="session_not_found")


def too_many_push_subscriptions(limit: int) -> Conflict:
    return Conflict(
        f"at most {limit} push subscriptions per user; remove one first",
        code="too_many_push_subscriptions",
        details={"limit": limit},
    )


def record_not_found(kind: str) -> NotFound:
    """`kind` is "expense" or "transaction" (settlements keep their wire name in messages)."""
    return NotFound(f"{kind} not found")


def not_a_member(outsiders: Iterable[str]) -> Conflict:
    """A payer or participant of a balance-moving write is not (or no longer) a member."""
    return Conflict(
        "every payer and participant must be a member of the group",
        code="not_a_member",
        details={"user_ids": sorted(outsiders)},
    )


def author_not_a_member(author_id: str) -> Conflict:
    return Conflict(
        "only a member of the group can post to its chat",
        code="not_a_member",
        details={"user_ids": [author_id]},
    )


def chat_message_exists() -> Conflict:
    return Conflict("a chat message with this id exists", code="chat_message_exists")


def unsettled(message: str) -> Conflict:
    """Leaving, removing or deleting while a balance involved is not zero."""
    return Conflict(message, code="balance_not_settled")


def key_reused() -> Invalid:
    return Invalid(
        "this Idempotency-Key was already used for a different request",
        code="idempotency_key_reused",
    )


def in_progress() -> Conflict:
    return Conflict(
        "a request with this Idempotency-Key is still being processed; retry shortly",
        code="idempotency_in_progress",
    )


def linked_elsewhere() -> Conflict:
    return Conflict(
        "this email belongs to an account already linked to another sign-in identity",
        code="account_conflict",
    )


def invite_not_found() -> NotFound:
    """Unknown, revoked, made by someone who has since left, or to a group that is gone: the
    holder of a dead link learns nothing more than that it is dead."""
    return NotFound("invite not found")


def invite_expired() -> Gone:
    return Gone("this invite has expired; ask for a new one", code="invite_expired")


def invite_used_up() -> Gone:
    return Gone("this invite has been used as often as it may be; ask for a new one", code="invite_used_up")


def removed_from_group() -> Forbidden:
    """The user was removed from the group after this invite was made: only a newer link lets
    them back."""
    return Forbidden(
        "you were removed from this group after this invite was made; ask for a new one",
        code="removed_from_group",
    )


def member_not_found() -> NotFound:
    return NotFound("member not found")


def owner_changed() -> Conflict:
    """A handover by someone who is no longer the owner: another handover won the race."""
    return Conflict("the group's owner changed meanwhile; reload the group", code="owner_changed")


def owner_role() -> Conflict:
    """The owner's role is not set member by member: ownership moves with a handover."""
    return Conflict(
        "the owner's role cannot be changed; hand ownership to another member instead",
        code="owner_role",
    )


def handover_to_self() -> Invalid:
    return Invalid(
        "user_id: you already own this group",
        details=[{"field": "user_id", "message": "is already the owner"}],
    )


def role_not_settable() -> Invalid:
    return Invalid(
        "role: ownership is handed over with POST /api/groups/{group_id}/owner",
        details=[{"field": "role", "message": "must be admin or member"}],
    )


def owner_cannot_leave() -> Conflict:
    return Conflict(
        "the owner cannot leave or be removed; delete the group instead", code="owner_cannot_leave"
    )


def comment_not_found() -> NotFound:
    return NotFound("comment not found")


def commenter_not_a_member(author_id: str) -> Conflict:
    return Conflict(
        "only a member of the group can comment",
        code="not_a_member",
        details={"user_ids": [author_id]},
    )


def notification_not_found() -> NotFound:
    return NotFound("notification not found")


def balances_changed() -> Conflict:
    """A write computed from balances read a moment before found them changed (by another write)."""
    return Conflict(
        "the balances changed meanwhile (another write landed first); nothing was written",
        code="balances_changed",
    )
