"""Notifications (issue 14 part 5): what other people did that concerns a user, kept in their feed,
sent live on their channel (`notification.created`) and pushed to their browsers.

A use case calls in right after its own write has committed, with who it concerns: the
notifications are one atomic store write of their own (every recipient's row and counter at once),
not part of the change's write, because on DynamoDB they do not fit in it: a ledger write in a
full group is already up to 54 actions plus its changes log, and 50 recipients need 100 more
(docs/notifications.md). A crash between the two writes loses the change's notifications, never
the change. These calls never raise: the change is committed, and failing its request now would
make the client retry a write that happened."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from domain import Comment, Expense, Settlement
from domain.clock import Clock, to_text
from domain.ids import new_id
from domain.models import Page
from ledger import format_amount
from services.common import Service
from services.events import Events
from services.push import Push
from store import MAX_NOTIFICATION_RECIPIENTS, NOTIFICATIONS_PER_WRITE, Notification, NotificationState, Store

log = logging.getLogger(__name__)

EXCERPT_LENGTH = 80
"""How much of a comment's text its notification quotes."""
COMMENTERS_READ = 100
"""How many of a subject's latest comments are read to find who commented on it before."""

_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "INR": "₹", "CHF": "CHF "}


def money(amount: int, currency: str) -> str:
    """`€30.00`, `$5.00`; `30.00 SEK` where no symbol is common."""
    text = format_amount(amount, currency)
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{text}" if symbol else f"{text} {currency}"


def notification_json(notification: Notification, state: NotificationState) -> dict[str, Any]:
    """A notification as the feed, the event and the push message carry it."""
    return {
        "id": notification.id,
        "kind": notification.kind,
        "actor": {"id": notification.actor_id, "name": notification.actor_name},
        "summary": notification.summary,
        "link": notification.link,
        "created_at": to_text(notification.created_at),
        "read": state.is_read(notification.id),
    }


def expense_people(*expenses: Expense | None) -> set[str]:
    """Everyone an expense (or its versions) involves: who paid and who owes a share."""
    people: set[str] = set()
    for expense in expenses:
        if expense is not None:
            people.update(expense.paid, expense.owed)
    return people


_VERBS = {
    "expense.created": "added",
    "expense.updated": "changed",
    "expense.deleted": "deleted",
    "expense.restored": "restored",
    "settlement.created": "recorded",
    "settlement.deleted": "deleted",
    "settlement.restored": "restored",
}


