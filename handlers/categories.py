"""Expense categories: the fixed catalogue everyone shares, and a group's own (docs/categories.md)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from domain.categories import CHILDREN, MAX_CUSTOM_CATEGORIES, PARENTS
from handlers.access import membership
from handlers.components import untitled
from handlers.schemas import ERROR, Schema
from server.keys import SERVICES
from server.routing import Api, Reply
from services.payloads import category_json

api = Api("categories")

CATEGORY_ID: Schema = {
    "type": "string",
    "description": "stable: a catalogue id (`groceries`, `food`) or a group's own (`custom_...`)",
}
CATEGORY: Schema = {
    "title": "Category",
    "type": "object",
    "required": ["id", "name", "parent", "custom"],
    "additionalProperties": False,
    "properties": {
        "id": CATEGORY_ID,
        "name": {"type": "string"},
        "parent": {"type": ["string", "null"], "description": "the parent's id; null for a parent"},
        "custom": {"type": "boolean", "description": "true for a group's own category"},
    },
}
CATALOGUE_REPLY: Schema = {
    "title": "CategoryCatalogue",
    "type": "object",
    "required": ["categories"],
    "additionalProperties": False,
    "properties": {
        "categories": {
            "type": "array",
            "description": "the parents in order, each followed by its subcategories",
            "items": {
                **untitled(CATEGORY),
                "required": [*CATEGORY["required"], "subcategories"],
                "properties": {
                    **CATEGORY["properties"],
                    "subcategories": {"type": "array", "items": CATEGORY},
                },
            },
        }
    },
}
GROUP_CATEGORIES: Schema = {
    "title": "GroupCategories",
    "type": "object",
    "required": ["categories"],
    "additionalProperties": False,
    "properties": {"categories": {"type": "array", "maxItems": MAX_CUSTOM_CATEGORIES, "items": CATEGORY}},
}
NEW_CATEGORY: Schema = {
    "title": "NewCategory",
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 50, "x-trim": True},
        "parent": {
            "type": "string",
            "description": "a catalogue parent's id or name (default `general`)",
            "maxLength": 50,
        },
    },
}


_CATALOGUE_JSON = {
    "categories": [
        {**category_json(parent), "subcategories": [category_json(c) for c in CHILDREN[parent.id]]}
        for parent in PARENTS
    ]
}


@api.get(
    "/api/categories",
    summary="The fixed catalogue of expense categories, two levels, with stable ids",
    replies={200: Reply("every parent with its subcategories", CATALOGUE_REPLY)},
)
async def list_catalogue(request: web.Request) -> web.Response:
    return web.json_response(_CATALOGUE_JSON)


@api.get(
    "/api/groups/{group_id}/categories",
    summary="The group's own expense categories, in the order they were made",
    replies={
        200: Reply("the group's categories (the catalogue's are at /api/categories)", GROUP_CATEGORIES),
        404: Reply("no such group, or the caller is not a member", ERROR),
    },
)
async def list_group_categories(request: web.Request) -> web.Response:
    group, _ = await membership(request)
    return web.json_response({"categories": [category_json(c) for c in group.categories]})


@api.post(
    "/api/groups/{group_id}/categories",
    summary="Add a category of the group's own, under one of the catalogue's parents (any member)",
    body=NEW_CATEGORY,
    replies={
        200: Reply("the group already has this category (same name and parent): nothing new", CATEGORY),
        201: Reply("the new category", CATEGORY),
        404: Reply("no such group, or the caller is not a member", ERROR),
        409: Reply(
            "the name is taken by another category (`category_exists`, its id in details) or the "
            f"group has {MAX_CUSTOM_CATEGORIES} already (`too_many_categories`)",
            ERROR,
        ),
        422: Reply("no such parent", ERROR),
        503: Reply("the group kept changing while the category was added; retry (`busy`)", ERROR),
    },
)
async def create_group_category(request: web.Request, body: dict[str, Any]) -> web.Response:
    group, _ = await membership(request)
    category, made = await request.app[SERVICES].categories.create(group, body)
    return web.json_response(category_json(category), status=201 if made else 200)


CATEGORY_CHANGES: Schema = {
    "title": "CategoryChanges",
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "properties": NEW_CATEGORY["properties"],
}


@api.patch(
    "/api/groups/{group_id}/categories/{category_id}",
    summary="Rename a category of the group's own or move it under another parent (any member)",
    body=CATEGORY_CHANGES,
    replies={
        200: Reply("the category as it is now; expenses filed under it keep it (they hold its id)", CATEGORY),
        404: Reply("no such group or category, or the caller is not a member", ERROR),
        409: Reply("the name is taken by another category (`category_exists`, its id in details)", ERROR),
        422: Reply("no such parent, or a name that shows nothing", ERROR),
        503: Reply("the group kept changing meanwhile; retry (`busy`)", ERROR),
    },
)
async def update_group_category(request: web.Request, body: dict[str, Any]) -> web.Response:
    group, _ = await membership(request)
    category_id = request.match_info["category_id"]
    category = await request.app[SERVICES].categories.update(group, category_id, body)
    return web.json_response(category_json(category))
