"""How many transfers the exact settle-up saves over the greedy heuristic, and what it costs.

Splitwise, Spliit and IHateMoney settle up greedily (largest debtor pays largest creditor), which
never needs more than n - 1 transfers but misses groups that could settle among themselves.
`ledger.settle_up` finds the true minimum for up to 15 members. For each number n of members with
a non-zero balance (4..15) this generates many random groups, with a fixed seed, in three flavours:

- clustered: a shared house or trip made of couples and sub-groups; most expenses are shared inside
  one cluster, a few by everyone; round prices (mostly whole euros), equal or weighted splits.
- whole-group: every expense is shared by a random subset of the whole group; round prices.
- random: uniformly random balances in cents, forced to sum to zero (the least favourable case).

Balances of the first two come from `ledger.compute_split`, as the app computes them. Prints a
table and one JSON line: per flavour and n, how often the exact plan is shorter than greedy, the
average transfers of each, and p50 / p99 wall time of `settle_up`.

    python bench/settle_up_bench.py [--trials 100] [--seed 2024] [--min-size 4] [--max-size 15]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ledger import (  # noqa: E402
    EXACT_LIMIT,
    Balances,
    EqualSplit,
    SharesSplit,
    Split,
    compute_split,
    greedy_settle_up,
    settle_up,
)

PRICES = [3, 5, 8, 10, 12, 15, 18, 20, 24, 25, 30, 36, 40, 45, 50, 60, 80, 90, 100, 120, 150, 200]
Generator = Callable[[random.Random, int], dict[str, int]]


def member_names(count: int) -> list[str]:
    return [f"m{index:02d}" for index in range(count)]


def price(rng: random.Random) -> int:
    """Euro cents of a realistic bill: mostly whole euros, sometimes with cents."""
    cents = rng.choice(PRICES) * 100
    return cents + rng.randrange(1, 100) if rng.random() < 0.15 else cents


def add_expense(balances: Balances, rng: random.Random, sharers: list[str]) -> None:
    total = price(rng)
    payer = rng.choice(sharers)
    split: Split
    if len(sharers) > 1 and rng.random() < 0.2:
        split = SharesSplit({member: rng.choice((1, 1, 2)) for member in sharers})
    else:
        split = EqualSplit(tuple(sharers))
    balances.apply("EUR", compute_split(total, "EUR", {payer: total}, split).net)


def clustered(rng: random.Random, size: int) -> dict[str, int]:
    members = member_names(size)
    rng.shuffle(members)
    clusters: list[list[str]] = []
    while members:
        take = min(len(members), rng.choice((2, 2, 3, 3, 4)))
        clusters.append(members[:take])
        members = members[take:]
    if len(clusters[-1]) == 1 and len(clusters) > 1:
        loner = clusters.pop()
        clusters[-1] += loner
    everyone = [member for cluster in clusters for member in cluster]
    balances = Balances()
    for _ in range(rng.randint(1, 3)):
        add_expense(balances, rng, rng.sample(everyone, rng.randint(2, len(everyone))))
    for cluster in clusters:
        for _ in range(rng.randint(1, 4)):
            add_expense(balances, rng, rng.sample(cluster, rng.randint(2, len(cluster))))
    return balances.of("EUR")


def whole_group(rng: random.Random, size: int) -> dict[str, int]:
    members = member_names(size)
    balances = Balances()
    for _ in range(rng.randint(size // 2, 2 * size)):
        add_expense(balances, rng, rng.sample(members, rng.randint(2, min(size, 5))))
    return balances.of("EUR")


def random_amounts(rng: random.Random, size: int) -> dict[str, int]:
    while True:
        values = [rng.choice((-1, 1)) * rng.randint(1, 50_000) for _ in range(size - 1)]
        values.append(-sum(values))
        if values[-1]:
            return dict(zip(member_names(size), values, strict=True))


def with_nonzero(generate: Generator, rng: random.Random, size: int) -> dict[str, int]:
    """A group whose number of members with a non-zero balance is exactly `size`."""
    for extra in range(200):
        balances = generate(rng, size + extra // 20)
        if len(balances) == size:
            return balances
    raise RuntimeError(f"could not generate {size} non-zero balances with {generate.__name__}")


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure(generate: Generator, size: int, trials: int, rng: random.Random) -> dict[str, float]:
    shorter = 0
    exact_lengths: list[int] = []
    greedy_lengths: list[int] = []
    timings_ms: list[float] = []
    for _ in range(trials):
        balances = with_nonzero(generate, rng, size)
        started = time.perf_counter()
        plan = settle_up(balances)
        timings_ms.append((time.perf_counter() - started) * 1000)
        greedy = greedy_settle_up(balances)
        if len(plan) > len(greedy) or len(plan) > size - 1:
            raise AssertionError(f"exact plan longer than greedy or n - 1 for {balances}")
        shorter += len(plan) < len(greedy)
        exact_lengths.append(len(plan))
        greedy_lengths.append(len(greedy))
    return {
        "shorter_pct": round(100 * shorter / trials, 1),
        "exact_avg": round(statistics.fmean(exact_lengths), 3),
        "greedy_avg": round(statistics.fmean(greedy_lengths), 3),
        "saved_avg": round(statistics.fmean(greedy_lengths) - statistics.fmean(exact_lengths), 3),
        "p50_ms": round(percentile(timings_ms, 0.50), 3),
        "p99_ms": round(percentile(timings_ms, 0.99), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=100, help="groups per flavour and size")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--min-size", type=int, default=4)
    parser.add_argument("--max-size", type=int, default=EXACT_LIMIT)
    args = parser.parse_args()

    flavours: dict[str, Generator] = {
        "clustered": clustered,
        "whole-group": whole_group,
        "random": random_amounts,
    }
    started = time.perf_counter()
    results: dict[str, dict[int, dict[str, float]]] = {}
    for name, generate in flavours.items():
        rng = random.Random(f"{args.seed}-{name}")
        results[name] = {
            size: measure(generate, size, args.trials, rng)
            for size in range(args.min_size, args.max_size + 1)
        }
    elapsed = time.perf_counter() - started

    print(f"settle-up: exact vs greedy, {args.trials} groups per row, seed {args.seed}, {elapsed:.1f} s")
    header = f"{'flavour':<12}{'n':>3}{'exact<greedy':>14}{'exact avg':>11}{'greedy avg':>12}"
    print(header + f"{'p50 ms':>9}{'p99 ms':>9}")
    for name, by_size in results.items():
        for size, row in by_size.items():
            print(
                f"{name:<12}{size:>3}{row['shorter_pct']:>13.1f}%{row['exact_avg']:>11.2f}"
                f"{row['greedy_avg']:>12.2f}{row['p50_ms']:>9.2f}{row['p99_ms']:>9.2f}"
            )
    print(
        json.dumps(
            {
                "bench": "settle_up",
                "seed": args.seed,
                "trials": args.trials,
                "seconds": round(elapsed, 1),
                "python": sys.version.split()[0],
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
