"""Who the caller is to the group in the URL, and the activity entries their changes leave."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from domain import ActivityEntry, Forbidden, Group, Member
from domain.clock import utc_now
from domain.ids import new_id
from server.keys import CLAIMS, STORE


async def membership(request: web.Request) -> tuple[Group, Member]:
    """The group in the URL and the caller's membership; 404 for anyone outside it, so outsiders
    cannot even learn that the group exists."""
    return await request.app[STORE].get_group_as_member(
        request.match_info["group_id"], request[CLAIMS].user_id
    )


async def membership_with_member_ids(request: web.Request) -> tuple[Group, Member, list[str]]:
    """`membership`, and every member's id for a write that names members, in the same one read."""
    return await request.app[STORE].get_group_with_member_ids(
        request.match_info["group_id"], request[CLAIMS].user_id
    )


def require_owner(member: Member) -> None:
    if member.role != "owner":
        raise Forbidden("only the group's owner may do this", code="owner_only")


def new_activity(
    request: web.Request, group_id: str, action: str, subject_id: str, details: dict[str, Any]
) -> ActivityEntry:
    return ActivityEntry(
        id=new_id(),
        group_id=group_id,
        at=utc_now(),
        actor_id=request[CLAIMS].user_id,
        action=action,
        subject_id=subject_id,
        details=details,
    )
