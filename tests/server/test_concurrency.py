"""Two server processes sharing one store, hammered at once: nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from tests.server.processes import run_command, two_instances

CREATIONS = {"sqlite": 200, "dynamodb": 40}
"""Concurrent creations per backend. On moto, which serves one request at a time, every creation in
one group contends for the group's change counter, so each conflict costs a retry round trip: 200
took ~95 s on a developer's machine and ran past the timeout on CI's, and 60 took 18 s of a suite
near its budget. 40 still has both instances racing on every write."""


async def _json(
    session: aiohttp.ClientSession, method: str, url: str, token: str, **kwargs: Any
) -> tuple[int, Any]:
    async with session.request(method, url, headers={"Authorization": f"Bearer {token}"}, **kwargs) as reply:
        return reply.status, await reply.json()


def test_two_instances_sharing_a_store_lose_and_double_nothing(shared_store_env, tmp_path):
    env = shared_store_env
    creations = CREATIONS["dynamodb" if "DYNAMODB_ENDPOINT_URL" in env else "sqlite"]
    tokens = [
        run_command("token", f"{name}@example.com", env=env, cwd=tmp_path).stdout.strip()
        for name in ("ann", "ben", "cat")
    ]
    with two_instances(env, tmp_path) as (first, second):
        group_id = asyncio.run(_hammer(first, second, tokens, creations))
    verified = run_command("verify-balances", group_id, env=env, cwd=tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"{creations} expenses" in verified.stdout


async def _hammer(first: str, second: str, tokens: list[str], creations: int) -> str:
    """Returns the group's id."""
    owner, *friends = tokens
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        _, group = await _json(
            session, "POST", f"{first}/api/groups", owner, json={"name": "Shared", "default_currency": "EUR"}
        )
        group_url = f"/api/groups/{group['id']}"
        for friend in friends:
            _, invite = await _json(session, "POST", f"{first}{group_url}/invites", owner, json={})
            status, _ = await _json(session, "POST", f"{second}/api/invites/{invite['token']}/accept", friend)
            assert status == 201

        async def create(number: int) -> tuple[int, Any]:
            base = first if number % 2 else second
            token = tokens[number % 3]
            return await _json(
                session,
                "POST",
                f"{base}{group_url}/expenses",
                token,
                json={"description": f"expense {number}", "amount": f"{number % 17 + 1}.{number % 100:02d}"},
            )

        results = await asyncio.gather(*(create(n) for n in range(creations)))
        assert [status for status, _ in results] == [201] * creations, results[:3]
        created_ids = {body["id"] for _, body in results}
        assert len(created_ids) == creations

        listed, cursor = set(), None
        while True:
            params = {"limit": "100", **({"cursor": cursor} if cursor else {})}
            _, page = await _json(session, "GET", f"{second}{group_url}/expenses", owner, params=params)
            listed |= {item["id"] for item in page["items"]}
            if (cursor := page["next_cursor"]) is None:
                break
        assert listed == created_ids

        _, balances = await _json(session, "GET", f"{first}{group_url}/balances", owner)
        assert sum(int(b["amount"].replace(".", "")) for b in balances["balances"]) == 0
        paid_by: dict[str, int] = {}
        for _, body in results:
            payer = body["payers"][0]["user_id"]
            paid_by[payer] = paid_by.get(payer, 0) + int(body["amount"].replace(".", ""))
        owed: dict[str, int] = {}
        for _, body in results:
            for share in body["shares"]:
                owed[share["user_id"]] = owed.get(share["user_id"], 0) + int(share["amount"].replace(".", ""))
        expected = {user: paid_by.get(user, 0) - owed.get(user, 0) for user in owed}
        actual = {b["user_id"]: int(b["amount"].replace(".", "")) for b in balances["balances"]}
        assert actual == expected

        target = next(iter(created_ids))
        edits = await asyncio.gather(
            _json(
                session,
                "PUT",
                f"{first}{group_url}/expenses/{target}",
                owner,
                json={"amount": "50.00", "version": 1},
            ),
            _json(
                session,
                "PUT",
                f"{second}{group_url}/expenses/{target}",
                owner,
                json={"amount": "70.00", "version": 1},
            ),
        )
        assert sorted(status for status, _ in edits) == [200, 412]
        group_id: str = group["id"]
        return group_id
