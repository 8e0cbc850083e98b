"""Invite links: a member makes one; whoever holds its unguessable token may preview the group and
join it, as often as the link allows. Only a hash of the token is stored, so a leaked database
hands out no working links; the link's public `id` names it for listing and revoking."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from domain import Forbidden, Group, Invite, Member, Page, User
from domain.ids import new_id
from services.common import Service
from services.payloads import group_event, member_json
from services.records import refuse_direct
from store.errors import invite_expired, invite_used_up

DEFAULT_LIFETIME_HOURS = 7 * 24


class Invites(Service):
    async def create(
        self, group: Group, actor_id: str, lifetime_hours: int, max_uses: int | None = None
    ) -> tuple[Invite, str]:
        """A new link to `group` made by `actor_id` (a member), good for `max_uses` joins (None:
        any number) until it expires; the token is returned only here."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        invite = Invite(
            token_hash=token_hash(token),
            group_id=group.id,
            created_by=actor_id,
            created_at=now,
            expires_at=now + timedelta(hours=lifetime_hours),
            id=new_id(),
            max_uses=max_uses,
        )
        await self.store.create_invite(invite)
        return invite, token

    async def live_links(self, group: Group, limit: int, cursor: str | None) -> Page[Invite]:
        """The group's live links now, newest first."""
        return await self.store.list_invites(group.id, now=self.clock(), limit=limit, cursor=cursor)

    async def revoke(self, group: Group, actor: Member, invite_id: str) -> None:
        """Kill the link `invite_id`: the right of the group's owner and admins, and of its maker
        (403 for other members, 404 for a link that is not live). Logged as `invite.revoked`."""
        invite = await self.store.get_group_invite(group.id, invite_id)
        if actor.role not in ("owner", "admin") and invite.created_by != actor.user_id:
            raise Forbidden(
                "only the group's owner, an admin or the link's maker may revoke it", code="not_your_invite"
            )
        revoked = self.activity(
            group.id, actor.user_id, "invite.revoked", invite.id, {"created_by": invite.created_by}
        )
        await self.store.revoke_invite(group.id, invite.id, revoked)

    async def preview(self, token: str) -> tuple[Invite, Group, User]:
        """What a live invite is for and who made it (404 unknown or revoked, 410 expired or used
        up)."""
        invite = await self._live(token)
        group = await self.store.get_group(invite.group_id)
        inviter = await self.store.get_user(invite.created_by)
        return invite, group, inviter

    async def accept(self, token: str, user_id: str) -> tuple[Group, Member, list[Member], bool]:
        """Add `user_id` to the group of the live invite `token` (a no-op for a member already),
        using one of its uses: the group, their membership, the roster, and whether they joined
        just now. A member removed after the link was made is refused (403)."""
        invite = await self._live(token)
        refuse_direct(await self.store.get_group(invite.group_id), "joining through an invite")
        joined_activity = self.activity(
            invite.group_id, user_id, "member.joined", user_id, {"invited_by": invite.created_by}
        )
        member, joined = await self.store.accept_invite(invite, user_id, self.clock(), joined_activity)
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
            raise invite_expired()
        if invite.max_uses is not None and invite.uses >= invite.max_uses:
            raise invite_used_up()
        return invite


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
