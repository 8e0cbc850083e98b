"""What people cost on the embedded defaults, beside a bare aiohttp app in the same run: the
profile, a lookup, the friends view (friend balances across every shared group), an expense page
with its `users` map, and a profile change.

    python bench/people_bench.py [--seconds 5] [--connections 64] [--friends 20] [--groups 10]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from load import call, load, pick_engine, report, servers, token_for


def build(api: str, env: dict[str, str], friends: int, groups: int) -> tuple[str, str, str]:
    """Ana with `friends` friends (one expense in each direct ledger) and `groups` three-person
    groups with a friend (one expense each); returns her token, a friend's id and a busy group."""
    ana = token_for("ana@example.com", env)
    friend_ids = []
    for number in range(friends):
        added = call("POST", f"{api}/api/friends", ana, {"email": f"friend{number}@example.com"})
        friend_ids.append(added["user_id"])
        call(
            "POST",
            f"{api}/api/groups/{added['group_id']}/expenses",
            ana,
            {"description": "x", "amount": "9.00"},
        )
    busy = ""
    for number in range(groups):
        group = call("POST", f"{api}/api/groups", ana, {"name": f"G{number}"})
        for member in (f"friend{number % max(friends, 1)}", f"other{number}"):
            invite = call("POST", f"{api}/api/groups/{group['id']}/invites", ana, {})
            call(
                "POST", f"{api}/api/invites/{invite['token']}/accept", token_for(f"{member}@example.com", env)
            )
        call("POST", f"{api}/api/groups/{group['id']}/expenses", ana, {"description": "y", "amount": "12.00"})
        busy = group["id"]
    for number in range(49):
        call(
            "POST", f"{api}/api/groups/{busy}/expenses", ana, {"description": f"e{number}", "amount": "3.00"}
        )
    return ana, friend_ids[0], busy


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--friends", type=int, default=20)
    parser.add_argument("--groups", type=int, default=10)
    parser.add_argument("--engine", choices=("auto", "wrk", "aiohttp"), default="auto")
    args = parser.parse_args()
    engine = pick_engine(args.engine)
    data_dir = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        with servers(data_dir) as (api, bare, env):
            ana, friend, busy = build(api, env, args.friends, args.groups)
            profile = json.dumps({"locale": "en-GB"})
            scenarios = {
                "bare GET": (f"{bare}/bare", "GET", None, None),
                "GET /api/user": (f"{api}/api/user", "GET", ana, None),
                "GET /api/users/{id}": (f"{api}/api/users/{friend}", "GET", ana, None),
                f"GET /api/friends ({args.friends}+{args.groups})": (f"{api}/api/friends", "GET", ana, None),
                "GET expenses (50, users map)": (
                    f"{api}/api/groups/{busy}/expenses?limit=50",
                    "GET",
                    ana,
                    None,
                ),
                "bare POST": (f"{bare}/bare", "POST", None, profile),
                "PATCH /api/user": (f"{api}/api/user", "PATCH", ana, profile),
            }
            results = {
                name: load(engine, *scenario, args.seconds, args.connections)
                for name, scenario in scenarios.items()
            }
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    report(
        results,
        {name: ("bare POST" if name.startswith("PATCH") else "bare GET") for name in results},
        engine=engine,
        connections=args.connections,
        seconds_per_scenario=args.seconds,
        friends=args.friends,
        groups=args.groups,
    )


if __name__ == "__main__":
    main()
