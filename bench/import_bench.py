"""Importing a Splitwise export of N lines (default 10,000) on the embedded defaults: the dry run,
the import, and the same file again (nothing new), beside two baselines measured in the same run:
a bare aiohttp app that only reads the same body and splits it into CSV rows (the least any import
can do), and the same kind of expense made one `POST /expenses` at a time. The server's CPU time per
record (read from /proc) is the figure that does not move with the machine's noise.

    python bench/import_bench.py [--lines 10000] [--posts 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from load import call, servers, token_for
from money_bench import three_person_group

TICKS = os.sysconf("SC_CLK_TCK")


def splitwise_csv(lines: int) -> str:
    """`lines` expenses among three people, each paid by one and shared by all, with the totals."""
    out = ["Date,Description,Category,Cost,Currency,Ana,Bea,Cem", ""]
    sums = [0, 0, 0]
    for n in range(lines):
        cost = 300 + n % 97
        share = cost // 3
        payer = n % 3
        nets = [-share, -share, -(cost - 2 * share)]
        nets[payer] += cost
        sums = [s + x for s, x in zip(sums, nets, strict=True)]
        cells = ",".join(f"{x / 100:.2f}" for x in nets)
        out.append(f"2023-{1 + n % 12:02d}-{1 + n % 28:02d},Item {n},Groceries,{cost / 100:.2f},EUR,{cells}")
    out += ["", "2024-01-01,Total balance, , ,EUR," + ",".join(f"{x / 100:.2f}" for x in sums)]
    return "\n".join(out) + "\n"


def server_pid(url: str) -> int:
    port = url.rsplit(":", 1)[1]
    found = subprocess.run(
        ["pgrep", "-f", f"serve --host 127.0.0.1 --port {port}"], capture_output=True, text=True
    ).stdout.split()
    return int(found[0])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def post_file(url: str, token: str | None, body: bytes) -> tuple[float, dict]:
    headers = {"Content-Type": "text/csv"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, method="POST", data=body, headers=headers)
    began = time.perf_counter()
    with urllib.request.urlopen(request) as reply:
        answer = json.loads(reply.read())
    return time.perf_counter() - began, answer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--posts", type=int, default=1_000)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="bench-"))
    body = splitwise_csv(args.lines).encode()
    rows: dict[str, dict] = {}
    try:
        with servers(data_dir) as (api, bare, env):
            pid = server_pid(api)
            owner = token_for("ana@example.com", env)
            gid = three_person_group(api, env, owner, "trip")
            mapping = json.dumps(
                {"Ana": "ana@example.com", "Bea": "bea.trip@example.com", "Cem": "cem.trip@example.com"}
            )
            query = urllib.parse.urlencode({"mapping": mapping, "limit": "1"})
            target = f"{api}/api/groups/{gid}/import?{query}"
            seconds, _ = post_file(f"{bare}/bare/csv", None, body)
            rows["bare: read and split the CSV"] = {"seconds": seconds, "records": args.lines}
            for name, url in (
                ("dry run", target + "&dry_run=true"),
                ("import", target),
                ("the same file again", target),
            ):
                cpu = cpu_seconds(pid)
                seconds, answer = post_file(url, owner, body)
                rows[name] = {
                    "seconds": seconds,
                    "records": args.lines,
                    "server_cpu_us_per_record": (cpu_seconds(pid) - cpu) / args.lines * 1e6,
                    "created": answer["created"]["expenses"],
                }
            other = three_person_group(api, env, owner, "posts")
            cpu = cpu_seconds(pid)
            began = time.perf_counter()
            for n in range(args.posts):
                call(
                    "POST",
                    f"{api}/api/groups/{other}/expenses",
                    owner,
                    {"description": f"Item {n}", "amount": "3.00"},
                )
            rows["baseline: POST /expenses, one by one"] = {
                "seconds": time.perf_counter() - began,
                "records": args.posts,
                "server_cpu_us_per_record": (cpu_seconds(pid) - cpu) / args.posts * 1e6,
            }
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    posted = rows["baseline: POST /expenses, one by one"]
    print(f"lines: {args.lines}, posts: {args.posts}, cpus: {os.cpu_count()}")
    print(f"{'scenario':<36}{'seconds':>9}{'records/s':>11}{'CPU µs/rec':>12}{'vs POSTs':>10}")
    for name, figures in rows.items():
        figures["records_per_second"] = figures["records"] / figures["seconds"]
        figures["throughput_vs_posts"] = figures["records_per_second"] / (
            posted["records"] / posted["seconds"]
        )
        cpu = figures.get("server_cpu_us_per_record")
        print(
            f"{name:<36}{figures['seconds']:>9.2f}{figures['records_per_second']:>11.0f}"
            f"{'' if cpu is None else f'{cpu:.0f}':>12}{figures['throughput_vs_posts']:>10.1f}"
        )
    print(json.dumps({"lines": args.lines, "posts": args.posts, "results": rows}))


if __name__ == "__main__":
    main()
