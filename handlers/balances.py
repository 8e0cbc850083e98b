"""Where a group stands: each member's net balance per currency, and the plan to settle up."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from aiohttp import web

from domain import Balance
from handlers.access import membership
from handlers.fields import AMOUNT, DATE
from handlers.schemas import CURRENCY, ERROR, ID, USER_NAMES, Schema
from ledger import EXACT_LIMIT, Transfer, format_amount, settle_up
from ledger.money import invalid
from server.keys import CLAIMS, SERVICES, STORE
from server.routing import Api, Reply
from services.rates import Converted, used_rate_json

api = Api("balances")

INLINE_SETTLE_LIMIT = 8
"""Larger plans (up to 2^15 subsets) are computed off the event loop."""

IN_CURRENCY: Schema = {
    "type": "object",
    "properties": {
        "currency": {
            "type": "string",
            "minLength": 3,
            "maxLength": 3,
            "description": "show everything in this ISO 4217 currency, at the exchange rates of `on`",
        },
        "on": {**DATE, "description": "whose rates to use with `currency` (default: today, UTC)"},
    },
}
_RATES_USED: Schema = {
    "type": "array",
    "description": "with `currency`: the rate from each other currency of the group's balances",
    "items": {
        "type": "object",
        "required": ["from", "to", "rate", "on", "source"],
        "additionalProperties": False,
        "properties": {
            "from": CURRENCY,
            "to": CURRENCY,
            "rate": {
                "type": "string",
                "description": "1 `from` = `rate` `to`, through the euro; rounded here to 10 "
                "decimals, applied exactly",
            },
            "on": {
                **DATE,
                "description": "the day of the rate (the older leg's, through the euro), or the day "
                "the group set its own",
            },
            "source": {
                "type": "string",
                "enum": ["ecb", "imported", "group"],
                "description": "fetched from EXCHANGE_RATES_URL, loaded by `expense-tracker rates import`, "
                "or the group's own (PUT /api/groups/{group_id}/rates/{from}/{to})",
            },
        },
    },
}
_CONVERSION = {
    "currency": {**CURRENCY, "description": "with `currency`: the one currency everything is in"},
    "on": {**DATE, "description": "with `currency`: the day whose rates were used"},
    "rates": _RATES_USED,
}
BALANCES: Schema = {
    "title": "Balances",
    "type": "object",
    "required": ["balances", "users"],
    "additionalProperties": False,
    "properties": {
        **_CONVERSION,
        "users": USER_NAMES,
        "balances": {
            "type": "array",
            "description": "positive: the group owes this member; negative: they owe the group",
            "items": {
                "title": "Balance",
                "type": "object",
                "required": ["user_id", "currency", "amount"],
                "additionalProperties": False,
                "properties": {"user_id": ID, "currency": {"type": "string"}, "amount": AMOUNT},
            },
        },
    },
}
SETTLE_UP: Schema = {
    "title": "SettleUp",
    "type": "object",
    "required": ["transfers", "plans", "users"],
    "additionalProperties": False,
    "properties": {
        **_CONVERSION,
        "users": USER_NAMES,
        "transfers": {
            "type": "array",
            "items": {
                "title": "Transfer",
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
_CONVERSION_DOC = (
    "With `currency`, every balance is converted into it at each currency's latest exchange rate "
    "on or before `on` (422 `rate_unavailable`, naming the currencies, when there is none): "
    "each member's converted balance is within one minor unit of its exact value, and they sum to "
    "exactly zero (largest remainder). Nothing is recorded; `POST .../convert` records a conversion."
)


@api.get(
    "/api/groups/{group_id}/balances",
    summary="Each member's net balance per currency, or in one currency",
    description=_CONVERSION_DOC,
    query=IN_CURRENCY,
    replies={200: Reply("the balances", BALANCES), 404: _NOT_FOUND},
)
async def get_balances(request: web.Request, query: dict[str, Any]) -> web.Response:
    converted = await _converted(request, query)
    if converted is not None:
        users = await request.app[SERVICES].people.names(converted.balances)
        listed = [
            {
                "user_id": user_id,
                "currency": converted.currency,
                "amount": format_amount(amount, converted.currency),
            }
            for user_id, amount in sorted(converted.balances.items())
        ]
        return web.json_response({"balances": listed, "users": users, **_conversion_json(converted)})
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
    description=_CONVERSION_DOC.replace("every balance is converted", "every balance is converted first"),
    query=IN_CURRENCY,
    replies={200: Reply("the plan", SETTLE_UP), 404: _NOT_FOUND},
)
async def get_settle_up(request: web.Request, query: dict[str, Any]) -> web.Response:
    by_currency: dict[str, dict[str, int]] = defaultdict(dict)
    converted = await _converted(request, query)
    if converted is not None:
        by_currency[converted.currency] = {
            user: amount for user, amount in converted.balances.items() if amount
        }
    else:
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
    extra = _conversion_json(converted) if converted is not None else {}
    return web.json_response({"transfers": transfers, "plans": plans, "users": users, **extra})


async def _converted(request: web.Request, query: dict[str, Any]) -> Converted | None:
    """With `?currency=`, the caller's group's balances in it (404 for a stranger); else None."""
    if "currency" not in query:
        if "on" in query:
            raise invalid("on", "is the day of the exchange rates, so it needs `currency` too")
        return None
    group, _ = await membership(request)
    return await request.app[SERVICES].rates.balances_in(group, query["currency"], query.get("on"))


def _conversion_json(converted: Converted) -> dict[str, Any]:
    return {
        "currency": converted.currency,
        "on": converted.on,
        "rates": [used_rate_json(r) for r in converted.rates],
    }


async def _balances_as_member(request: web.Request) -> list[Balance]:
    """The group's balances; 404 for anyone outside it (see `handlers.access.membership`)."""
    return await request.app[STORE].get_balances_for_member(
        request.match_info["group_id"], request[CLAIMS].user_id
    )


async def _plan(balances: dict[str, int]) -> list[Transfer]:
    if len(balances) <= INLINE_SETTLE_LIMIT:
        return settle_up(balances)
    return await asyncio.to_thread(settle_up, balances)
