"""People: the caller's profile, looking someone up, and the names a page that mentions people
carries (its `users` map), so that a client never needs one lookup per row."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from domain import ActivityEntry, ChatMessage, Comment, Expense, NotFound, Settlement, User
from services.common import Service
from services.payloads import public_user_json, user_names_json

USER_GROUPS_PAGE = 100
"""Page size when reading a user's groups to tell each of them about a profile change."""
LONGEST_ID = 64
"""No record id is longer (`handlers.schemas.ID`); a longer one names nobody, and is not sent to a
store whose keys have a size limit (DynamoDB: 1 KB for a sort key)."""


class People(Service):
    async def names(self, user_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The `users` map for these ids, in one store read; ids of no user are left out."""
        wanted = set(user_ids)
        if not wanted:
            return {}
        return user_names_json(await self.store.get_users(wanted))

    async def look_up(self, viewer_id: str, user_id: str) -> User:
        """Someone `viewer_id` shares (or shared) a group with, or themselves. NotFound alike for
        strangers and unknown ids, so the answer reveals nothing about who exists."""
        if len(user_id) > LONGEST_ID or not await self.store.can_see_user(viewer_id, user_id):
            raise NotFound("user not found")
        return await self.store.get_user(user_id)

    async def sign_in(self, account_key: str, email: str, name: str, picture: str | None) -> User:
        """The user a provider's identity signs in as (`Store.ensure_oidc_user`), made on first
        sign-in. A name and picture the user never set themselves follow the provider's, and the
        user's own channel hears `user.updated` (their changes feed logs such a change; the event
        keeps the subscribe-reply cursor's promise that every later change arrives live)."""
        user = await self.store.ensure_oidc_user(account_key, email, name, picture)
        self.events.to_user(user.id, "user.updated", public_user_json(user))
        return user

    async def update_profile(self, user_id: str, changes: Mapping[str, Any]) -> User:
        """Change the caller's name, default currency or locale; tell them, and every group they
        are in, the public profile (`user.updated`)."""
        user = await self.store.update_profile(user_id, changes=dict(changes))
        profile = public_user_json(user)
        self.events.to_user(user_id, "user.updated", profile)
        for group_id in await self._group_ids(user_id):
            self.events.to_group(group_id, "user.updated", profile)
        return user

    async def _group_ids(self, user_id: str) -> list[str]:
        group_ids: list[str] = []
        cursor: str | None = None
        while True:
            page = await self.store.list_user_groups(user_id, limit=USER_GROUPS_PAGE, cursor=cursor)
            group_ids += [membership.group.id for membership in page.items]
            if (cursor := page.next_cursor) is None:
                return group_ids


def expense_people(expenses: Iterable[Expense]) -> set[str]:
    """Everyone the expenses name: payers, those who owe a share, and who logged them."""
    people: set[str] = set()
    for expense in expenses:
        people.update(expense.paid, expense.owed, (expense.created_by,))
        # An equal split may leave someone it names owing nothing (one cent among three).
        members = expense.split.get("members")
        if isinstance(members, list):
            people.update(member for member in members if isinstance(member, str))
    return people


def settlement_people(settlements: Iterable[Settlement]) -> set[str]:
    return {user_id for s in settlements for user_id in (s.from_user, s.to_user, s.created_by)}


def activity_people(entries: Iterable[ActivityEntry]) -> set[str]:
    """Who acted, and the subject when it is a person (a member who joined, left or was removed;
    an id of no user, such as an expense's, simply finds nobody)."""
    return {user_id for entry in entries for user_id in (entry.actor_id, entry.subject_id)}


def chat_people(messages: Iterable[ChatMessage]) -> set[str]:
    return {message.author_id for message in messages}


def comment_people(comments: Iterable[Comment]) -> set[str]:
    return {comment.author_id for comment in comments}
