"""A group's own expense categories: made by any member, kept on the group's record (one
versioned write, retried when someone else changed the group meanwhile), announced to the group."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

from domain import Conflict, Group, NotFound
from domain.categories import (
    CUSTOM_PREFIX,
    DEFAULT_CATEGORY,
    MAX_CUSTOM_CATEGORIES,
    CustomCategory,
    category_named,
    normal_name,
    resolve,
)
from domain.ids import new_id
from ledger.money import invalid
from services.common import Service
from services.group_fields import change_group_field
from services.payloads import category_json


def resolve_category(value: Any, group: Group, *, kept: str | None = None) -> str:
    """The id an expense's `category` field names (the catalogue's or the group's own, by id or
    name, any case); `kept` (the expense's current category, maybe free text stored before the
    catalogue existed) is accepted as it is. 422 for anything else."""
    if value is None:
        return DEFAULT_CATEGORY
    if value == kept and kept is not None:
        return kept
    found = resolve(value, group.categories)
    if found is None:
        raise invalid(
            "category",
            f"no category {value!r}: use an id or name from GET /api/categories or one of the "
            "group's own (GET /api/groups/{group_id}/categories)",
        )
    return found


Change = Callable[[tuple[CustomCategory, ...]], tuple[tuple[CustomCategory, ...] | None, CustomCategory]]
"""The group's categories as they are -> (as they become, or None for no change; the one concerned)."""


class Categories(Service):
    async def create(self, group: Group, body: Mapping[str, Any]) -> tuple[CustomCategory, bool]:
        """The group's new category (and True), or the one it already has with that name and
        parent (and False: a retried request makes no second one). 409 for a name the catalogue
        or the group already uses otherwise, or when the group has its fill of them."""
        name = _name(body["name"])
        parent = _parent(body.get("parent", DEFAULT_CATEGORY))
        made = CustomCategory(f"{CUSTOM_PREFIX}{new_id()}", name, parent)

        def added(
            current: tuple[CustomCategory, ...],
        ) -> tuple[tuple[CustomCategory, ...] | None, CustomCategory]:
            same = next((c for c in current if c.name.casefold() == name.casefold()), None)
            if same is not None and same.parent == parent:
                return None, same
            _check_free(name, current, None)
            if len(current) >= MAX_CUSTOM_CATEGORIES:
                raise Conflict(
                    f"a group has at most {MAX_CUSTOM_CATEGORIES} categories of its own",
                    code="too_many_categories",
                )
            return (*current, made), made

        return await self._change(group, added, "category.created")

    async def update(self, group: Group, category_id: str, body: Mapping[str, Any]) -> CustomCategory:
        """The group's category renamed or moved under another parent; expenses filed under it
        stay (they hold its id). 404 for an id the group does not have, 409 for a name in use."""

        def renamed(
            current: tuple[CustomCategory, ...],
        ) -> tuple[tuple[CustomCategory, ...] | None, CustomCategory]:
            mine = next((c for c in current if c.id == category_id), None)
            if mine is None:
                raise NotFound("the group has no such category", code="category_not_found")
            name = _name(body["name"]) if "name" in body else mine.name
            parent = _parent(body["parent"]) if "parent" in body else mine.parent
            _check_free(name, current, mine.id)
            changed = CustomCategory(mine.id, name, parent)
            if changed == mine:
                return None, mine
            return tuple(changed if c.id == mine.id else c for c in current), changed

        category, _ = await self._change(group, renamed, "category.updated")
        return category

    async def _change(self, group: Group, change: Change, event: str) -> tuple[CustomCategory, bool]:
        """Apply `change` to the group's categories as one versioned write (`change_group_field`);
        the category concerned, and whether anything was written."""
        return await change_group_field(
            self,
            group,
            "categories",
            lambda current: change(current.categories),
            lambda concerned: (event, category_json(concerned)),
        )


def _name(raw: str) -> str:
    name = normal_name(raw)
    if name.casefold().startswith(CUSTOM_PREFIX) or not any(
        not unicodedata.category(c).startswith(("Z", "C")) for c in name
    ):
        # `custom_…` would read as another category's id; a name of invisible marks as none
        raise invalid("name", f"a name shows something and does not start with {CUSTOM_PREFIX!r}")
    return name


def _parent(raw: str) -> str:
    parent = category_named(raw)
    if parent is None or parent.parent is not None:
        raise invalid("parent", "a parent is one of the catalogue's top-level ids (GET /api/categories)")
    return parent.id


def _check_free(name: str, current: tuple[CustomCategory, ...], own_id: str | None) -> None:
    """409 when the catalogue or another of the group's categories has this name."""
    taken = resolve(name, current)
    if taken is not None and taken != own_id:
        raise Conflict(
            f"there is a category named {name!r} already", code="category_exists", details={"id": taken}
        )
