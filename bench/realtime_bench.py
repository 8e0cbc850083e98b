"""Realtime delivery: 1,000 WebSocket subscribers spread over two instances sharing a redis-server,
all on one group channel, while expenses are created through REST on both instances.

Prints p50/p99/max delivery latency (from the moment the event is published, right after the
store's commit, to its receipt by a subscriber), the events
lost or duplicated across all subscribers (must be 0), and beside them the latency of bare Redis
pub/sub (one publisher, two subscriber connections standing in for the two instances, the same
payload and rate) measured in the same run.

    python bench/realtime_bench.py [--subscribers 1000] [--rate 10] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import multiprocessing
import os
import re
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import aiohttp
from load import BIN, api_env, call, cpu_seconds, free_port, token_for, wait_healthy

EVENT_HEAD = re.compile(
    rb'\{"channel":"[^"]*","seq":(\d+),"epoch":"([^"]*)","type":"[^"]*","id":"[^"]*","ts":([\d.]+),"data":\{"id":"([^"]+)"'
)
"""The head of an event frame as the server writes it (`realtime.envelope.frame`): seq, epoch, ts,
data.id."""
CLIENT_PROCESSES = 2
MEMBERS = 40
"""Subscribers are connections of the group's members (a group has at most 50)."""


@contextmanager
def redis(port: int) -> Iterator[str]:
    workdir = tempfile.mkdtemp(prefix="bench-redis-")
    process = subprocess.Popen(
        [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while (
            subprocess.run(
                ["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True
            ).stdout.strip()
            != "PONG"
        ):
            if time.monotonic() > deadline:
                raise SystemExit("redis-server did not start")
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def instance(env: dict[str, str], port: int) -> Iterator[tuple[str, int]]:
    process = subprocess.Popen(
        [str(BIN / "expense-tracker"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}/healthz", process)
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


# --- subscriber processes ------------------------------------------------------------------------


def subscriber_process(
    urls: list[str],
    tokens: list[str],
    channel: str,
    count: int,
    offset: int,
    pipe: multiprocessing.connection.Connection,
    slow: int = 0,
) -> None:
    asyncio.run(_subscribers(urls, tokens, channel, count, offset, pipe, slow))


class Subscriber(asyncio.Protocol):
    """A minimal WebSocket client, parsing frames as bytes arrive: a real client's work per
    event (a receive and a JSON parse) without a task switch per message, so that 500 of them in
    one process measure the server rather than the client."""

    def __init__(self, latencies: list[float], *, slow: bool = False) -> None:
        self.latencies = latencies
        self.received: list[tuple[int, str]] = []
        self.epoch = ""
        self.buffer = b""
        self.upgraded = False
        self.frames: asyncio.Queue[dict] = asyncio.Queue()
        self.transport: asyncio.Transport | None = None
        self.slow = slow
        self.close_code: int | None = None
        self.lost = asyncio.Event()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        if self.slow:  # a phone on a bad network: a small window, soon full
            transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.set()

    def data_received(self, data: bytes) -> None:
        now = time.time()
        self.buffer += data
        if not self.upgraded:
            head, found, rest = self.buffer.partition(b"\r\n\r\n")
            if not found:
                return
            assert head.startswith(b"HTTP/1.1 101"), head
            self.upgraded, self.buffer = True, rest
        buffer, at, end = self.buffer, 0, len(self.buffer)
        # An offset walks the buffer (slicing off each frame would copy the rest every time).
        while end - at >= 2:
            opcode, size, start = buffer[at] & 0x0F, buffer[at + 1] & 0x7F, at + 2
            if size == 126:
                if end - at < 4:
                    break
                size, start = struct.unpack_from("!H", buffer, at + 2)[0], at + 4
            elif size == 127:
                if end - at < 10:
                    break
                size, start = struct.unpack_from("!Q", buffer, at + 2)[0], at + 10
            if end < start + size:
                break
            payload, at = buffer[start : start + size], start + size
            if opcode == 0x8:  # the server closes: note why
                self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
            elif opcode == 0x9:  # ping: answer (masked, as clients must)
                self.send(payload, opcode=0xA)
            elif opcode == 0x1:
                # An event's few fields are read off its head, as a light client that routes by
                # channel and seq would; anything else (welcome, replies) is parsed in full.
                event = EVENT_HEAD.match(payload)
                if event is not None:
                    self.latencies.append(now - float(event[3]))
                    self.received.append((int(event[1]), event[4].decode()))
                    self.epoch = event[2].decode()
                    continue
                frame = json.loads(payload)
                if "seq" in frame and frame["type"] != "reply":
                    self.latencies.append(now - frame["ts"])
                    self.received.append((frame["seq"], frame["data"]["id"]))
                else:
                    self.frames.put_nowait(frame)
        self.buffer = buffer[at:]

    def send(self, payload: bytes, opcode: int = 0x1) -> None:
        mask = os.urandom(4)
        size = len(payload)
        header = (
            struct.pack("!BB", 0x80 | opcode, 0x80 | size)
            if size < 126
            else struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
        )
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        assert self.transport is not None
        self.transport.write(header + mask + masked)


async def _subscribers(
    urls: list[str],
    tokens: list[str],
    channel: str,
    count: int,
    offset: int,
    pipe: multiprocessing.connection.Connection,
    slow: int = 0,
) -> None:
    """`count` subscribers, the first `slow` of which stop reading once all are connected; after
    the run those read again, and, once cut off, reconnect and replay what they missed."""
    latencies: list[float] = []
    slow_latencies: list[float] = []
    loop = asyncio.get_running_loop()

    async def connect(number: int, *, is_slow: bool = False, **position: object) -> Subscriber:
        host, port = urls[number % len(urls)].removeprefix("http://").split(":")
        measured = slow_latencies if is_slow or position else latencies
        _, subscriber = await loop.create_connection(
            lambda: Subscriber(measured, slow=is_slow), host, int(port)
        )
        key = base64.b64encode(os.urandom(16)).decode()
        assert subscriber.transport is not None
        subscriber.transport.write(
            f"GET /api/ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        subscriber.send(json.dumps({"type": "auth", "token": tokens[number % len(tokens)]}).encode())
        assert (await asyncio.wait_for(subscriber.frames.get(), 30))["type"] == "welcome"
        command = {"id": 1, "type": "subscribe", "channel": channel, **position}
        subscriber.send(json.dumps(command).encode())
        reply = await asyncio.wait_for(subscriber.frames.get(), 30)
        assert reply["ok"], reply
        subscriber.recovered = reply.get("recovered")  # type: ignore[attr-defined]
        subscriber.epoch, subscriber.head = reply.get("epoch", ""), reply.get("seq")  # type: ignore[attr-defined]
        return subscriber

    subscribers: list[Subscriber] = []
    for start in range(0, count, 50):
        subscribers += await asyncio.gather(
            *(connect(offset + i, is_slow=i < slow) for i in range(start, min(count, start + 50)))
        )
    for subscriber in subscribers[:slow]:
        assert subscriber.transport is not None
        subscriber.transport.pause_reading()
    pipe.send("ready")
    cpu = time.process_time()
    await loop.run_in_executor(None, pipe.recv)  # "stop"
    cpu = time.process_time() - cpu
    recoveries = await asyncio.gather(
        *(recover(connect, offset + i, s) for i, s in enumerate(subscribers[:slow]))
    )
    for subscriber in subscribers:
        assert subscriber.transport is not None
        subscriber.transport.close()
    received = [s.received for s in subscribers]
    for index, (_, again) in enumerate(recoveries):
        received[index] = received[index] + (again.received if again is not None else [])
    pipe.send(
        {
            "latencies": latencies,
            "received": received,
            "cpu_s": cpu,
            "slow": [
                {"close_code": code, "recovered": getattr(again, "recovered", None)}
                for code, again in recoveries
            ],
        }
    )


async def recover(
    connect: object, number: int, subscriber: Subscriber
) -> tuple[int | None, Subscriber | None]:
    """Read again: a subscriber the server cut off reconnects from its last event and replays the
    rest; the close code it was sent, and the new connection (None if it was never cut)."""
    assert subscriber.transport is not None
    subscriber.transport.resume_reading()
    try:
        await asyncio.wait_for(subscriber.lost.wait(), 10)
    except asyncio.TimeoutError:
        return None, None
    seq = subscriber.received[-1][0] if subscriber.received else subscriber.head  # type: ignore[attr-defined]
    position = {"epoch": subscriber.epoch, "seq": seq} if seq is not None else {}
    again: Subscriber = await connect(number, **position)  # type: ignore[operator]
    quiet = 0
    while quiet < 10:  # until the replay has been quiet for a second
        before = len(again.received)
        await asyncio.sleep(0.1)
        quiet = quiet + 1 if len(again.received) == before else 0
    return subscriber.close_code, again


# --- publishing ----------------------------------------------------------------------------------


async def publish_through_rest(
    urls: list[str], token: str, group_id: str, rate: float, seconds: float
) -> tuple[list[str], list[float]]:
    """POST expenses at `rate` per second, alternating instances; the created ids and each
    request's start time."""
    ids: list[str] = []
    starts: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as session:

        async def post(number: int) -> None:
            started = time.time()
            url = f"{urls[number % len(urls)]}/api/groups/{group_id}/expenses"
            async with session.post(url, json={"description": f"e{number}", "amount": "12.34"}) as reply:
                assert reply.status == 201, await reply.text()
                ids.append((await reply.json())["id"])
                starts.append(started)

        tasks = []
        began = time.monotonic()
        for number in range(int(rate * seconds)):
            delay = began + number / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(post(number)))
        await asyncio.gather(*tasks)
    return ids, starts


async def bare_redis_pubsub(url: str, rate: float, seconds: float, size: int) -> list[float]:
    """Publish timestamped messages of `size` bytes at `rate`; two subscriber connections."""
    import redis.asyncio as aioredis

    latencies: list[float] = []
    publisher = aioredis.from_url(url)
    subscribers = [aioredis.from_url(url).pubsub() for _ in range(2)]
    for pubsub in subscribers:
        await pubsub.subscribe("bench")
        await pubsub.get_message(timeout=1)
    total = int(rate * seconds)

    async def listen(pubsub: aioredis.client.PubSub) -> None:
        seen = 0
        while seen < total:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
            if message is None:
                return
            latencies.append(time.time() - json.loads(message["data"])["ts"])
            seen += 1

    listeners = [asyncio.create_task(listen(p)) for p in subscribers]
    padding = "x" * size
    began = time.monotonic()
    for number in range(total):
        delay = began + number / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await publisher.publish("bench", json.dumps({"ts": time.time(), "pad": padding}))
    await asyncio.gather(*listeners)
    for pubsub in subscribers:
        await pubsub.aclose()
    await publisher.aclose()
    return latencies


def tally(connections: Iterable[tuple[set[str], list[tuple[int, str]]]]) -> tuple[int, int, int]:
    """Events lost, duplicated, and seq gaps, over connections given as (the event ids each should
    have had, the (seq, id) pairs it got)."""
    lost = duplicated = gaps = 0
    for expected, connection in connections:
        seqs = [seq for seq, _ in connection]
        got = [event_id for _, event_id in connection]
        lost += len(expected - set(got))
        duplicated += len(got) - len(set(got))
        gaps += sum(1 for a, b in zip(seqs, seqs[1:], strict=False) if b != a + 1)
    return lost, duplicated, gaps


def percentiles(values: list[float]) -> dict[str, float]:
    if len(values) < 2:
        return {"p50_ms": float("nan"), "p99_ms": float("nan"), "max_ms": float("nan")}
    cuts = statistics.quantiles(values, n=100)
    return {
        "p50_ms": round(cuts[49] * 1000, 2),
        "p99_ms": round(cuts[98] * 1000, 2),
        "max_ms": round(max(values) * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=10.0, help="events per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--slow", type=int, default=0, help="subscribers that stop reading (cut, then replay)"
    )
    parser.add_argument("--queue", type=int, default=None, help="WS_QUEUE_SIZE for the servers")
    args = parser.parse_args()

    with ExitStack() as stack:
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rt-bench-")))
        redis_url = stack.enter_context(redis(free_port()))
        # 1,000 sockets connect from one address: the limiter is not what is measured (off).
        env = api_env(
            data_dir,
            REDIS_URL=redis_url,
            OCR_WORKERS="1",
            **({"WS_QUEUE_SIZE": str(args.queue)} if args.queue else {}),
        )
        started = [stack.enter_context(instance(env, free_port())) for _ in range(2)]
        urls = [url for url, _ in started]

        owner = token_for("owner@bench.example", env)
        group = call("POST", f"{urls[0]}/api/groups", owner, {"name": "Bench"})
        tokens = [owner]
        for number in range(MEMBERS - 1):
            token = token_for(f"member{number}@bench.example", env)
            invite = call("POST", f"{urls[0]}/api/groups/{group['id']}/invites", owner, {})
            call("POST", f"{urls[0]}/api/invites/{invite['token']}/accept", token)
            tokens.append(token)
        channel = f"group:{group['id']}"

        per_process = args.subscribers // CLIENT_PROCESSES
        pipes, processes = [], []
        context = multiprocessing.get_context("spawn")
        for index in range(CLIENT_PROCESSES):
            ours, theirs = context.Pipe()
            process = context.Process(
                target=subscriber_process,
                args=(
                    urls,
                    tokens,
                    channel,
                    per_process,
                    index * per_process,
                    theirs,
                    args.slow // CLIENT_PROCESSES,
                ),
            )
            process.start()
            pipes.append(ours)
            processes.append(process)
        for pipe in pipes:
            if not pipe.poll(120):
                raise SystemExit("subscribers did not connect in time")
            assert pipe.recv() == "ready"

        servers_cpu = sum(cpu_seconds(pid) for _, pid in started)
        ids, _ = asyncio.run(publish_through_rest(urls, owner, group["id"], args.rate, args.seconds))
        time.sleep(2.0)  # let the last events arrive
        servers_cpu = sum(cpu_seconds(pid) for _, pid in started) - servers_cpu
        for pipe in pipes:
            pipe.send("stop")
        results = [pipe.recv() for pipe in pipes]
        for process in processes:
            process.join(timeout=30)

        latencies = [value for result in results for value in result["latencies"]]
        lost, duplicated, gaps = tally(
            (set(ids), connection) for result in results for connection in result["received"]
        )
        bare = asyncio.run(bare_redis_pubsub(redis_url, args.rate, args.seconds, size=600))

    deliveries = len(latencies)
    slow = [entry for result in results for entry in result["slow"]]
    figures = {
        "subscribers": per_process * CLIENT_PROCESSES,
        "instances": 2,
        "events": len(ids),
        "rate_per_s": args.rate,
        "deliveries": deliveries,
        "lost": lost,
        "duplicated": duplicated,
        "out_of_order_or_gaps": gaps,
        "slow_subscribers": len(slow),
        "slow_cut_off": sum(1 for entry in slow if entry["recovered"] is not None),
        "slow_recovered_by_replay": sum(1 for entry in slow if entry["recovered"] is True),
        "delivery": percentiles(latencies),
        "bare_redis_pubsub": percentiles(bare),
        # Where the 2 cores went while events flowed: the two servers (REST writes included) and
        # the subscriber processes, per frame delivered.
        "server_cpu_us_per_delivery": round(servers_cpu / max(1, deliveries) * 1e6, 1),
        "subscriber_cpu_us_per_delivery": round(
            sum(result["cpu_s"] for result in results) / max(1, deliveries) * 1e6, 1
        ),
        "server_cpu_s": round(servers_cpu, 2),
        "subscriber_cpu_s": round(sum(result["cpu_s"] for result in results), 2),
        "wall_s": round(args.seconds + 2.0, 1),
        "cpus": os.cpu_count(),
    }
    print(
        f"{figures['subscribers']} subscribers on 2 instances, {len(ids)} events at "
        f"{args.rate:g}/s through REST, {deliveries} deliveries, {os.cpu_count()} CPUs"
    )
    print(f"{'path':<34}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for name in ("delivery", "bare_redis_pubsub"):
        row = figures[name]
        label = "publish -> subscriber (ours)" if name == "delivery" else "bare Redis pub/sub"
        print(f"{label:<34}{row['p50_ms']:>10}{row['p99_ms']:>10}{row['max_ms']:>10}")
    print(f"lost: {lost}  duplicated: {duplicated}  gaps: {gaps}")
    if slow:
        print(
            f"slow subscribers: {len(slow)}, cut off: {figures['slow_cut_off']}, "
            f"recovered by replay: {figures['slow_recovered_by_replay']} "
            "(their events count in lost/gaps above; their latency is not in the table)"
        )
    print(
        f"CPU while publishing: servers {figures['server_cpu_s']} s "
        f"({figures['server_cpu_us_per_delivery']} µs a delivered frame), subscribers "
        f"{figures['subscriber_cpu_s']} s ({figures['subscriber_cpu_us_per_delivery']} µs), "
        f"in {figures['wall_s']} s on {os.cpu_count()} CPUs"
    )
    print(json.dumps(figures))
    sys.exit(0 if lost == duplicated == gaps == 0 else 1)


if __name__ == "__main__":
    main()
