"""Where a group stands: each member's net balance per currency, and the plan to settle up."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from aiohttp import web

from domain import Balance
from handlers.fields import AMOUNT
from handlers.schemas import ERROR, ID, USER_NAMES, Schema
from ledger import EXACT_LIMIT, Transfer, format_amount, settle_up
from server.keys import CLAIMS, SERVICES, STORE
from server.routing import Api, Reply

api = Api("balances")

INLINE_SETTLE_LIMIT = 8
"""Larger plans (up to 2^15 subsets) are computed off the event loop."""

BALANCES: Schema = {
    "type": "object",
    "required": ["balances", "users"],
    "additionalProperties": False,
    "properties": {
        "users": USER_NAMES,
        "balances": {
            "type": "array",
            "description": "positive: the group owes this member; negative: they owe the group",
            "items": {
                "type": "object",
                "required": ["user_id", "currency", "amount"],
                "additionalProperties": False,
                "properties": {"user_id": ID, "currency": {"type": "string"}, "amount": AMOUNT},
            },
        },
    },
}
SETTLE_UP: Schema = {
    "type": "object",
    "required": ["transfers", "plans", "users"],
    "additionalProperties": False,
    "properties": {
        "users": USER_NAMES,
        "transfers": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["from_user", "to_user", "amount", "currency"],
                "additionalProperties": False,
                "properties": {
                    "from_user": ID,
                    "to_user": ID,
                    "amount": AMOUNT,
                    "currency": {"type": "string"},
                },
            },
        },
        "plans": {
            "type": "object",
            "description": "per currency: `exact` (provably fewest transfers) or `greedy`",
            "additionalProperties": {"type": "string", "enum": ["exact", "greedy"]},
        },
    },
}
_NOT_FOUND = Reply("no such group, or the caller is not a member", ERROR)


@api.get(
    "/api/groups/{group_id}/balances",
    summary="Each member's net balance per currency",
    replies={200: Reply("the balances", BALANCES), 404: _NOT_FOUND},
)
async def get_balances(request: web.Request) -> web.Response:
    balances = await _balances_as_member(request)
    users = await request.app[SERVICES].people.names(b.user_id for b in balances)
    return web.json_response(
        {
            "balances": [
                {"user_id": b.user_id, "currency": b.currency, "amount": format_amount(b.amount, b.currency)}
                for b in balances
            ],
            "users": users,
        }
    )


@api.get(
    "/api/groups/{group_id}/settle-up",
    summary="The fewest transfers that bring every balance to zero",
    replies={200: Reply("the plan", SETTLE_UP), 404: _NOT_FOUND},
)
async def get_settle_up(request: web.Request) -> web.Response:
    by_currency: dict[str, dict[str, int]] = defaultdict(dict)
    for balance in await _balances_as_member(request):
        if balance.amount:
            by_currency[balance.currency][balance.user_id] = balance.amount
    transfers: list[dict[str, Any]] = []
    plans: dict[str, str] = {}
    for currency in sorted(by_currency):
        balances = by_currency[currency]
        plan = await _plan(balances)
        plans[currency] = "exact" if len(balances) <= EXACT_LIMIT else "greedy"
        transfers += [
            {
                "from_user": t.from_user,
                "to_user": t.to_user,
                "amount": format_amount(t.amount, currency),
                "currency": currency,
            }
            for t in plan
        ]
    users = await request.app[SERVICES].people.names(
        user_id for transfer in transfers for user_id in (transfer["from_user"], transfer["to_user"])
    )
    return web.json_response({"transfers": transfers, "plans": plans, "users": users})


async def _balances_as_member(request: web.Request) -> list[Balance]:
    """The group's balances; 404 for anyone outside it (see `handlers.access.membership`)."""
    return await request.app[STORE].get_balances_for_member(
        request.match_info["group_id"], request[CLAIMS].user_id
    )


async def _plan(balances: dict[str, int]) -> list[Transfer]:
    if len(balances) <= INLINE_SETTLE_LIMIT:
        return settle_up(balances)
    return await asyncio.to_thread(settle_up, balances)
