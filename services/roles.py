"""Group roles: the owner hands the group to another member (becoming an admin, free to leave), and
makes members admins or plain members again. Who may ask is the handler's check (the owner only);
each change is one store write with its activity entry, then the event that tells the group."""

from __future__ import annotations

from domain import Group, Invalid, Member, NotFound
from domain.models import Role
from services.common import Service
from services.payloads import group_event
from services.records import refuse_direct
from store.errors import handover_to_self, owner_role


class Roles(Service):
    async def hand_over(self, group: Group, owner_id: str, heir_id: str) -> tuple[Group, list[Member]]:
        """Make the member `heir_id` the owner and the owner `owner_id` an admin (422 when the heir
        is the owner or not a member; 409 `owner_changed` when another handover won); the
        changed group and its roster. Logged as `group.owner_changed`."""
        refuse_direct(group, "handing ownership over")
        if heir_id == owner_id:
            raise handover_to_self()
        try:
            await self.store.get_group_as_member(group.id, heir_id)
        except NotFound:
            raise Invalid(
                "user_id: not a member of this group",
                code="not_a_member",
                details=[{"field": "user_id", "message": "is not a member of this group"}],
            ) from None
        entry = self.activity(
            group.id,
            owner_id,
            "group.owner_changed",
            heir_id,
            {"owner_id": {"from": owner_id, "to": heir_id}},
        )
        changed = await self.store.transfer_ownership(
            group.id, from_user=owner_id, to_user=heir_id, activity=entry
        )
        members = await self.store.list_members(group.id)
        self.events.to_group(group.id, "group.updated", group_event(changed, members))
        return changed, members

    async def set_role(self, group: Group, actor_id: str, user_id: str, role: Role) -> Member:
        """Make the member `user_id` an "admin" or a plain "member" (404 when they are not a
        member, 409 `owner_role` for the owner); the membership as it is now. Setting the role
        they already have changes and logs nothing. Logged as `member.role_changed`."""
        refuse_direct(group, "setting roles")
        members = await self.store.list_members(group.id)
        current = next((m for m in members if m.user_id == user_id), None)
        if current is None:
            raise NotFound("member not found")
        if current.role == "owner":
            raise owner_role()
        if current.role == role:
            return current
        change = {"from": current.role, "to": role}
        entry = self.activity(group.id, actor_id, "member.role_changed", user_id, {"role": change})
        member = await self.store.set_member_role(group.id, user_id, role, entry)
        self.events.to_group(
            group.id, "member.role_changed", {"group_id": group.id, "user_id": user_id, **change}
        )
        return member
