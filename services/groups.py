"""Groups and membership changes: create, change, delete a group; leave or be removed (joining
is `services.invites`). Each is one store write (membership changes with their activity entry), then the
events that tell the group and the people concerned."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain import Conflict, Group, Member
from domain.ids import new_id
from services.common import Service
from services.payloads import group_event
from services.records import check_version
from store import NewGroup


class Groups(Service):
    async def create(self, owner_id: str, fields: Mapping[str, Any]) -> tuple[Group, list[Member]]:
        """A new group owned by `owner_id`, with its (one-member) roster; its currency is the
        owner's default unless `fields` names one."""
        currency = fields.get("default_currency")
        if currency is None:
            currency = (await self.store.get_user(owner_id)).default_currency
        group = await self.store.create_group(
            NewGroup(
                id=new_id(),
                name=fields["name"],
                description=fields.get("description", ""),
                default_currency=currency,
                owner_id=owner_id,
                created_at=self.clock(),
            )
        )
        members = await self.store.list_members(group.id)
        self.events.to_user(owner_id, "group.joined", group_event(group, members))
        return group, members

    async def update(
        self, group: Group, expected_version: int, changes: Mapping[str, Any]
    ) -> tuple[Group, list[Member]]:
        """Change name, description or default currency if still at `expected_version` (else 412)."""
        updated = await self.store.update_group(
            group.id, expected_version=expected_version, changes=dict(changes), updated_at=self.clock()
        )
        members = await self.store.list_members(group.id)
        self.events.to_group(group.id, "group.updated", group_event(updated, members))
        return updated, members

    async def delete(self, group: Group, expected_version: int | None) -> None:
        """Delete the group (409 while any balance is not settled); tell every member."""
        check_version(expected_version, group.version)
        members = await self.store.list_members(group.id)
        await self.store.delete_group(group.id)
        self.events.to_group(group.id, "group.deleted", {"id": group.id})
        for member in members:
            self.events.to_user(
                member.user_id, "group.removed", {"group_id": group.id, "reason": "group.deleted"}
            )

    async def remove(self, group: Group, actor_id: str, user_id: str) -> None:
        """`actor_id` removes `user_id` (or themselves: leaving). The owner cannot go, and nobody
        goes with an unsettled balance (409). Who may remove whom is the caller's check. The links
        they made stop working; a removed member cannot rejoin through any link made before."""
        if user_id == group.owner_id:
            raise Conflict(
                "the owner cannot leave or be removed; delete the group instead", code="owner_cannot_leave"
            )
        action = "member.left" if user_id == actor_id else "member.removed"
        entry = self.activity(group.id, actor_id, action, user_id, {})
        # Their links die with the membership; someone removed (not leaving) also stays out of
        # every link made before now, the one they joined with included.
        await self.store.remove_member(
            group.id, user_id, entry, barred_at=entry.at if action == "member.removed" else None
        )
        # The group event also ends the member's subscription to the group's channel.
        self.events.to_group(group.id, action, {"group_id": group.id, "user_id": user_id})
        self.events.to_user(user_id, "group.removed", {"group_id": group.id, "reason": action})
