"""Realtime delivery under a realistic mix (issue 17, part 5): 10,000 WebSocket connections over
two instances sharing a redis-server, in 2,000 groups of five, each connection subscribed to its
own group's channel, while 200 expenses a second are created through REST, spread over the groups.

Prints p50/p99/max delivery latency (publish, right after the commit, to receipt), the events lost
or duplicated and the gaps over all connections (must be 0), the servers' and the subscribers' CPU
per delivered frame, and bare Redis pub/sub latency at the same rate, measured in the same run.
The store is seeded directly (users, groups, members) before the servers start, and the tokens are
minted here with the servers' secret: 10,000 sign-ins through REST would measure something else.

    python bench/realtime_mix_bench.py [--groups 2000] [--size 5] [--rate 200] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import aiohttp
from load import api_env, cpu_seconds, free_port
from realtime_bench import Subscriber, bare_redis_pubsub, instance, percentiles, redis, tally

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from domain.clock import utc_now  # noqa: E402
from domain.ids import new_id  # noqa: E402
from server.tokens import issue_token  # noqa: E402
from store.base import NewGroup  # noqa: E402
from store.sqlite import SQLiteStore  # noqa: E402

SECRET = "b" * 48
ISSUER = "expense-tracker"
CLIENT_PROCESSES = 2


async def seed(path: Path, groups: int, size: int) -> list[tuple[str, list[str]]]:
    """`groups` groups of `size` fresh users each: every group's id and its members' tokens."""
    async with SQLiteStore.open(path) as store:

        async def group(number: int) -> tuple[str, list[str]]:
            users = [
                await store.ensure_user(f"u{number}.{k}@mix.example", f"U{number}.{k}") for k in range(size)
            ]
            made = await store.create_group(
                NewGroup(
                    id=new_id(),
                    name=f"Group {number}",
                    description="",
                    default_currency="EUR",
                    owner_id=users[0].id,
                    created_at=utc_now(),
                )
            )
            for user in users[1:]:
                await store.add_member(made.id, user.id, utc_now())
            tokens = [
                issue_token(secret=SECRET, issuer=ISSUER, user_id=user.id, lifetime=timedelta(hours=2))[0]
                for user in users
            ]
            return made.id, tokens

        seeded: list[tuple[str, list[str]]] = []
        for start in range(0, groups, 200):
            seeded += await asyncio.gather(*(group(n) for n in range(start, min(groups, start + 200))))
        return seeded


def subscriber_process(
    urls: list[str], plan: list[tuple[int, str, str]], pipe: multiprocessing.connection.Connection
) -> None:
    asyncio.run(_subscribers(urls, plan, pipe))


async def _subscribers(
    urls: list[str], plan: list[tuple[int, str, str]], pipe: multiprocessing.connection.Connection
) -> None:
    """One connection per (instance, token, channel) in `plan`, each subscribed to its channel."""
    latencies: list[float] = []
    loop = asyncio.get_running_loop()

    async def connect(where: int, token: str, channel: str) -> Subscriber:
        host, port = urls[where].removeprefix("http://").split(":")
        _, subscriber = await loop.create_connection(lambda: Subscriber(latencies), host, int(port))
        assert subscriber.transport is not None
        subscriber.transport.write(
            f"GET /api/ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        subscriber.send(json.dumps({"type": "auth", "token": token}).encode())
        assert (await asyncio.wait_for(subscriber.frames.get(), 60))["type"] == "welcome"
        subscriber.send(json.dumps({"id": 1, "type": "subscribe", "channel": channel}).encode())
        reply = await asyncio.wait_for(subscriber.frames.get(), 60)
        assert reply["ok"], reply
        return subscriber

    subscribers: list[Subscriber] = []
    for start in range(0, len(plan), 100):
        subscribers += await asyncio.gather(*(connect(*entry) for entry in plan[start : start + 100]))
    pipe.send("ready")
    cpu = time.process_time()
    await loop.run_in_executor(None, pipe.recv)  # "stop"
    cpu = time.process_time() - cpu
    for subscriber in subscribers:
        assert subscriber.transport is not None
        subscriber.transport.close()
    channels = [channel for _, _, channel in plan]
    pipe.send(
        {
            "latencies": latencies,
            "received": [(channel, s.received) for channel, s in zip(channels, subscribers, strict=True)],
            "cpu_s": cpu,
        }
    )


async def publish(
    urls: list[str], groups: list[tuple[str, list[str]]], rate: float, seconds: float
) -> dict[str, list[str]]:
    """POST expenses at `rate` a second, group after group, alternating instances and members;
    the ids created, by channel."""
    created: dict[str, list[str]] = {}
    async with aiohttp.ClientSession() as session:

        async def post(number: int) -> None:
            group_id, tokens = groups[number % len(groups)]
            url = f"{urls[number % len(urls)]}/api/groups/{group_id}/expenses"
            headers = {"Authorization": f"Bearer {tokens[number % len(tokens)]}"}
            body = {"description": f"e{number}", "amount": "12.34"}
            async with session.post(url, json=body, headers=headers) as reply:
                assert reply.status == 201, await reply.text()
                created.setdefault(f"group:{group_id}", []).append((await reply.json())["id"])

        tasks = []
        began = time.monotonic()
        for number in range(int(rate * seconds)):
            delay = began + number / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(post(number)))
        await asyncio.gather(*tasks)
    return created


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=2000)
    parser.add_argument("--size", type=int, default=5, help="members a group, each one connection")
    parser.add_argument("--rate", type=float, default=200.0, help="events per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()

    with ExitStack() as stack:
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rt-mix-")))
        seeded = asyncio.run(seed(data_dir / "expense-tracker.sqlite3", args.groups, args.size))
        redis_url = stack.enter_context(redis(free_port()))
        env = api_env(data_dir, SECRET_KEY=SECRET, JWT_ISSUER=ISSUER, REDIS_URL=redis_url, OCR_WORKERS="1")
        started = [stack.enter_context(instance(env, free_port())) for _ in range(2)]
        urls = [url for url, _ in started]

        # Members of a group on both instances, so that each event crosses Redis.
        plan = [
            (k % len(urls), token, f"group:{group_id}")
            for group_id, tokens in seeded
            for k, token in enumerate(tokens)
        ]
        pipes, processes = [], []
        context = multiprocessing.get_context("spawn")
        for index in range(CLIENT_PROCESSES):
            ours, theirs = context.Pipe()
            process = context.Process(
                target=subscriber_process, args=(urls, plan[index::CLIENT_PROCESSES], theirs)
            )
            process.start()
            pipes.append(ours)
            processes.append(process)
        connect_began = time.monotonic()
        for pipe in pipes:
            if not pipe.poll(600):
                raise SystemExit("subscribers did not connect in time")
            assert pipe.recv() == "ready"
        connect_seconds = time.monotonic() - connect_began

        servers_cpu = sum(cpu_seconds(pid) for _, pid in started)
        created = asyncio.run(publish(urls, seeded, args.rate, args.seconds))
        time.sleep(2.0)  # let the last events arrive
        servers_cpu = sum(cpu_seconds(pid) for _, pid in started) - servers_cpu
        for pipe in pipes:
            pipe.send("stop")
        results = [pipe.recv() for pipe in pipes]
        for process in processes:
            process.join(timeout=60)
        bare = asyncio.run(bare_redis_pubsub(redis_url, args.rate, args.seconds, size=600))

    latencies = [value for result in results for value in result["latencies"]]
    lost, duplicated, gaps = tally(
        (set(created.get(channel, ())), connection)
        for result in results
        for channel, connection in result["received"]
    )
    deliveries = len(latencies)
    subscriber_cpu = sum(result["cpu_s"] for result in results)
    figures = {
        "connections": len(plan),
        "groups": args.groups,
        "instances": 2,
        "events": sum(len(ids) for ids in created.values()),
        "rate_per_s": args.rate,
        "deliveries": deliveries,
        "lost": lost,
        "duplicated": duplicated,
        "out_of_order_or_gaps": gaps,
        "delivery": percentiles(latencies),
        "bare_redis_pubsub": percentiles(bare),
        "connect_s": round(connect_seconds, 1),
        "server_cpu_s": round(servers_cpu, 2),
        "server_cpu_us_per_delivery": round(servers_cpu / max(1, deliveries) * 1e6, 1),
        "subscriber_cpu_s": round(subscriber_cpu, 2),
        "wall_s": round(args.seconds + 2.0, 1),
        "cpus": os.cpu_count(),
    }
    print(
        f"{len(plan)} connections in {args.groups} groups on 2 instances (connected in "
        f"{figures['connect_s']} s), {figures['events']} events at {args.rate:g}/s through REST, "
        f"{deliveries} deliveries, {os.cpu_count()} CPUs"
    )
    print(f"{'path':<34}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for name, label in (
        ("delivery", "publish -> subscriber (ours)"),
        ("bare_redis_pubsub", "bare Redis pub/sub"),
    ):
        row = figures[name]
        print(f"{label:<34}{row['p50_ms']:>10}{row['p99_ms']:>10}{row['max_ms']:>10}")
    print(f"lost: {lost}  duplicated: {duplicated}  gaps: {gaps}")
    print(
        f"CPU while publishing: servers {figures['server_cpu_s']} s (REST writes included; "
        f"{figures['server_cpu_us_per_delivery']} µs a delivered frame), "
        f"subscribers {figures['subscriber_cpu_s']} s, in {figures['wall_s']} s"
    )
    print(json.dumps(figures))
    sys.exit(0 if lost == duplicated == gaps == 0 else 1)


if __name__ == "__main__":
    main()
