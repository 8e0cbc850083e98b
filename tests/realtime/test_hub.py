"""The hub over the embedded broker, in process: ordering, recovery, gap filling, removal, slow
consumers, and malformed messages."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from realtime.broker import InProcessBroker, RedisBroker
from realtime.envelope import Envelope, pending_event
from realtime.hub import CLOSE_GOING_AWAY, CLOSE_SLOW_CONSUMER, Connection, Hub, Outgoing


class FakeSocket:
    """Records frames; `stalled` makes every send wait, like a client that stopped reading."""

    def __init__(self, stalled: bool = False) -> None:
        self.frames: list[dict[str, Any]] = []
        self.closed_with: tuple[int, str] | None = None
        self.stalled = asyncio.Event() if stalled else None

    def write_now(self, frame: Outgoing) -> bool:
        if self.stalled is not None:
            return False
        self.frames.append(json.loads(frame.payload))
        return True

    async def send_frame(self, data: bytes) -> None:
        if self.stalled is not None:
            await self.stalled.wait()
        self.frames.append(json.loads(data))

    async def close(self, code: int, message: str) -> None:
        self.closed_with = (code, message)

    def events(self) -> list[dict[str, Any]]:
        return [f for f in self.frames if "seq" in f and f["type"] != "reply"]


class Harness:
    def __init__(self, history: int = 10) -> None:
        self.broker = InProcessBroker(history)
        self.hub = Hub(self.broker)
        self.writers: list[asyncio.Task[None]] = []

    def connect(
        self, user: str = "u1", *, stalled: bool = False, queue: int = 100
    ) -> tuple[Connection, FakeSocket]:
        socket = FakeSocket(stalled)
        connection = Connection(user, socket, queue_limit=queue)
        self.hub.attach(connection)
        self.writers.append(asyncio.get_running_loop().create_task(connection.run_writer()))
        return connection, socket

    def publish(self, channel: str, type_: str = "expense.created", **data: Any) -> None:
        self.broker.publish(pending_event(channel, type_, data))

    async def settle(self) -> None:
        for _ in range(5):
            await asyncio.sleep(0)


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    harness = Harness()
    runner = asyncio.get_running_loop().create_task(harness.hub.run())
    yield harness
    runner.cancel()
    for task in [runner, *harness.writers]:
        task.cancel()
    await asyncio.gather(runner, *harness.writers, return_exceptions=True)


async def test_fan_out_in_order_to_every_subscriber(harness: Harness) -> None:
    first, first_socket = harness.connect("u1")
    second, second_socket = harness.connect("u2")
    for connection in (first, second):
        await harness.hub.subscribe(connection, "group:g", epoch=None, seq=None, command_id=1)
    for n in range(1, 6):
        harness.publish("group:g", n=n)
    harness.publish("group:other", n=99)
    await harness.settle()

    for socket in (first_socket, second_socket):
        reply = socket.frames[0]
        assert reply["ok"] and reply["seq"] == 0 and reply["recovered"] is None
        assert [e["data"]["n"] for e in socket.events()] == [1, 2, 3, 4, 5]
        assert [e["seq"] for e in socket.events()] == [1, 2, 3, 4, 5]


async def test_resubscribe_gets_exactly_the_missed_events_then_live(harness: Harness) -> None:
    for n in range(1, 5):
        harness.publish("group:g", n=n)
    epoch = (await harness.broker.since("group:g", None, None)).epoch
    connection, socket = harness.connect()

    await harness.hub.subscribe(connection, "group:g", epoch=epoch, seq=2, command_id="s")
    harness.publish("group:g", n=5)
    await harness.settle()

    assert socket.frames[0]["recovered"] is True and socket.frames[0]["seq"] == 4
    assert [e["seq"] for e in socket.events()] == [3, 4, 5]


async def test_trimmed_history_or_another_epoch_is_not_recovered(harness: Harness) -> None:
    for n in range(1, 16):  # history keeps 10: events 6-15
        harness.publish("group:g", n=n)
    epoch = (await harness.broker.since("group:g", None, None)).epoch
    trimmed, trimmed_socket = harness.connect()
    fine, fine_socket = harness.connect()
    stale, stale_socket = harness.connect()

    await harness.hub.subscribe(trimmed, "group:g", epoch=epoch, seq=4, command_id=1)
    await harness.hub.subscribe(fine, "group:g", epoch=epoch, seq=5, command_id=1)
    await harness.hub.subscribe(stale, "group:g", epoch="older", seq=14, command_id=1)
    await harness.settle()

    assert trimmed_socket.frames[0]["recovered"] is False and not trimmed_socket.events()
    assert fine_socket.frames[0]["recovered"] is True
    assert [e["seq"] for e in fine_socket.events()] == list(range(6, 16))
    assert stale_socket.frames[0]["recovered"] is False


async def test_events_during_subscription_set_up_are_neither_lost_nor_doubled(
    harness: Harness,
) -> None:
    harness.publish("group:g", n=1)
    epoch = (await harness.broker.since("group:g", None, None)).epoch
    connection, socket = harness.connect()
    original_since = harness.broker.since

    async def slow_since(*args: Any) -> Any:
        harness.publish("group:g", n=2)  # lands before the position is read ...
        recovery = await original_since(*args)
        harness.publish("group:g", n=3)  # ... and after
        await harness.settle()
        return recovery

    harness.broker.since = slow_since  # type: ignore[method-assign, assignment]
    await harness.hub.subscribe(connection, "group:g", epoch=epoch, seq=1, command_id=1)
    await harness.settle()

    assert [e["data"]["n"] for e in socket.events()] == [2, 3]


async def test_what_authorize_reads_is_followed_by_every_later_event(harness: Harness) -> None:
    """The subscribe reply's feed cursor is read in `authorize`: a change that commits and is
    published just after that read must still reach the subscriber, or a client keeping the cursor
    would skip it. So `authorize` runs once the subscription catches events, and what it returns
    joins the reply."""
    connection, socket = harness.connect()

    async def authorize() -> dict[str, Any]:
        harness.publish("group:g", n=1)  # committed just after the cursor was read
        return {"cursor": "position-read-here"}

    await harness.hub.subscribe(
        connection, "group:g", epoch=None, seq=None, command_id=1, authorize=authorize
    )
    harness.publish("group:g", n=2)
    await harness.settle()

    assert socket.frames[0]["cursor"] == "position-read-here"
    assert [e["data"]["n"] for e in socket.events()] == [1, 2]


async def test_a_gap_on_a_live_channel_is_filled_from_history(harness: Harness) -> None:
    connection, socket = harness.connect()
    await harness.hub.subscribe(connection, "group:g", epoch=None, seq=None, command_id=1)
    harness.publish("group:g", n=1)
    await harness.settle()
    deliver = harness.broker.sink
    harness.broker.sink = lambda envelope: None  # the instance loses two events ...
    harness.publish("group:g", n=2)
    harness.publish("group:g", n=3)
    harness.broker.sink = deliver
    harness.publish("group:g", n=4)  # ... and notices at the next
    await harness.settle()

    assert [e["data"]["n"] for e in socket.events()] == [1, 2, 3, 4]


async def test_a_gap_history_cannot_fill_asks_the_client_to_resubscribe(harness: Harness) -> None:
    connection, socket = harness.connect()
    await harness.hub.subscribe(connection, "group:g", epoch=None, seq=None, command_id=1)
    deliver = harness.broker.sink
    harness.broker.sink = lambda envelope: None
    for n in range(12):  # more than the history keeps
        harness.publish("group:g", n=n)
    harness.broker.sink = deliver
    harness.publish("group:g", n=12)
    await harness.settle()

    assert socket.frames[-1] == {"type": "resubscribe", "channel": "group:g", "reason": "gap"}
    assert not harness.hub.subscribed(connection, "group:g")


async def test_a_member_removed_stops_receiving_the_group(harness: Harness) -> None:
    removed, removed_socket = harness.connect("bob")
    stays, stays_socket = harness.connect("alice")
    for connection in (removed, stays):
        await harness.hub.subscribe(connection, "group:g", epoch=None, seq=None, command_id=1)
    harness.publish("group:g", "member.removed", group_id="g", user_id="bob")
    harness.publish("group:g", n=2)
    await harness.settle()

    assert [e["type"] for e in removed_socket.events()] == ["member.removed"]
    assert removed_socket.frames[-1] == {
        "type": "unsubscribed",
        "channel": "group:g",
        "reason": "member.removed",
    }
    assert [e["seq"] for e in stays_socket.events()] == [1, 2]


async def test_a_slow_consumer_is_cut_off_and_the_others_keep_receiving(harness: Harness) -> None:
    slow, slow_socket = harness.connect(stalled=True, queue=8)
    fast, fast_socket = harness.connect()
    for connection in (slow, fast):
        await harness.hub.subscribe(connection, "group:g", epoch=None, seq=None, command_id=1)
    for n in range(50):
        harness.publish("group:g", n=n)
    await harness.settle()

    assert slow.closed and slow_socket.closed_with == (CLOSE_SLOW_CONSUMER, "slow consumer")
    assert not harness.hub.subscribed(slow, "group:g")
    assert [e["data"]["n"] for e in fast_socket.events()] == list(range(50))


async def test_shutdown_sends_a_reconnect_hint_and_closes_1001(harness: Harness) -> None:
    connection, socket = harness.connect()
    harness.hub.close_all()
    await harness.settle()
    assert socket.frames[-1]["type"] == "shutdown"
    assert socket.closed_with == (CLOSE_GOING_AWAY, "server shutting down")


async def test_ephemeral_messages_skip_their_sender(harness: Harness) -> None:
    alice, alice_socket = harness.connect("alice")
    bob, bob_socket = harness.connect("bob")
    for connection in (alice, bob):
        await harness.hub.subscribe(connection, "group:g", epoch=None, seq=None, command_id=1)
    harness.hub.broadcast("group:g", "typing", {"user_id": "alice"})
    await harness.settle()
    assert bob_socket.frames[-1] == {"channel": "group:g", "type": "typing", "data": {"user_id": "alice"}}
    assert alice_socket.frames[-1]["type"] == "reply"


async def test_a_malformed_channel_message_is_skipped_not_fatal() -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis()  # never connects: only the delivery path is exercised
    broker = RedisBroker(client, 10)
    got: list[Envelope] = []
    broker.sink = got.append
    for raw in (
        b"not json",
        b"[]",
        b'{"channel": "group:g", "seq": "x"}',
        b'{"channel": "group:g", "seq": 3, "epoch": "e", "type": "t", "data": {}}',
    ):
        broker.deliver(raw)
    assert [e.seq for e in got] == [3]
    await client.aclose()
