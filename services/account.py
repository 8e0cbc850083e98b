"""Leaving for good, and taking one's data along: account deletion and the personal data export.

Deletion ends every membership first and erases the user record last, so a request that dies
half-way leaves a live account (with a live token) whose retry finishes the job; once the record is
erased, every token of the user is dead on every instance (`Store.token_standing`). Other people's
records are never touched: expenses and settlements keep naming the deleted user's id, and since
only zero balances may leave a group, every balance and `verify-balances` stays exact.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from domain import (
    ChatMessage,
    Conflict,
    Expense,
    ExpenseFilter,
    Group,
    GroupMembership,
    NotFound,
    Page,
    Settlement,
    User,
)
from domain.clock import to_text
from ocr.storage import ReceiptStorage
from services.common import Service
from services.notifications import notification_json
from services.payloads import (
    chat_message_json,
    expense_json,
    public_user_json,
    settlement_json,
    user_json,
    user_names_json,
)

log = logging.getLogger(__name__)

PAGE_SIZE = 100
FRIEND_EXPORT_LIMIT = 10_000
LEAVE_ROUNDS = 3
"""How many times deletion lists the user's groups again to leave ones joined meanwhile."""
Item = TypeVar("Item")


class Accounts(Service):
    async def delete(self, user_id: str, receipts: ReceiptStorage) -> User:
        """Delete the account of `user_id` (see the module). 409 `balance_not_settled` while any
        of their balances is not zero, 409 `owner_of_groups` while they own a group with other
        members (both name the groups); a group they own alone is left, and deleted if it has
        no history (else it stays, memberless, for those who left it before). Idempotent."""
        user = await self.store.get_user(user_id)
        if user.deleted_at is not None:
            return user
        left: list[str] = []
        for _ in range(LEAVE_ROUNDS):
            memberships = await self._memberships(user_id)
            if not memberships:
                break
            await self._check_may_go(user_id, memberships)
            for membership in memberships:
                await self._leave(user_id, membership.group)
                left.append(membership.group.id)
        else:
            if await self._memberships(user_id):
                raise Conflict(
                    "groups kept being joined while the account was being deleted; try again",
                    code="account_busy",
                )
        for receipt_id in await receipts.uploaded_by(user_id):
            await receipts.erase(receipt_id, user_id)
        erased = await self.store.erase_user(user_id, self.clock())
        # Refresh tokens die with the account (its access tokens already do: no such user).
        await self.store.revoke_sessions(user_id, self.clock())
        # Nothing is pushed to a deleted account's browsers again.
        await self.store.delete_push_subscriptions(user_id)
        # Their notifications are their personal data: gone with the account.
        await self.store.delete_notifications(user_id)
        # Whoever still shows the person (the groups' members) now shows a deleted user.
        for group_id in left:
            self.events.to_group(group_id, "user.updated", public_user_json(erased))
        # An invite accepted in the moment between the last listing and the erasure (the token
        # was still alive then) is left now; nobody can sign in as the user any more.
        for membership in await self._memberships(user_id):
            try:
                await self._leave(user_id, membership.group)
            except Conflict:
                log.warning("deleted user %s is still in group %s", user_id, membership.group.id)
        # Their changes log names the groups, friends and notifications they had: it goes too,
        # last, after every write above that logged something for them.
        await self.store.delete_user_changes(user_id)
        return erased

    async def _check_may_go(self, user_id: str, memberships: list[GroupMembership]) -> None:
        unsettled: list[Group] = []
        for membership in memberships:
            balances = await self.store.get_balances_for_member(membership.group.id, user_id)
            if any(b.user_id == user_id and b.amount != 0 for b in balances):
                unsettled.append(membership.group)
        if unsettled:
            raise _unsettled(unsettled)
        owned = [
            m.group
            for m in memberships
            if m.group.kind == "group" and m.group.owner_id == user_id and m.group.member_count > 1
        ]
        if owned:
            raise _owner_of(owned)

    async def _leave(self, user_id: str, group: Group) -> None:
        """Leave `group`. A direct ledger ends as a friendship does (its refusal to lose a member is
        a service rule, and this is the one case it yields to). The last member may leave even as
        the owner; the group is then deleted only if it has no history: otherwise it stays,
        memberless, so that the records of people who left it before stay whole."""
        try:
            if group.kind == "direct":
                await self._end_friendship(user_id, group)
                return
            entry = self.activity(group.id, user_id, "member.left", user_id, {})
            await self.store.remove_member(group.id, user_id, entry)
        except NotFound:
            return  # gone already: an earlier attempt, or a concurrent leave
        except Conflict as exc:
            if exc.code == "balance_not_settled":
                # A balance appeared since the check: the account stays.
                raise _unsettled([group]) from None
            if exc.code == "owner_cannot_leave":
                # Someone joined the group they owned alone since the check.
                raise _owner_of([group]) from None
            raise
        self.events.to_group(group.id, "member.left", {"group_id": group.id, "user_id": user_id})
        if group.member_count <= 1 and not await self._has_history(group.id):
            try:
                await self.store.delete_group(group.id)
            except (NotFound, Conflict):
                pass  # already gone, or someone's balance in it: keep it
            else:
                self.events.to_group(group.id, "group.deleted", {"id": group.id})
                self.events.to_user(
                    user_id, "group.removed", {"group_id": group.id, "reason": "group.deleted"}
                )
                return
        self.events.to_user(user_id, "group.removed", {"group_id": group.id, "reason": "member.left"})

    async def _has_history(self, group_id: str) -> bool:
        """Whether the group holds any expense, settlement (deleted ones too: they may still be
        restored) or chat message (one page of each)."""
        for page in (
            await self.store.list_expenses(group_id, limit=1, include_deleted=True),
            await self.store.list_settlements(group_id, limit=1, include_deleted=True),
            await self.store.list_chat_messages(group_id, limit=1),
        ):
            if page.items or page.next_cursor:
                return True
        return False

    async def _end_friendship(self, user_id: str, group: Group) -> None:
        """Both leave the direct ledger, as when a friendship ends (`services.friends`): the
        friend no longer lists a deleted user, and the ledger keeps its history."""
        members = [m.user_id for m in await self.store.list_members(group.id)]
        await self.store.end_direct_group(group.id)
        for one in members:
            other = next((m for m in members if m != one), user_id)
            self.events.to_group(group.id, "member.left", {"group_id": group.id, "user_id": one})
            self.events.to_user(one, "friend.removed", {"user_id": other, "group_id": group.id})
            self.events.to_user(one, "group.removed", {"group_id": group.id, "reason": "friend.removed"})

    async def _memberships(self, user_id: str) -> list[GroupMembership]:
        return [
            m
            async for m in _every(
                lambda cursor: self.store.list_user_groups(user_id, limit=PAGE_SIZE, cursor=cursor)
            )
        ]

    async def export(self, user_id: str, receipts: ReceiptStorage) -> dict[str, Any]:
        """Everything held about the user, as one JSON document: the profile, the sign-in
        identity (no secret is stored), their groups with their role and the groups they left,
        their friends, every expense and settlement they take part in and every chat message
        they wrote in any group they ever belonged to, the receipts they uploaded (metadata), the
        browsers they let us push to, and the names of everyone it mentions. Reads the history of
        each group, page by page."""
        user = await self.store.get_user(user_id)
        subject = await self.store.get_oidc_subject(user_id)
        memberships = await self._memberships(user_id)
        current = {m.group.id for m in memberships}
        friends, _ = await self.store.list_friends(user_id, limit=FRIEND_EXPORT_LIMIT)
        expenses: list[dict[str, Any]] = []
        settlements: list[dict[str, Any]] = []
        messages: list[dict[str, Any]] = []
        former: list[dict[str, Any]] = []
        people: set[str] = {f.user.id for f in friends}
        # Every group they ever belonged to: what they took part in stays theirs after leaving.
        ever = [
            group_id
            async for group_id in _every(
                lambda cursor: self.store.list_groups_ever(user_id, limit=PAGE_SIZE, cursor=cursor)
            )
        ]
        # The current groups too: a DynamoDB group made before ever-member items has none.
        for group_id in [*sorted(current - set(ever)), *ever]:
            if group_id not in current:
                try:
                    group = await self.store.get_group(group_id)
                except NotFound:
                    continue  # deleted since: its history went with it
                former.append({"id": group.id, "name": group.name, "kind": group.kind})
            async for expense in self._expenses_of(group_id, user_id):
                expenses.append(expense_json(expense))
                people.update(expense.participants, (expense.created_by,))
            async for settlement in self._settlements_of(group_id):
                if user_id in (settlement.from_user, settlement.to_user):
                    settlements.append(settlement_json(settlement))
                    people.update((settlement.from_user, settlement.to_user, settlement.created_by))
            messages += [
                chat_message_json(m) async for m in self._messages_of(group_id) if m.author_id == user_id
            ]
        people.discard(user_id)
        return {
            "exported_at": to_text(self.clock()),
            "profile": _profile(user),
            "sign_in_identities": [] if subject is None else [_identity(subject)],
            "groups": [_membership(m) for m in memberships],
            "former_groups": former,
            "friends": [
                {"user_id": f.user.id, "group_id": f.group_id, "since": to_text(f.since)} for f in friends
            ],
            "expenses": expenses,
            "settlements": settlements,
            "chat_messages": messages,
            "receipts": await _receipts(receipts, user_id),
            "push_subscriptions": [
                {
                    "endpoint": s.endpoint,
                    "expirationTime": s.expiration_time,
                    "created_at": to_text(s.created_at),
                }
                for s in await self.store.list_push_subscriptions(user_id)
            ],
            "notifications": await self._notifications(user_id),
            "users": user_names_json(await self._users(people)),
        }

    async def _notifications(self, user_id: str) -> list[dict[str, Any]]:
        """Every notification of the user, newest first, read or not."""
        state = await self.store.notification_state(user_id)
        every = _every(lambda cursor: self.store.list_notifications(user_id, limit=PAGE_SIZE, cursor=cursor))
        return [notification_json(n, state) async for n in every]

    async def _users(self, ids: set[str]) -> dict[str, User]:
        """The people the export names, read a hundred at a time."""
        ordered, users = sorted(ids), {}
        for start in range(0, len(ordered), PAGE_SIZE):
            users.update(await self.store.get_users(ordered[start : start + PAGE_SIZE]))
        return users

    def _expenses_of(self, group_id: str, user_id: str) -> AsyncIterator[Expense]:
        mine = ExpenseFilter(member=user_id)
        return _every(
            lambda cursor: self.store.list_expenses(group_id, limit=PAGE_SIZE, cursor=cursor, filters=mine)
        )

    def _settlements_of(self, group_id: str) -> AsyncIterator[Settlement]:
        return _every(lambda cursor: self.store.list_settlements(group_id, limit=PAGE_SIZE, cursor=cursor))

    def _messages_of(self, group_id: str) -> AsyncIterator[ChatMessage]:
        return _every(lambda cursor: self.store.list_chat_messages(group_id, limit=PAGE_SIZE, cursor=cursor))


