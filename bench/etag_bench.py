"""What conditional reads cost and save, on a 50-expense page with its `users` map.

In process: the digest options over the page's exact bytes (SHA-256, what server/conditional.py
uses, beside blake2b and md5, and crc32 as a floor), the whole `conditional()` step on a 200 and on
a matching If-None-Match, and, as the yardstick, encoding that page to JSON (which every answer
pays already). Over HTTP: the page as a 200 and as a 304, beside a bare aiohttp handler.

    python bench/etag_bench.py [--seconds 5] [--connections 64] [--rounds 20000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
import timeit
import urllib.request
import zlib
from collections.abc import Callable
from pathlib import Path

from load import call, load, pick_engine, report, servers, token_for

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import web  # noqa: E402
from aiohttp.test_utils import make_mocked_request  # noqa: E402

from server.conditional import body_etag, conditional  # noqa: E402
from server.routing import json_text  # noqa: E402


def build(api: str, env: dict[str, str]) -> tuple[str, str]:
    """Ana's group of three with 50 expenses; returns her token and the page's URL."""
    ana = token_for("ana@example.com", env)
    group = call("POST", f"{api}/api/groups", ana, {"name": "Trip"})
    for member in ("bea", "cy"):
        invite = call("POST", f"{api}/api/groups/{group['id']}/invites", ana, {})
        call("POST", f"{api}/api/invites/{invite['token']}/accept", token_for(f"{member}@example.com", env))
    for number in range(50):
        call(
            "POST",
            f"{api}/api/groups/{group['id']}/expenses",
            ana,
            {"description": f"Dinner {number}", "amount": "31.40", "notes": "split three ways"},
        )
    return ana, f"{api}/api/groups/{group['id']}/expenses?limit=50"


def fetch(url: str, token: str) -> tuple[bytes, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request) as reply:
        return reply.read(), reply.headers["ETag"]


def microseconds(step: Callable[[], object], rounds: int) -> float:
    """The best of five runs of `rounds` calls, per call."""
    return min(timeit.repeat(step, number=rounds, repeat=5)) / rounds * 1e6


def in_process(body: bytes, etag: str, rounds: int) -> dict[str, float]:
    page = json.loads(body)
    fresh = make_mocked_request("GET", "/", headers={"Authorization": "Bearer x"})
    matching = make_mocked_request("GET", "/", headers={"Authorization": "Bearer x", "If-None-Match": etag})

    def answer(request: web.Request) -> web.StreamResponse:
        response = web.Response(body=body, content_type="application/json")
        return conditional(request, response, personal=True)

    steps: dict[str, Callable[[], object]] = {
        "encode the page (json_text)": lambda: json_text(page),
        "web.Response of the page": lambda: web.Response(body=body, content_type="application/json"),
        "crc32 (floor, not used)": lambda: zlib.crc32(body),
        "md5": lambda: hashlib.md5(body).digest(),
        "blake2b-96": lambda: hashlib.blake2b(body, digest_size=12).digest(),
        "sha256 (used, cut to 96 bits)": lambda: hashlib.sha256(body).digest()[:12],
        "body_etag (digest + base64)": lambda: body_etag(body),
        "Response + conditional, 200": lambda: answer(fresh),
        "Response + conditional, 304": lambda: answer(matching),
    }
    return {name: round(microseconds(step, rounds), 2) for name, step in steps.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=20000)
    parser.add_argument("--engine", choices=("auto", "wrk", "aiohttp"), default="auto")
    args = parser.parse_args()
    engine = pick_engine(args.engine)
    data_dir = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        with servers(data_dir) as (api, bare, env):
            ana, page_url = build(api, env)
            body, etag = fetch(page_url, ana)
            costs = in_process(body, etag, args.rounds)
            scenarios = {
                "bare GET": (f"{bare}/bare", "GET", None, None, None),
                "GET expenses (50), 200": (page_url, "GET", ana, None, None),
                "GET expenses (50), 304": (page_url, "GET", ana, None, {"If-None-Match": etag}),
            }
            results = {
                name: load(engine, url, method, token, sent, args.seconds, args.connections, headers)
                for name, (url, method, token, sent, headers) in scenarios.items()
            }
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    print(f"{'in process, one 50-expense page (' + str(len(body)) + ' bytes)':<44}{'µs':>10}")
    for name, cost in costs.items():
        print(f"{name:<44}{cost:>10.2f}")
    report(
        results,
        {name: "bare GET" for name in results},
        engine=engine,
        connections=args.connections,
        seconds_per_scenario=args.seconds,
        page_bytes=len(body),
        microseconds=costs,
    )


if __name__ == "__main__":
    main()
