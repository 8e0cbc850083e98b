"""Two server processes sharing one store, racing where only one may win: concurrent edits of one
version (optimistic locking) and concurrent retries of one Idempotency-Key, on both backends.

Each test fails if its protection is taken out, as tried: without the version condition of an
expense update both edits answer 200; without the idempotency key's two guards (the claim refusing
a key in flight, and the reply recorded only while the key is pending, in the write's own
transaction) 50 retries made 17 to 19 expenses. Either guard alone still holds.
On DynamoDB these run on moto with requests serialised (tests/services.py), so they show that
the conditions are right; what that emulator cannot show is in docs/dynamodb.md ("Testing")."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy

from tests.server.processes import run_command, two_instances

ROUNDS = 6
"""Expenses edited concurrently, one pair of edits each: one race can go either way, six rarely
leave a lost update unnoticed."""
RETRIES = 50


class Client:
    """One user's requests to either instance."""

    def __init__(self, session: aiohttp.ClientSession, token: str) -> None:
        self.session = session
        self.token = token

    async def send(
        self, method: str, url: str, *, headers: dict[str, str] | None = None, json: Any = None
    ) -> tuple[int, CIMultiDictProxy[str], Any]:
        all_headers = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        async with self.session.request(method, url, headers=all_headers, json=json) as reply:
            return reply.status, reply.headers, await reply.json()


async def _shared_group(first: str, second: str, owner: Client, friend: Client) -> str:
    """A group of the owner and the friend (who joined through the other instance); its path."""
    status, _, group = await owner.send(
        "POST", f"{first}/api/groups", json={"name": "Race", "default_currency": "EUR"}
    )
    assert status == 201, group
    path = f"/api/groups/{group['id']}"
    status, _, invite = await owner.send("POST", f"{first}{path}/invites", json={})
    assert status == 201, invite
    status, _, joined = await friend.send("POST", f"{second}/api/invites/{invite['token']}/accept")
    assert status == 201, joined
    return path


def _tokens(env: dict[str, str], cwd: Path, *names: str) -> list[str]:
    return [run_command("token", f"{name}@example.com", env=env, cwd=cwd).stdout.strip() for name in names]


def _verified(env: dict[str, str], cwd: Path, group_path: str) -> str:
    verified = run_command("verify-balances", group_path.rsplit("/", 1)[1], env=env, cwd=cwd)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    return verified.stdout


def test_two_concurrent_edits_of_one_version_one_wins_one_gets_412(shared_store_env, tmp_path):
    env = shared_store_env
    owner_token, friend_token = _tokens(env, tmp_path, "ann", "ben")
    with two_instances(env, tmp_path) as (first, second):
        group_path = asyncio.run(_race_edits(first, second, owner_token, friend_token))
    assert f"{ROUNDS} expenses" in _verified(env, tmp_path, group_path)


async def _race_edits(first: str, second: str, owner_token: str, friend_token: str) -> str:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        owner, friend = Client(session, owner_token), Client(session, friend_token)
        group_path = await _shared_group(first, second, owner, friend)
        expected_balance = 0
        for round_number in range(ROUNDS):
            status, _, expense = await owner.send(
                "POST", f"{first}{group_path}/expenses", json={"description": "Base", "amount": "10.00"}
            )
            assert status == 201, expense
            url = f"{group_path}/expenses/{expense['id']}"
            edits = {first: "50.00", second: "70.00"}
            answers = await asyncio.gather(
                *(
                    (owner if n % 2 else friend).send(
                        "PUT", f"{base}{url}", headers={"If-Match": '"1"'}, json={"amount": amount}
                    )
                    for n, (base, amount) in enumerate(edits.items())
                )
            )
            statuses = sorted(status for status, _, _ in answers)
            assert statuses == [200, 412], (round_number, answers)
            survivor = next(body for status, _, body in answers if status == 200)
            status, headers, stored = await owner.send("GET", f"{second}{url}")
            assert status == 200 and headers["ETag"].startswith('"2.')
            assert stored["amount"] == survivor["amount"] and stored["version"] == 2
            # The owner paid; the two share equally, so the owner is owed half the survivor.
            expected_balance += int(survivor["amount"].replace(".", "")) // 2
        status, _, balances = await friend.send("GET", f"{first}{group_path}/balances")
        owed = {b["user_id"]: b["amount"] for b in balances["balances"]}
        assert sorted(owed.values()) == sorted([_cents(expected_balance), _cents(-expected_balance)])
        return group_path


def _cents(amount: int) -> str:
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(amount) // 100}.{abs(amount) % 100:02d}"


def test_fifty_concurrent_posts_with_one_idempotency_key_create_one_expense(shared_store_env, tmp_path):
    env = shared_store_env
    owner_token, friend_token = _tokens(env, tmp_path, "cam", "dee")
    with two_instances(env, tmp_path) as (first, second):
        group_path = asyncio.run(_race_retries(first, second, owner_token, friend_token))
    assert "1 expenses" in _verified(env, tmp_path, group_path)


async def _race_retries(first: str, second: str, owner_token: str, friend_token: str) -> str:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        owner, friend = Client(session, owner_token), Client(session, friend_token)
        group_path = await _shared_group(first, second, owner, friend)
        body = {"description": "Concert tickets", "amount": "120.00"}
        headers = {"Idempotency-Key": f"tickets-{uuid.uuid4().hex}"}
        answers = await asyncio.gather(
            *(
                owner.send(
                    "POST", f"{(first, second)[n % 2]}{group_path}/expenses", headers=headers, json=body
                )
                for n in range(RETRIES)
            )
        )
        created = [(h, b) for status, h, b in answers if status == 201]
        others = [(status, b) for status, _, b in answers if status != 201]
        assert created, answers[:3]
        # Every other answer is "in flight": a retry that came while the first was being written.
        assert all(
            status == 409 and b["error"]["code"] == "idempotency_in_progress" for status, b in others
        ), others[:3]
        assert len({b["id"] for _, b in created}) == 1
        assert sum(1 for h, _ in created if h.get("Idempotent-Replayed") != "true") == 1
        # Once the first has finished, a retry replays it.
        status, replay_headers, replay = await owner.send(
            "POST", f"{second}{group_path}/expenses", headers=headers, json=body
        )
        assert status == 201 and replay_headers["Idempotent-Replayed"] == "true"
        assert replay["id"] == created[0][1]["id"]
        status, _, page = await friend.send("GET", f"{first}{group_path}/expenses")
        assert [item["id"] for item in page["items"]] == [replay["id"]]
        return group_path
