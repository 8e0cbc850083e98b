"""Who the caller is to the group in the URL, and what their role lets them do."""

from __future__ import annotations

from aiohttp import web

from domain import Forbidden, Group, Member
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


def require_admin(member: Member) -> None:
    """The owner or an admin: who may change the group, manage its invites and remove members."""
    if member.role not in ("owner", "admin"):
        raise Forbidden("only the group's owner or an admin may do this", code="admin_only")


def require_may_remove(actor: Member, target: Member) -> None:
    """`actor` (the owner or an admin) may remove `target` from the group: the owner anyone
    (the owner themselves then hears 409 `owner_cannot_leave`), an admin plain members only."""
    if actor.role != "owner" and target.role != "member":
        raise Forbidden(
            "an admin may remove plain members only, not the owner or another admin", code="owner_only"
        )
