"""Invites: items outside their group's partition, left to TTL when the group goes."""

from __future__ import annotations

from domain import Conflict, Invite, NotFound
from domain.clock import from_text, to_text
from store.dynamodb.client import _Cancelled
from store.dynamodb.connection import _Connection
from store.dynamodb.items import _attrs, _key, _ttl
from store.dynamodb.tables import TTL_ATTRIBUTE
from store.errors import group_not_found


class _Invites(_Connection):
    """The invites part of the contract."""

    async def create_invite(self, invite: Invite) -> None:
        item = {
            "pk": f"INVITE#{invite.token_hash}",
            "sk": "INVITE",
            "token_hash": invite.token_hash,
            "group_id": invite.group_id,
            "created_by": invite.created_by,
            "created_at": to_text(invite.created_at),
            "expires_at": to_text(invite.expires_at),
            TTL_ATTRIBUTE: _ttl(invite.expires_at),
        }
        try:
            await self._transact(
                [
                    {
                        "ConditionCheck": {
                            "TableName": self._groups,
                            "Key": _key(f"GROUP#{invite.group_id}", "META"),
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._groups,
                            "Item": _attrs(item),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        except _Cancelled as exc:
            if exc.failed(0):
                raise group_not_found() from None
            raise Conflict("invite already exists", code="invite_exists") from None

    async def get_invite(self, token_hash: str) -> Invite:
        item = await self._get(self._groups, _key(f"INVITE#{token_hash}", "INVITE"))
        # Invites live outside their group's partition, so delete_group leaves them to TTL; an
        # invite to a deleted group is as gone as SQLite's cascaded one.
        if item is None or await self._get(self._groups, _key(f"GROUP#{item['group_id']}", "META")) is None:
            raise NotFound("invite not found")
        return Invite(
            token_hash=item["token_hash"],
            group_id=item["group_id"],
            created_by=item["created_by"],
            created_at=from_text(item["created_at"]),
            expires_at=from_text(item["expires_at"]),
        )
