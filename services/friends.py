"""Friends: a friendship is a direct ledger, a two-person group of kind `direct` whose id follows
from the pair, so that two people adding each other at once end up in one ledger. Adding a friend
by e-mail creates a pending person for an address nobody signed in with yet (sign-in links it
later); the answer is the same either way. The friends view nets, per currency, what each friend
and the caller owe each other across the direct ledger and every group they share."""

from __future__ import annotations

import asyncio
import hashlib
from collections import defaultdict
from dataclasses import dataclass

from domain import Invalid, NotFound
from domain.clock import Clock
from domain.models import Friend, GroupBalances
from ledger import settle_up
from services.common import Service
from services.events import Events
from services.notifications import Notifications
from services.payloads import group_event
from store import NewGroup, Store

FRIEND_LIMIT = 200
"""The most friends one `GET /api/friends` lists."""
GROUP_LIMIT = 100
"""The caller's most recently joined groups (direct ledgers included) whose balances the friends
view nets; with more, the answer says so (`groups_truncated`)."""
INLINE_SETTLE_MEMBERS = 8
"""Plans over more members with a balance (up to 2^15 subsets each) are computed off the loop."""


def direct_group_id(one: str, other: str) -> str:
    """The id of the direct ledger between two users: the same whoever asks first."""
    low, high = sorted((one, other))
    return hashlib.sha256(f"direct|{low}|{high}".encode()).hexdigest()[:32]


DIRECT_LEDGER_NAME = "Direct expenses"
"""The name every direct ledger has."""


@dataclass(frozen=True, slots=True)
class FriendAdded:
    user_id: str
    email: str
    group_id: str
    created: bool
    """False when they were friends already."""


@dataclass(frozen=True, slots=True)
class FriendStanding:
    friend: Friend
    balances: dict[str, int]
    """Currency → what the friend owes the caller (negative: what the caller owes them), non-zero
    entries only."""


@dataclass(frozen=True, slots=True)
class FriendsView:
    friends: list[FriendStanding]
    friends_truncated: bool
    groups_truncated: bool


class Friends(Service):
    def __init__(self, store: Store, events: Events, clock: Clock, notifications: Notifications) -> None:
        super().__init__(store, events, clock)
        self.notifications = notifications

    async def add(self, user_id: str, email: str) -> FriendAdded:
        """Befriend whoever has (or will sign in with) `email`: their direct ledger with the
        caller, made now or given its members back. 422 for the caller's own address."""
        email = email.strip().lower()
        me = await self.store.get_user(user_id)
        if email == me.email:
            raise Invalid(
                "you cannot add yourself as a friend",
                code="own_address",
                details=[{"field": "email", "message": "is your own address"}],
            )
        friend = await self.store.ensure_user(email, email.partition("@")[0])
        group, created = await self.store.ensure_direct_group(
            NewGroup(
                id=direct_group_id(me.id, friend.id),
                # No one's name or address: it would outlive an erased account. Clients show
                # the friend (the `users` map, GET /api/friends) instead.
                name=DIRECT_LEDGER_NAME,
                description="",
                default_currency=me.default_currency,
                owner_id=me.id,
                created_at=self.clock(),
            ),
            friend.id,
        )
        if created:
            members = await self.store.list_members(group.id)
            joined = group_event(group, members)
            for one, other in ((me.id, friend.id), (friend.id, me.id)):
                self.events.to_user(one, "friend.added", {"user_id": other, "group_id": group.id})
                self.events.to_user(one, "group.joined", joined)
            await self.notifications.friend_added(me.id, friend.id, group.id)
        return FriendAdded(user_id=friend.id, email=friend.email, group_id=group.id, created=created)

    async def remove(self, user_id: str, friend_id: str) -> None:
        """End the friendship: both leave the direct ledger, which keeps its history (adding each
        other again brings them back to it). 404 unless they are friends, 409 while the direct
        balance is not zero in every currency."""
        if friend_id == user_id:
            raise NotFound("not a friend")
        group, _ = await self.store.get_group_as_member(direct_group_id(user_id, friend_id), user_id)
        if group.kind != "direct":
            raise NotFound("not a friend")
        await self.store.end_direct_group(group.id)
        for one, other in ((user_id, friend_id), (friend_id, user_id)):
            # The group events end both subscriptions to the ledger's channel.
            self.events.to_group(group.id, "member.left", {"group_id": group.id, "user_id": one})
            self.events.to_user(one, "friend.removed", {"user_id": other, "group_id": group.id})
            self.events.to_user(one, "group.removed", {"group_id": group.id, "reason": "friend.removed"})

    async def view(self, user_id: str) -> FriendsView:
        """Each friend with the net between the two of you per currency (see `pairwise_nets`)."""
        friends, friends_truncated = await self.store.list_friends(user_id, limit=FRIEND_LIMIT)
        groups, groups_truncated = await self.store.balances_across_groups(user_id, group_limit=GROUP_LIMIT)
        if max((len(g.balances) for g in groups), default=0) > INLINE_SETTLE_MEMBERS:
            nets = await asyncio.to_thread(pairwise_nets, user_id, groups)
        else:
            nets = pairwise_nets(user_id, groups)
        return FriendsView(
            friends=[
                FriendStanding(
                    friend=friend,
                    balances={c: a for c, a in sorted(nets.get(friend.user.id, {}).items()) if a},
                )
                for friend in friends
            ],
            friends_truncated=friends_truncated,
            groups_truncated=groups_truncated,
        )


def pairwise_nets(user_id: str, groups: list[GroupBalances]) -> dict[str, dict[str, int]]:
    """Other user → currency → what they owe `user_id` across `groups` (negative: what
    `user_id` owes them). In a direct ledger that is the plain balance; in a group, what the
    group's settle-up plan (`ledger.settle_up` over its balances, per currency) has the two of
    them transfer to each other: the amount each would actually pay the other to settle up."""
    nets: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for group in groups:
        by_currency: dict[str, dict[str, int]] = defaultdict(dict)
        for balance in group.balances:
            by_currency[balance.currency][balance.user_id] = balance.amount
        for currency, balances in by_currency.items():
            if group.kind == "direct":
                _direct(nets, user_id, currency, balances)
                continue
            for transfer in settle_up(balances):
                if transfer.to_user == user_id:
                    nets[transfer.from_user][currency] += transfer.amount
                elif transfer.from_user == user_id:
                    nets[transfer.to_user][currency] -= transfer.amount
    return nets


def _direct(nets: dict[str, dict[str, int]], user_id: str, currency: str, balances: dict[str, int]) -> None:
    """In a direct ledger the caller's balance is exactly what the other one owes them."""
    mine = balances.get(user_id, 0)
    for other in balances:
        if other != user_id:
            nets[other][currency] += mine


__all__ = ["FriendAdded", "FriendStanding", "Friends", "FriendsView", "direct_group_id"]
