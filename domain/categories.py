"""Expense categories: a fixed two-level catalogue with stable ids, and a group's own.

The catalogue follows the one people know from Splitwise: seven parents, each with its
subcategories. A parent is itself a category (its "other"); `general` is where an expense goes
when nobody says. Ids are lower-case, flat and never change or get reused (`groceries`, not
`food.groceries`), so a client can store them and filter by them. A group adds its own under one of
the parents (`CustomCategory`); their ids are drawn when made and start with `custom_`, so they
never collide with the catalogue's.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CATALOGUE",
    "CUSTOM_PREFIX",
    "DEFAULT_CATEGORY",
    "MAX_CUSTOM_CATEGORIES",
    "Category",
    "CustomCategory",
    "category_named",
    "matching",
    "normal_name",
    "parent_of",
    "resolve",
]

DEFAULT_CATEGORY = "general"
CUSTOM_PREFIX = "custom_"
MAX_CUSTOM_CATEGORIES = 50
"""A group's own categories, at most: they live on the group's record, which stays small."""


@dataclass(frozen=True, slots=True)
class Category:
    id: str
    name: str
    parent: str | None = None
    """The parent's id; None for a parent."""


@dataclass(frozen=True, slots=True)
class CustomCategory:
    """A group's own category, under one of the catalogue's parents."""

    id: str
    name: str
    parent: str


def _parent(id_: str, name: str, *children: tuple[str, str]) -> tuple[Category, ...]:
    return (Category(id_, name), *(Category(child, label, id_) for child, label in children))


CATALOGUE: tuple[Category, ...] = (
    *_parent(
        "entertainment",
        "Entertainment",
        ("games", "Games"),
        ("movies", "Movies"),
        ("music", "Music"),
        ("sports", "Sports"),
    ),
    *_parent(
        "food",
        "Food and drink",
        ("dining_out", "Dining out"),
        ("groceries", "Groceries"),
        ("liquor", "Liquor"),
    ),
    *_parent(
        "home",
        "Home",
        ("electronics", "Electronics"),
        ("furniture", "Furniture"),
        ("household_supplies", "Household supplies"),
        ("maintenance", "Maintenance"),
        ("mortgage", "Mortgage"),
        ("pets", "Pets"),
        ("rent", "Rent"),
        ("services", "Services"),
    ),
    *_parent(
        "life",
        "Life",
        ("childcare", "Childcare"),
        ("clothing", "Clothing"),
        ("education", "Education"),
        ("gifts", "Gifts"),
        ("insurance", "Insurance"),
        ("medical", "Medical expenses"),
        ("taxes", "Taxes"),
    ),
    *_parent(
        "transportation",
        "Transportation",
        ("bicycle", "Bicycle"),
        ("bus_train", "Bus/train"),
        ("car", "Car"),
        ("gas_fuel", "Gas/fuel"),
        ("hotel", "Hotel"),
        ("parking", "Parking"),
        ("plane", "Plane"),
        ("taxi", "Taxi"),
    ),
    *_parent(
        "utilities",
        "Utilities",
        ("cleaning", "Cleaning"),
        ("electricity", "Electricity"),
        ("heat_gas", "Heat/gas"),
        ("trash", "Trash"),
        ("tv_phone_internet", "TV/Phone/Internet"),
        ("water", "Water"),
    ),
    Category(DEFAULT_CATEGORY, "General"),
)

BY_ID = {category.id: category for category in CATALOGUE}
PARENTS = tuple(category for category in CATALOGUE if category.parent is None)
CHILDREN = {parent.id: tuple(c for c in CATALOGUE if c.parent == parent.id) for parent in PARENTS}
"""Each parent's subcategories, in the catalogue's order."""
_BY_NAME = {category.name.casefold(): category for category in CATALOGUE}


def normal_name(text: str) -> str:
    """A name as it is stored and compared: surrounding space gone, inner runs of space one."""
    return " ".join(text.split())


def category_named(text: str) -> Category | None:
    """The catalogue's category with this id or name, compared without regard to case or spacing."""
    folded = normal_name(text).casefold()
    return BY_ID.get(folded) or _BY_NAME.get(folded)


def parent_of(category_id: str, custom: tuple[CustomCategory, ...] = ()) -> str | None:
    """The catalogue parent an id belongs to (itself for a parent); None for an id neither the
    catalogue nor `custom` knows (a free-text category stored before the catalogue existed)."""
    known = BY_ID.get(category_id)
    if known is not None:
        return known.parent or known.id
    return next((c.parent for c in custom if c.id == category_id), None)


def resolve(text: str, custom: tuple[CustomCategory, ...] = ()) -> str | None:
    """The id `text` names, without regard to case or surrounding spaces: a catalogue id or
    name (`groceries`, `Groceries`, `Food and drink`), or one of the group's own by id or name;
    None when it names nothing."""
    known = category_named(text)
    if known is not None:
        return known.id
    folded = normal_name(text).casefold()
    return next((c.id for c in custom if folded in (c.id, c.name.casefold())), None)


def matching(text: str, custom: tuple[CustomCategory, ...] = ()) -> tuple[str, ...]:
    """The ids a filter by `text` matches: a parent takes its subcategories and the group's own
    under it along; a name nothing knows matches itself exactly (a free-text category stored
    before the catalogue existed)."""
    found = resolve(text, custom)
    if found is None:
        return (text,)
    if found in CHILDREN:
        return (found, *(c.id for c in CHILDREN[found]), *(c.id for c in custom if c.parent == found))
    return (found,)
