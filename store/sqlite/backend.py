"""`SQLiteStore`: the `Store` contract on the embedded engine, assembled from one class of methods
per concern. Each of those derives from `_Engine` and reaches the database only through it."""

from __future__ import annotations

from store.base import Store
from store.sqlite.account import _Account
from store.sqlite.authorization_codes import _AuthorizationCodes
from store.sqlite.balances import _Balances
from store.sqlite.changes import _Changes
from store.sqlite.comments import _Comments
from store.sqlite.feeds import _Feeds
from store.sqlite.friends import _Friends
from store.sqlite.groups import _Groups
from store.sqlite.history import _History
from store.sqlite.idempotency import _Idempotency
from store.sqlite.imports import _Imports
from store.sqlite.invites import _Invites
from store.sqlite.notifications import _Notifications
from store.sqlite.people import _People
from store.sqlite.push import _Push
from store.sqlite.rates import _Rates
from store.sqlite.recurring import _Recurring
from store.sqlite.roles import _Roles
from store.sqlite.sessions import _Sessions
from store.sqlite.users import _Users


class SQLiteStore(
    _Users,
    _Sessions,
    _AuthorizationCodes,
    _Groups,
    _Roles,
    _Invites,
    _Idempotency,
    _History,
    _Imports,
    _Recurring,
    _Rates,
    _Balances,
    _Feeds,
    _Comments,
    _People,
    _Friends,
    _Account,
    _Changes,
    _Push,
    _Notifications,
    Store,
):
    """The embedded backend; open one with `SQLiteStore.open(path)`."""

    async def ping(self) -> None:
        await self._one("SELECT 1")
