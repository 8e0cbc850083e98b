"""Use cases between the handlers and the ledger, store and realtime layers; no aiohttp here.

A handler parses and authorizes, then makes one call here. A write use case builds the record, asks
`ledger.effects` what it moves, makes the one atomic store write and publishes after it commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from domain.clock import Clock, utc_now
from services.account import Accounts
from services.categories import Categories
from services.changes import Changes
from services.chats import Chats
from services.comments import Comments
from services.common import ReplyRecorder, Written
from services.conversions import Conversions
from services.events import Events, Publish
from services.expenses import Expenses
from services.friends import Friends
from services.group_rates import GroupRates
from services.groups import Groups
from services.imports import Imports
from services.invites import Invites
from services.notifications import Notifications
from services.occurrences import Scheduler
from services.people import People
from services.push import Push
from services.rates import Rates
from services.recurring import RecurringRules
from services.roles import Roles
from services.settlements import Settlements
from services.user_changes import UserChanges
from store import Store
from store.base import RESTORE_WINDOW


@dataclass(frozen=True, slots=True)
class Services:
    expenses: Expenses
    settlements: Settlements
    chats: Chats
    comments: Comments
    groups: Groups
    categories: Categories
    invites: Invites
    people: People
    friends: Friends
    roles: Roles
    accounts: Accounts
    changes: Changes
    user_changes: UserChanges
    push: Push
    notifications: Notifications
    recurring: RecurringRules
    scheduler: Scheduler
    rates: Rates
    group_rates: GroupRates
    conversions: Conversions
    imports: Imports

    @classmethod
    def build(
        cls,
        store: Store,
        publish: Publish,
        clock: Clock = utc_now,
        push: Push | None = None,
        *,
        restore_window: timedelta = RESTORE_WINDOW,
    ) -> Services:
        """`push` None: Web Push is off (`Push.send` does nothing). `restore_window`: how long a
        deleted expense or settlement may be restored (RESTORE_DAYS)."""
        events = Events(publish)
        push = push or Push(store, None, clock)
        notifications = Notifications(store, events, clock, push)
        people = People(store, events, clock)
        expenses = Expenses(store, events, clock, notifications, restore_window)
        recurring = RecurringRules(store, events, clock, expenses)
        rates = Rates(store, events, clock)
        return cls(
            expenses=expenses,
            settlements=Settlements(store, events, clock, notifications, restore_window),
            chats=Chats(store, events, clock),
            comments=Comments(store, events, clock, notifications),
            groups=Groups(store, events, clock),
            categories=Categories(store, events, clock),
            invites=Invites(store, events, clock),
            people=people,
            friends=Friends(store, events, clock, notifications),
            roles=Roles(store, events, clock),
            accounts=Accounts(store, events, clock),
            changes=Changes(store, events, clock, people),
            user_changes=UserChanges(store, events, clock),
            push=push,
            notifications=notifications,
            recurring=recurring,
            scheduler=Scheduler(recurring, notifications),
            rates=rates,
            conversions=Conversions(store, events, clock, rates),
            imports=Imports(store, events, clock),
            group_rates=GroupRates(store, events, clock),
        )


__all__ = [
    "Accounts",
    "Changes",
    "Chats",
    "Comments",
    "Events",
    "Expenses",
    "Friends",
    "Groups",
    "Notifications",
    "People",
    "Publish",
    "Push",
    "Rates",
    "RecurringRules",
    "ReplyRecorder",
    "Roles",
    "Scheduler",
    "Services",
    "Settlements",
    "UserChanges",
    "Written",
]
