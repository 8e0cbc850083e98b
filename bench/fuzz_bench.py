"""A longer run of the API fuzz (tests/api/fuzzing.py) than the suite's, bounded by examples per
operation and by a time budget, on SQLite, DynamoDB (moto's server) or both.

Unlike the test it does not stop at the first failure: it records every one, then prints a table
(per operation: examples, statuses seen) and one JSON line with examples run, failures and the
per-endpoint counts. Exits 1 when anything failed, including verify-balances.

    python bench/fuzz_bench.py --backend both --examples 200 --seconds 600
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp.test_utils import TestClient, TestServer  # noqa: E402

from server.app import create_app  # noqa: E402
from server.config import load_config  # noqa: E402
from store.dynamodb import create_tables  # noqa: E402
from tests.api.conftest import FRONTEND, ISSUER, SECRET_KEY, Api, OpenApi  # noqa: E402
from tests.api.fuzzing import Tally, build_world, fuzz, verify_every_group  # noqa: E402
from tests.api.sign_in import sign_in_environ  # noqa: E402
from tests.conftest import make_dynamodb_settings  # noqa: E402
from tests.services import moto_server, oidc_provider_mock  # noqa: E402


async def run_backend(
    backend: str, examples: int, deadline: float, issuer: str, moto_url: str | None, data_dir: str
) -> tuple[Tally, dict[str, Any]]:
    env = sign_in_environ(
        {
            "APP_ENV": "development",
            "SECRET_KEY": SECRET_KEY,
            "DATA_DIR": data_dir,
            "JWT_ISSUER": ISSUER,
            "FRONTEND_BASE_URL": FRONTEND,
            "STORE_BACKEND": backend,
            "TESSERACT_CMD": shutil.which("tesseract") or "tesseract",
        },
        issuer,
    )
    if moto_url is not None:
        settings = make_dynamodb_settings(moto_url)
        await create_tables(settings)
        env.update(
            DYNAMODB_ENDPOINT_URL=moto_url,
            AWS_REGION=settings.region,
            DYNAMODB_USERS_TABLE=settings.users_table,
            DYNAMODB_GROUPS_TABLE=settings.groups_table,
            DYNAMODB_EXPENSES_TABLE=settings.expenses_table,
            DYNAMODB_TRANSACTIONS_TABLE=settings.transactions_table,
            DYNAMODB_CHATS_TABLE=settings.chats_table,
        )
    config = load_config(env, read_dotenv=False)
    async with TestClient(TestServer(create_app(config))) as client:
        async with client.get("/api/openapi.json") as response:
            document = await response.json()
        api = Api(client, config, OpenApi(document))
        world = await build_world(api)
        loop = asyncio.get_running_loop()
        tally = await asyncio.to_thread(
            fuzz,
            api,
            world,
            loop,
            examples=examples,
            collect=True,
            only=lambda _: time.monotonic() < deadline,
        )
        return tally, await verify_every_group(api, world)


def print_table(backend: str, tally: Tally) -> None:
    print(f"\n{backend}: {tally.examples} examples, {len(tally.failures)} failures")
    print(f"{'operation':<62} {'n':>5}  statuses")
    for name, counts in tally.statuses.items():
        statuses = " ".join(f"{status}:{count}" for status, count in sorted(counts.items()))
        print(f"{name:<62} {sum(counts.values()):>5}  {statuses}")
    for refusal, count in tally.refused_valid.most_common(40):
        print(f"422 to a schema-valid request ({count}x): {refusal}")
    for failure in tally.failures[:20]:
        print(f"FAIL {failure[:1500]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "dynamodb", "both"], default="both")
    parser.add_argument("--examples", type=int, default=150, help="examples per operation")
    parser.add_argument("--seconds", type=float, default=600, help="stop starting operations after this")
    args = parser.parse_args()
    backends = ["sqlite", "dynamodb"] if args.backend == "both" else [args.backend]
    deadline = time.monotonic() + args.seconds
    summary: dict[str, Any] = {"examples": 0, "failures": 0, "backends": {}}
    # Dummy credentials for moto, as the suite uses: nothing here may reach a real AWS account.
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1"
    )
    os.environ.pop("AWS_PROFILE", None)
    with ExitStack() as stack:
        issuer = stack.enter_context(oidc_provider_mock())
        moto_url = stack.enter_context(moto_server()) if "dynamodb" in backends else None
        for backend in backends:
            data_dir = stack.enter_context(tempfile.TemporaryDirectory())
            tally, wrong = asyncio.run(
                run_backend(
                    backend,
                    args.examples,
                    deadline,
                    issuer,
                    moto_url if backend == "dynamodb" else None,
                    data_dir,
                )
            )
            print_table(backend, tally)
            if wrong:
                print(f"verify-balances FAILED: {wrong}")
            summary["examples"] += tally.examples
            summary["failures"] += len(tally.failures) + len(wrong)
            summary["backends"][backend] = {
                "examples": tally.examples,
                "failures": len(tally.failures),
                "unbalanced_groups": len(wrong),
                "per_endpoint": {name: sum(c.values()) for name, c in tally.statuses.items()},
            }
    print(json.dumps(summary))
    return 1 if summary["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
