"""Deleting an account closes every socket of the user on every instance: two real server
processes sharing a store and a real redis-server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack

import aiohttp
import pytest

from tests.realtime.test_instances import Cluster, Session, start_cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Cluster]:
    with ExitStack() as stack:
        yield start_cluster(stack, tmp_path_factory.mktemp("account-cluster"), redis_url)


@pytest.fixture
async def session(cluster: Cluster) -> AsyncIterator[Session]:
    async with aiohttp.ClientSession() as http:
        yield Session(cluster, http)


async def test_deleting_through_a_closes_every_socket_of_the_user_on_both(session: Session) -> None:
    cluster = session.cluster
    group_id = await session.group("alice", "dave")
    sockets = [
        await session.connect(cluster.b, "dave"),
        await session.connect(cluster.b, "dave"),
        await session.connect(cluster.a, "dave"),
    ]
    bystander = await session.connect(cluster.b, "alice")
    await bystander.subscribe(f"group:{group_id}")

    status, _ = await session.call(cluster.a, "DELETE", "/api/user", "dave")

    assert status == 204
    for client in sockets:
        for _ in range(10):
            message = await client.ws.receive(timeout=5)
            if message.type != aiohttp.WSMsgType.TEXT:
                break
        assert message.type == aiohttp.WSMsgType.CLOSE and message.data == 4001
    left = await bystander.next_event()
    assert (left["type"], left["data"]["user_id"]) == ("member.left", cluster.ids["dave"])
    assert (await bystander.command("ping"))["pong"] is True
    status, _ = await session.call(cluster.b, "GET", "/api/user", "dave")
    assert status == 401