class Notifications(Service):
    """The feed's reads, and the writes a use case makes after its change committed."""

    def __init__(self, store: Store, events: Events, clock: Clock, push: Push) -> None:
        super().__init__(store, events, clock)
        self.push = push

    # reading

    async def page(
        self, user_id: str, *, limit: int, cursor: str | None
    ) -> tuple[Page[Notification], NotificationState]:
        """A page of the user's feed, newest first, with their counter and read mark."""
        page = await self.store.list_notifications(user_id, limit=limit, cursor=cursor)
        return page, await self.store.notification_state(user_id)

    async def unread_count(self, user_id: str) -> int:
        return (await self.store.notification_state(user_id)).unread

    async def mark_read(self, user_id: str, up_to: str) -> NotificationState:
        """`up_to` and everything older read; NotFound for an id that is not one of theirs. The
        user's other devices hear it (`notifications.read`), as the user's changes feed logs it."""
        state = await self.store.mark_notifications_read(user_id, up_to)
        self.events.to_user(
            user_id, "notifications.read", {"read_up_to": state.read_up_to, "unread_count": state.unread}
        )
        return state

    # writing, after a change committed

    async def expense_changed(self, kind: str, actor_id: str, before: Expense | None, after: Expense) -> None:
        """`after` was created, edited (from `before`), deleted or restored by `actor_id`."""

        def summary(recipient: str, actor: str) -> str:
            total = f"“{after.description}” ({money(after.amount, after.currency)})"
            text = f"{actor} {_VERBS[kind]} {total}"
            if kind == "expense.deleted":
                return text
            share = after.owed.get(recipient, 0)
            if share:
                return f"{text}, your share {money(share, after.currency)}"
            if recipient in after.paid:
                return f"{text}, you paid {money(after.paid[recipient], after.currency)}"
            return f"{text}; you are no longer in it"

        await self._notify(
            actor_id,
            expense_people(before, after),
            kind,
            summary,
            {"kind": "expense", "group_id": after.group_id, "expense_id": after.id},
        )

    async def settlement_changed(self, kind: str, actor_id: str, settlement: Settlement) -> None:
        """`settlement` was recorded, deleted or restored by `actor_id`."""
        s = settlement
        names = await self._names([s.from_user, s.to_user])

        def summary(recipient: str, actor: str) -> str:
            payer = "you" if recipient == s.from_user else names.get(s.from_user, "someone")
            payee = "you" if recipient == s.to_user else names.get(s.to_user, "someone")
            what = "a payment" if kind == "settlement.created" else "the payment"
            return f"{actor} {_VERBS[kind]} {what} of {money(s.amount, s.currency)} from {payer} to {payee}"

        await self._notify(
            actor_id,
            {s.from_user, s.to_user},
            kind,
            summary,
            {"kind": "settlement", "group_id": s.group_id, "settlement_id": s.id},
        )

    async def comment_posted(self, comment: Comment) -> None:
        """Tell those the comment's subject involves, and who commented on it before."""
        c = comment
        try:
            if c.subject_kind == "expense":
                expense = await self.store.get_expense(c.group_id, c.subject_id)
                people = expense_people(expense)
                subject = f"“{expense.description}”"
            else:
                settlement = await self.store.get_settlement(c.group_id, c.subject_id)
                people = {settlement.from_user, settlement.to_user}
                subject = f"the payment of {money(settlement.amount, settlement.currency)}"
            earlier = await self.store.list_comments(c.group_id, c.subject_id, limit=COMMENTERS_READ)
        except Exception:
            log.exception("notifying of comment %s failed", c.id)
            return
        people.update(other.author_id for other in earlier.items)
        excerpt = c.text if len(c.text) <= EXCERPT_LENGTH else c.text[: EXCERPT_LENGTH - 1] + "…"
        link = {"kind": "comment", "group_id": c.group_id, "comment_id": c.id}
        link["expense_id" if c.subject_kind == "expense" else "settlement_id"] = c.subject_id
        await self._notify(
            c.author_id,
            people,
            "comment.created",
            lambda _recipient, actor: f"{actor} commented on {subject}: “{excerpt}”",
            link,
        )

    async def friend_added(self, actor_id: str, friend_id: str, group_id: str) -> None:
        """`actor_id` made (or brought back) their direct ledger with `friend_id`."""
        await self._notify(
            actor_id,
            {friend_id},
            "group.added",
            lambda _recipient, actor: f"{actor} added you as a friend",
            {"kind": "group", "group_id": group_id},
        )

    async def _names(self, user_ids: Iterable[str]) -> dict[str, str]:
        try:
            users = await self.store.get_users(list(user_ids))
        except Exception:
            log.exception("reading names for a notification failed")
            return {}
        return {user_id: user.name or "Deleted user" for user_id, user in users.items()}

    async def _notify(
        self,
        actor_id: str,
        recipients: Iterable[str],
        kind: str,
        summary: Callable[[str, str], str],
        link: dict[str, str],
    ) -> None:
        """Store one notification per recipient but the actor (at most
        MAX_NOTIFICATION_RECIPIENTS), then announce and push each. Never raises."""
        people = sorted(set(recipients) - {actor_id})[:MAX_NOTIFICATION_RECIPIENTS]
        if not people:
            return
        try:
            users = await self.store.get_users([actor_id, *people])
            # A deleted account is told nothing more (its notifications went with it).
            people = [p for p in people if p in users and users[p].deleted_at is None]
            if not people:
                return
            actor = users.get(actor_id)
            actor_name = (actor.name if actor is not None else "") or "Someone"
            now = self.clock()
            made = [
                Notification(
                    id=new_id(),
                    user_id=recipient,
                    kind=kind,
                    actor_id=actor_id,
                    actor_name=actor_name,
                    summary=summary(recipient, actor_name),
                    link=link,
                    created_at=now,
                )
                for recipient in people
            ]
        except Exception:
            log.exception("preparing %s notifications failed", kind)
            return
        # Each write stores all of its notifications or none: announce exactly those stored (the
        # recipients' changes feeds log them, and a subscriber is promised every logged change).
        for start in range(0, len(made), NOTIFICATIONS_PER_WRITE):
            chunk = made[start : start + NOTIFICATIONS_PER_WRITE]
            try:
                await self.store.add_notifications(chunk)
            except Exception:
                log.exception("storing %s notifications failed", kind)
                return
            for notification in chunk:
                body = notification_json(notification, NotificationState())
                self.events.to_user(notification.user_id, "notification.created", body)
                self.push.send(notification.user_id, {"type": "notification", "notification": body})
