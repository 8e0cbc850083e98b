"""Invite links: a member makes one; whoever holds its unguessable token may preview the group and
join it. Only a hash of the token is stored, so a leaked database hands out no working links."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from domain import Gone, Group, Invite, Member, User
from services.common import Service
from services.payloads import group_event, member_json

DEFAULT_LIFETIME_HOURS = 7 * 24


class Invites(Service):
    async def create(self, group: Group, actor_id: str, lifetime_hours: int) -> tuple[Invite, str]:
        """A new link to `group` made by `actor_id` (a member); the token is returned only here."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        invite = Invite(
            token_hash=token_hash(token),
            group_id=group.id,
            created_by=actor_id,
            created_at=now,
            expires_at=now + timedelta(hours=lifetime_hours),
        )
        await self.store.create_invite(invite)
        return invite, token

    async def preview(self, token: str) -> tuple[Invite, Group, User]:
        """What a live invite is for and who made it (404 unknown, 410 expired)."""
        invite = await self._live(token)
        group = await self.store.get_group(invite.group_id)
        inviter = await self.store.get_user(invite.created_by)
        return invite, group, inviter

    async def accept(self, token: str, user_id: str) -> tuple[Group, Member, list[Member], bool]:
        """Add `user_id` to the group of the live invite `token` (a no-op for a member already):
        the group, their membership, the roster, and whether they joined just now."""
        invite = await self._live(token)
        joined_activity = self.activity(
            invite.group_id, user_id, "member.joined", user_id, {"invited_by": invite.created_by}
        )
        member, joined = await self.store.add_member(invite.group_id, user_id, self.clock(), joined_activity)
        group = await self.store.get_group(invite.group_id)
        members = await self.store.list_members(group.id)
        if joined:
            joiner = next((m for m in members if m.user_id == user_id), member)
            self.events.to_group(group.id, "member.joined", member_json(joiner))
            self.events.to_user(user_id, "group.joined", group_event(group, members))
        return group, member, members, joined

    async def _live(self, token: str) -> Invite:
        invite = await self.store.get_invite(token_hash(token))
        if invite.expires_at <= self.clock():
            raise Gone("this invite has expired; ask for a new one", code="invite_expired")
        return invite


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
