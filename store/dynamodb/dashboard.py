"""The dashboard: a user's newest groups with their balances and spending (from GSI `by_user`),
and the latest activity across them."""

from __future__ import annotations

from domain import ActivityEntry, Dashboard, GroupMembership, GroupStanding
from domain.clock import from_text
from store.dynamodb.connection import _Connection
from store.dynamodb.items import _activity, _attrs, _group, _key, _plain, _spending_entry
from store.recent import latest_across_groups


class _Dashboard(_Connection):
    """The dashboard part of the contract."""

    async def _latest_activity(self, group_id: str, limit: int) -> list[ActivityEntry]:
        response = await self._call(
            "query",
            TableName=self._expenses,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=_attrs({":pk": f"GROUP#{group_id}", ":prefix": "ACT#"}),
            ScanIndexForward=False,
            ConsistentRead=True,
            Limit=limit,
        )
        return [_activity(_plain(item)) for item in response.get("Items", [])]

    async def dashboard(self, user_id: str, *, group_limit: int, recent_limit: int) -> Dashboard:
        memberships, more_groups = await self._newest_memberships(user_id, max(group_limit, 0))
        metas = {
            item["id"]: item
            for item in await self._batch_get(
                self._groups, [_key(f"GROUP#{m['group_id']}", "META") for m in memberships]
            )
        }
        groups: list[GroupStanding] = []
        spending: dict[tuple[str, str, str], int] = {}
        for m in memberships:
            meta = metas.get(m["group_id"])
            if meta is None:  # deleted since the (eventually consistent) index was read
                continue
            groups.append(
                GroupStanding(
                    membership=GroupMembership(
                        group=_group(meta), role=m["role"], joined_at=from_text(m["joined_at"])
                    ),
                    balances={
                        currency: int(amount)
                        for currency, amount in sorted((m.get("balances") or {}).items())
                        if int(amount)
                    },
                )
            )
            for entry, amount in (m.get("spending") or {}).items():
                key = _spending_entry(entry)
                spending[key] = spending.get(key, 0) + int(amount)
        active = sorted(
            (
                (meta["id"], meta["last_activity_at"])
                for meta in (metas[m["group_id"]] for m in memberships if m["group_id"] in metas)
                if meta.get("last_activity_at")
            ),
            key=lambda group: (group[1], group[0]),
            reverse=True,
        )
        recent = (
            await latest_across_groups(active, recent_limit, self._latest_activity)
            if recent_limit > 0
            else []
        )
        return Dashboard(
            groups=groups,
            more_groups=more_groups,
            spending={key: amount for key, amount in sorted(spending.items()) if amount},
            recent=recent,
        )
