"""The category catalogue and how names resolve to ids (domain/categories.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain import Group, Invalid
from domain.categories import CATALOGUE, CustomCategory, matching, parent_of, resolve
from services.categories import resolve_category

LUNCHES = CustomCategory("custom_1", "Team lunches", "food")
PETS = CustomCategory("custom_2", "Cat", "home")


def test_ids_are_unique_lower_case_and_parents_come_first() -> None:
    ids = [c.id for c in CATALOGUE]
    assert len(ids) == len(set(ids))
    assert all(i == i.lower() and " " not in i for i in ids)
    seen: set[str] = set()
    for category in CATALOGUE:
        assert category.parent is None or category.parent in seen
        seen.add(category.id)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("groceries", "groceries"),
        ("GROCERIES", "groceries"),
        (" Bus/train ", "bus_train"),
        ("food and drink", "food"),
        ("team LUNCHES", "custom_1"),
        ("custom_1", "custom_1"),
        ("fun", None),
        ("", None),
    ],
)
def test_resolve(text: str, found: str | None) -> None:
    assert resolve(text, (LUNCHES, PETS)) == found


def test_a_parent_filter_takes_its_children_and_the_groups_own_under_it() -> None:
    food = matching("Food and drink", (LUNCHES, PETS))
    assert food[0] == "food" and {"groceries", "dining_out", "liquor", "custom_1"} <= set(food)
    assert "custom_2" not in food and "rent" not in food
    assert matching("groceries") == ("groceries",)
    assert matching("Old Free Text") == ("Old Free Text",)


def test_parents() -> None:
    assert parent_of("groceries") == "food"
    assert parent_of("food") == "food"
    assert parent_of("custom_2", (LUNCHES, PETS)) == "home"
    assert parent_of("whatever") is None


def test_an_edited_expense_keeps_a_free_text_category_from_before_the_catalogue() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    group = Group("g", "Trip", "", "EUR", "o", 1, 1, now, now, categories=(LUNCHES,))
    assert resolve_category("fun", group, kept="fun") == "fun"
    assert resolve_category("Team lunches", group, kept="fun") == "custom_1"
    assert resolve_category(None, group) == "general"
    with pytest.raises(Invalid):
        resolve_category("fun", group)
