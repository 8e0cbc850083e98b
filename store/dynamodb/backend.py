"""`DynamoDBStore`: the `Store` contract on DynamoDB, assembled from one class of methods per
concern. Each derives from `_Connection` and reaches DynamoDB only through it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from store.base import Store
from store.dynamodb.account import _Account
from store.dynamodb.activity import _Activity
from store.dynamodb.authorization_codes import _AuthorizationCodes
from store.dynamodb.balances import _Balances
from store.dynamodb.changes import _Changes
from store.dynamodb.chat import _Chat
from store.dynamodb.client import _client
from store.dynamodb.comments import _Comments
from store.dynamodb.dashboard import _Dashboard
from store.dynamodb.expenses import _Expenses
from store.dynamodb.friends import _Friends
from store.dynamodb.group_deletion import _GroupDeletion
from store.dynamodb.groups import _Groups
from store.dynamodb.idempotency import _Idempotency
from store.dynamodb.imports import _Imports
from store.dynamodb.invites import _Invites
from store.dynamodb.items import _key
from store.dynamodb.members import _Members
from store.dynamodb.notifications import _Notifications
from store.dynamodb.people import _People
from store.dynamodb.push import _Push
from store.dynamodb.rates import _Rates
from store.dynamodb.recurring import _Recurring
from store.dynamodb.roles import _Roles
from store.dynamodb.sessions import _Sessions
from store.dynamodb.settlements import _Settlements
from store.dynamodb.users import _Users
from store.settings import DynamoDBSettings


class DynamoDBStore(
    _Users,
    _Sessions,
    _AuthorizationCodes,
    _Groups,
    _GroupDeletion,
    _Members,
    _Roles,
    _Invites,
    _Idempotency,
    _Expenses,
    _Imports,
    _Recurring,
    _Rates,
    _Settlements,
    _Balances,
    _Activity,
    _Chat,
    _Changes,
    _Comments,
    _Dashboard,
    _People,
    _Friends,
    _Account,
    _Push,
    _Notifications,
    Store,
):
    """The cloud backend; open one with `DynamoDBStore.open(settings)`."""

    @classmethod
    @asynccontextmanager
    async def open(cls, settings: DynamoDBSettings) -> AsyncIterator[DynamoDBStore]:
        async with _client(settings) as client:
            yield cls(client, settings)

    async def ping(self) -> None:
        await self._call("get_item", TableName=self._users, Key=_key("PING"))
