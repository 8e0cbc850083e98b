"""The caller's overview: what they owe and are owed, where their money went, what happened lately."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from domain import Dashboard
from domain.categories import BY_ID, DEFAULT_CATEGORY, parent_of
from handlers.activity import ACTIVITY, activity_json
from handlers.components import untitled
from handlers.fields import AMOUNT
from handlers.schemas import ID, USER_NAMES, Schema
from ledger import format_amount
from ledger.summary import positions, spending_by
from server.keys import CLAIMS, SERVICES, STORE
from server.routing import Api, Reply
from services.people import activity_people

api = Api("dashboard")

GROUP_LIMIT = 100
RECENT_LIMIT = 20

_CURRENCY = {"type": "string"}


def _spending_rows(label: str, more: dict[str, Schema] | None = None, description: str = "") -> Schema:
    rows: Schema = {
        "type": "array",
        "items": {
            "type": "object",
            "required": [label, *(more or {}), "currency", "amount"],
            "additionalProperties": False,
            "properties": {
                label: {"type": "string"},
                **(more or {}),
                "currency": _CURRENCY,
                "amount": AMOUNT,
            },
        },
    }
    return {**rows, "description": description} if description else rows


DASHBOARD: Schema = {
    "title": "Dashboard",
    "type": "object",
    "required": ["totals", "groups", "groups_truncated", "spending", "recent_activity", "users"],
    "additionalProperties": False,
    "properties": {
        "users": {**USER_NAMES, "description": "everyone the recent activity names, by user id"},
        "totals": {
            "type": "array",
            "description": "per currency across groups; debts in different groups do not cancel",
            "items": {
                "type": "object",
                "required": ["currency", "owed_to_you", "you_owe", "net"],
                "additionalProperties": False,
                "properties": {
                    "currency": _CURRENCY,
                    "owed_to_you": AMOUNT,
                    "you_owe": AMOUNT,
                    "net": AMOUNT,
                },
            },
        },
        "groups": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["group_id", "name", "balances"],
                "additionalProperties": False,
                "properties": {
                    "group_id": ID,
                    "name": {"type": "string"},
                    "balances": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["currency", "amount"],
                            "additionalProperties": False,
                            "properties": {"currency": _CURRENCY, "amount": AMOUNT},
                        },
                    },
                },
            },
        },
        "groups_truncated": {
            "type": "boolean",
            "description": f"true when only the {GROUP_LIMIT} latest-joined groups are shown",
        },
        "spending": {
            "type": "object",
            "description": "the caller's share of expenses",
            "required": ["by_category", "by_parent", "by_month"],
            "additionalProperties": False,
            "properties": {
                "by_category": _spending_rows(
                    "category",
                    {
                        "name": {
                            "type": "string",
                            "description": "free text stored before the catalogue: itself",
                        },
                        "parent": {
                            "type": ["string", "null"],
                            "description": "null for a parent or free text",
                        },
                    },
                ),
                "by_parent": _spending_rows(
                    "parent",
                    {"name": {"type": "string"}},
                    "the catalogue's parents, a group's own categories and free text under `general`",
                ),
                "by_month": _spending_rows("month"),
            },
        },
        "recent_activity": {
            "type": "array",
            "items": {
                **untitled(ACTIVITY),
                "required": [*ACTIVITY["required"], "group_id"],
                "properties": {**ACTIVITY["properties"], "group_id": ID},
            },
        },
    },
}


@api.get(
    "/api/dashboard",
    summary="The caller's balances, spending and recent activity",
    replies={200: Reply("the dashboard", DASHBOARD)},
)
async def dashboard(request: web.Request) -> web.Response:
    overview = await request.app[STORE].dashboard(
        request[CLAIMS].user_id, group_limit=GROUP_LIMIT, recent_limit=RECENT_LIMIT
    )
    users = await request.app[SERVICES].people.names(activity_people(overview.recent))
    return web.json_response(
        {
            "totals": [
                {
                    "currency": p.currency,
                    "owed_to_you": format_amount(p.owed_to_them, p.currency),
                    "you_owe": format_amount(p.they_owe, p.currency),
                    "net": format_amount(p.net, p.currency),
                }
                for p in positions(standing.balances for standing in overview.groups)
            ],
            "groups": [
                {
                    "group_id": standing.membership.group.id,
                    "name": standing.membership.group.name,
                    "balances": [
                        {"currency": c, "amount": format_amount(a, c)}
                        for c, a in sorted(standing.balances.items())
                    ],
                }
                for standing in overview.groups
            ],
            "groups_truncated": overview.more_groups,
            "spending": _spending_json(overview),
            "recent_activity": [{**activity_json(e), "group_id": e.group_id} for e in overview.recent],
            "users": users,
        }
    )


def _spending_json(overview: Dashboard) -> dict[str, Any]:
    """The caller's spending by category (named, with its parent), by parent and by month."""
    custom = tuple(c for standing in overview.groups for c in standing.membership.group.categories)
    own = {c.id: c for c in custom}
    by_category: list[dict[str, Any]] = []
    by_parent: dict[tuple[str, str], int] = {}
    for label, currency, amount in spending_by(overview.spending, "category"):
        known = BY_ID.get(label) or own.get(label)
        by_category.append(
            {
                "category": label,
                "name": label if known is None else known.name,
                "parent": None if known is None else known.parent,
                "currency": currency,
                "amount": format_amount(amount, currency),
            }
        )
        parent = parent_of(label, custom) or DEFAULT_CATEGORY
        by_parent[(parent, currency)] = by_parent.get((parent, currency), 0) + amount
    return {
        "by_category": by_category,
        "by_parent": [
            {"parent": parent, "name": BY_ID[parent].name, "currency": c, "amount": format_amount(a, c)}
            for (parent, c), a in sorted(by_parent.items())
            if a
        ],
        "by_month": [
            {"month": label, "currency": c, "amount": format_amount(a, c)}
            for label, c, a in spending_by(overview.spending, "month")
        ],
    }
