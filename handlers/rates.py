"""A group's own exchange rates (docs/exchange-rates.md): set or replace the rate between two
currencies, or remove it; the group's record lists them (`rates`)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from domain.rates import MAX_GROUP_RATES
from handlers.access import membership
from handlers.expenses import EXPENSE
from handlers.fields import DATE, VERSION, if_match
from handlers.idempotency import HEADER_DOC, idempotency
from handlers.schemas import CURRENCY, ERROR, ID, TIMESTAMP, Schema
from server.keys import SERVICES
from server.routing import Api, Reply, json_reply
from services.payloads import group_rate_json, version_etag

api = Api("rates")

GROUP_RATE: Schema = {
    "title": "GroupRate",
    "type": "object",
    "required": ["from", "to", "rate", "set_by", "set_at", "version"],
    "additionalProperties": False,
    "properties": {
        "from": CURRENCY,
        "to": CURRENCY,
        "rate": {"type": "string", "description": "1 `from` = `rate` `to` (and 1 `to` = 1/`rate` `from`)"},
        "set_by": ID,
        "set_at": TIMESTAMP,
        "version": {
            "type": "integer",
            "description": "send it (If-Match or `version`) to replace or remove the rate",
        },
    },
}
NEW_RATE: Schema = {
    "title": "NewGroupRate",
    "type": "object",
    "required": ["rate"],
    "additionalProperties": False,
    "properties": {
        "rate": {
            "type": "string",
            "maxLength": 25,
            "description": 'a positive decimal string, such as "0.9215": what one `from` is worth in `to`',
        },
        "version": {**VERSION, "description": "the rate's current version, to replace it"},
    },
}
_PATH = "/api/groups/{group_id}/rates/{from_currency}/{to_currency}"
_NOT_FOUND = Reply("no such group, or the caller is not a member", ERROR)


@api.put(
    _PATH,
    summary="Set the group's own exchange rate between two currencies (any member)",
    description=(
        "The rate wins over the ECB's for this pair, both ways round, in the group's balances and "
        "settle-up in one currency, on any day. A new pair takes no version; replacing one (set "
        "either way round) takes its current version, as If-Match or `version`."
    ),
    body=NEW_RATE,
    replies={
        200: Reply("the rate, replaced", GROUP_RATE),
        201: Reply("the rate, new", GROUP_RATE),
        404: _NOT_FOUND,
        409: Reply(f"the group sets {MAX_GROUP_RATES} rates already (`too_many_rates`)", ERROR),
        412: Reply("the rate changed (or went) since the version sent; nothing was changed", ERROR),
        428: Reply("the group sets this rate already and no version was sent", ERROR),
        503: Reply("the group kept changing meanwhile; retry (`busy`)", ERROR),
    },
)
async def set_group_rate(request: web.Request, body: dict[str, Any]) -> web.Response:
    group, me = await membership(request)
    expected = if_match(request)
    if expected is None:
        expected = body.get("version")
    rate, made = await request.app[SERVICES].group_rates.set(
        group,
        me.user_id,
        request.match_info["from_currency"],
        request.match_info["to_currency"],
        body,
        expected,
    )
    return web.json_response(group_rate_json(rate), status=201 if made else 200)


@api.delete(
    _PATH,
    summary="Remove the group's own exchange rate between two currencies (any member)",
    replies={
        204: Reply("removed: the ECB's rate applies to this pair again"),
        404: Reply("no such group or rate, or the caller is not a member", ERROR),
        412: Reply("the rate changed since the version sent; nothing was changed", ERROR),
        422: Reply("`from` or `to` is not an ISO 4217 code, or they are the same one", ERROR),
        428: Reply("no If-Match with the rate's version was sent", ERROR),
        503: Reply("the group kept changing meanwhile; retry (`busy`)", ERROR),
    },
)
async def remove_group_rate(request: web.Request) -> web.Response:
    group, _ = await membership(request)
    await request.app[SERVICES].group_rates.remove(
        group, request.match_info["from_currency"], request.match_info["to_currency"], if_match(request)
    )
    return web.Response(status=204)


CONVERT: Schema = {
    "title": "Convert",
    "type": "object",
    "required": ["currency"],
    "additionalProperties": False,
    "properties": {
        "currency": {"type": "string", "minLength": 3, "maxLength": 3, "description": "convert into this"},
        "on": {**DATE, "description": "whose exchange rates to use (default: today, UTC)"},
    },
}


@api.post(
    "/api/groups/{group_id}/convert",
    summary="Record a conversion of every balance into one currency (any member)",
    description=(
        "One expense-shaped record (split kind `conversion`, `currency` the target) whose effect "
        "takes each member's balance in every other currency to zero and adds its value in the "
        "target, at the rates its split shows (`rates`; the group's own for its pairs, else the "
        "ECB's of `on`) and with the moves it made (`moves`). The converted balances are each "
        "within one minor unit of exact and sum to zero. It cannot be edited; deleting it undoes "
        "it. Written only if the balances are still those it was computed from (retried a few "
        "times, then 409 `balances_changed`). Takes an Idempotency-Key."
    ),
    body=CONVERT,
    headers=HEADER_DOC,
    replies={
        201: Reply("the conversion, as an expense", EXPENSE, ("ETag",)),
        404: _NOT_FOUND,
        409: Reply(
            "every balance is in that currency already (`nothing_to_convert`), the balances kept "
            "changing (`balances_changed`), or the same Idempotency-Key is in flight",
            ERROR,
        ),
    },
)
async def convert_balances(request: web.Request, body: dict[str, Any]) -> web.Response:
    group, me = await membership(request)
    async with idempotency(request, body) as slot:
        if slot.replay is not None:
            return slot.replay
        written = await request.app[SERVICES].conversions.convert(group, me.user_id, body, slot)
    return json_reply(written.payload_json, status=201, headers=version_etag(written.record.version))