def _unsettled(groups: list[Group]) -> Conflict:
    return Conflict(
        "settle up first: you have balances that are not zero",
        code="balance_not_settled",
        details={"groups": _named(groups)},
    )


def _owner_of(groups: list[Group]) -> Conflict:
    return Conflict(
        "you own groups with other members: hand ownership over first",
        code="owner_of_groups",
        details={"groups": _named(groups)},
    )


def _named(groups: list[Group]) -> list[dict[str, str]]:
    return [{"id": g.id, "name": g.name} for g in groups]


def _profile(user: User) -> dict[str, Any]:
    """Every field of the user record: the profile `GET /api/user` shows, and the rest."""
    return {
        **user_json(user),
        "name_set": user.name_set,
        "deleted_at": None if user.deleted_at is None else to_text(user.deleted_at),
    }


def _identity(subject: str) -> dict[str, str]:
    """A linked OpenID Connect identity, stored as "<issuer>|<sub>" (issuers hold no "|")."""
    issuer, _, sub = subject.partition("|")
    return {"type": "oidc", "issuer": issuer, "subject": sub}


def _membership(membership: GroupMembership) -> dict[str, Any]:
    group = membership.group
    return {
        "id": group.id,
        "name": group.name,
        "description": group.description,
        "kind": group.kind,
        "default_currency": group.default_currency,
        "owner_id": group.owner_id,
        "role": membership.role,
        "joined_at": to_text(membership.joined_at),
        "created_at": to_text(group.created_at),
    }


async def _receipts(receipts: ReceiptStorage, user_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for receipt_id in await receipts.uploaded_by(user_id):
        try:
            metadata = await receipts.metadata(receipt_id)
        except NotFound:
            continue  # an upload that never finished: only its marker was written
        found.append(
            {
                "id": metadata["id"],
                "uploaded_at": metadata["uploaded_at"],
                "content_type": metadata["content_type"],
                "bytes": metadata["bytes"],
                "extracted": metadata.get("extracted", {}),
                "raw_text": metadata.get("raw_text", ""),
                "image_url": f"/api/receipts/{metadata['id']}/image",
            }
        )
    return found


async def _every(fetch: Callable[[str | None], Awaitable[Page[Item]]]) -> AsyncIterator[Item]:
    """Every item of a paged listing, one page at a time."""
    cursor = None
    while True:
        page = await fetch(cursor)
        for item in page.items:
            yield item
        if (cursor := page.next_cursor) is None:
            return
