"""The `expense-tracker` command: serve, token, create-tables, rates import, and the upkeep ones
(`server.upkeep`: verify-balances, check, backup, restore)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import re
import signal
import socket
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from aiohttp import web

from server import upkeep
from server.config import MAX_WORKERS, Config, ConfigError, load_config
from server.logs import configure_logging
from server.tokens import issue_token

log = logging.getLogger("expense_tracker")

SHUTDOWN_GRACE_SECONDS = 30
# web.run_app's default: idle keep-alive connections are closed after this long.
KEEPALIVE_SECONDS = 75.0
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="expense-tracker", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP and WebSocket server")
    serve.add_argument("--host", help="interface to listen on (default: HOST or 0.0.0.0)")
    serve.add_argument("--port", type=int, help="port (default: PORT or 5000)")
    serve.add_argument(
        "--workers",
        type=int,
        choices=range(1, MAX_WORKERS + 1),
        metavar="N",
        help="server processes sharing the port (default: WEB_CONCURRENCY or 1)",
    )

    token = commands.add_parser("token", help="create the user if needed and print a token")
    token.add_argument("email")
    token.add_argument("--name", help="display name for a new user (default: the email's local part)")
    token.add_argument(
        "--refresh",
        action="store_true",
        help="start a session and print its JSON token response (as POST /api/token answers) "
        "instead of a standalone JWT_EXPIRATION_HOURS token",
    )

    commands.add_parser("create-tables", help="create the DynamoDB tables and indexes (idempotent)")

    commands.add_parser(
        "backfill",
        help="upgrade data stored before issue 12: DynamoDB ever-member items and the receipts' "
        "uploader index (idempotent; the embedded store's migration does its part itself)",
    )

    verify = commands.add_parser(
        "verify-balances", help="recompute balances from history and report any difference"
    )
    verify.add_argument("group_ids", nargs="+", metavar="GROUP", help="group id(s) to check")

    commands.add_parser(
        "check",
        help="the store's integrity checks (embedded store) and verify-balances for every group; "
        "exit 1 when anything is wrong",
    )
    backup = commands.add_parser(
        "backup",
        help="copy the embedded store to FILE, consistently, while the server keeps serving",
    )
    backup.add_argument("file", metavar="FILE")
    restore = commands.add_parser(
        "restore",
        help="replace the embedded store with the backup in FILE (refused while a server or "
        "another command has the store open)",
    )
    restore.add_argument("file", metavar="FILE")
    restore.add_argument(
        "--force", action="store_true", help="replace a store that already holds data (it is lost)"
    )

    rates = commands.add_parser("rates", help="exchange rates for showing balances in one currency")
    rate_commands = rates.add_subparsers(dest="rates_command", required=True)
    rates_import = rate_commands.add_parser(
        "import",
        help="load the ECB's reference rates from a file (XML or CSV, daily or history; '-' is "
        "standard input): they replace fetched ones for the same day (idempotent)",
    )
    rates_import.add_argument("file", metavar="FILE")

    describe = commands.add_parser(
        "describe",
        help="write the OpenAPI and AsyncAPI documents the server serves (openapi.json, asyncapi.json) "
        "into DIR: what `make client` generates the TypeScript client from",
    )
    describe.add_argument("dir", metavar="DIR")

    args = parser.parse_args(argv)
    if args.command == "describe":
        return _describe(Path(args.dir))
    try:
        config = load_config()
    except ConfigError as exc:
        print(f"expense-tracker: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(config.log_level, config.log_format)
    if args.command == "serve":
        host, port = args.host or config.host, args.port or config.port
        workers = args.workers or config.workers
        if workers > 1:
            from server.workers import supervise

            return supervise(config, host=host, port=port, workers=workers)
        return _serve(config, host=host, port=port)
    if args.command == "token":
        if not _EMAIL.fullmatch(args.email):
            print(f"expense-tracker: not an email address: {args.email!r}", file=sys.stderr)
            return 2
        print(asyncio.run(_token(config, args.email, args.name, refresh=args.refresh)))
        return 0
    if args.command == "verify-balances":
        return asyncio.run(upkeep.verify_balances(config, args.group_ids))
    if args.command == "check":
        return asyncio.run(upkeep.check(config))
    if args.command == "backup":
        return upkeep.backup(config, args.file)
    if args.command == "restore":
        return upkeep.restore(config, args.file, force=args.force)
    if args.command == "backfill":
        return asyncio.run(_backfill(config))
    if args.command == "rates":
        return asyncio.run(_import_rates(config, args.file))
    return asyncio.run(_create_tables(config))


def _describe(directory: Path) -> int:
    """Needs no configuration: the documents do not depend on it."""
    from server.app import api_documents

    directory.mkdir(parents=True, exist_ok=True)
    for name, document in api_documents().items():
        (directory / name).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return 0


def _serve(config: Config, *, host: str, port: int) -> int:
    from server.app import create_app

    if config.secret_key_generated:
        log.warning(
            "SECRET_KEY is not set: using a generated key kept in %s; set SECRET_KEY in production",
            config.data_dir,
        )
    print(
        f"expense-tracker: serving on http://{host}:{port} "
        f"(store: {config.store_backend}, broker: {_broker_name(config)})",
        flush=True,
    )
    app = create_app(config)
    app.on_startup.append(_freeze_startup_objects)
    access_log = log if config.log_level in ("DEBUG", "INFO") else None
    metrics_port = config.metrics_port if config.metrics_token is None else None
    asyncio.run(_run(app, host=host, port=port, access_log=access_log, metrics_port=metrics_port))
    return 0


def _broker_name(config: Config) -> str:
    if config.redis_url:
        return "redis"
    return "the supervisor's" if config.realtime.machine_socket else "in-process"


async def _run(
    app: web.Application,
    *,
    host: str,
    port: int,
    access_log: logging.Logger | None,
    metrics_port: int | None = None,
) -> None:
    """What `web.run_app` does, through `http_errors.Runner` (so requests aiohttp's parser refuses
    get our JSON error): serve until SIGINT or SIGTERM, then stop listening, let requests in
    flight finish within the grace period, and run the app's cleanup. With `metrics_port`,
    `/metrics` is served there too (`server.metrics.metrics_app`)."""
    from server.http_errors import Runner
    from server.keys import CONFIG

    runner = Runner(
        app,
        shutdown_timeout=SHUTDOWN_GRACE_SECONDS,
        keepalive_timeout=KEEPALIVE_SECONDS,
        access_log=access_log,
    )
    await runner.setup()
    cleanups = [runner.cleanup]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    from server.workers import LISTEN_FD_ENV

    # One of several workers (`server.workers`): the port is shared with the others.
    shared = app[CONFIG].worker is not None
    inherited = os.environ.get(LISTEN_FD_ENV)
    try:
        if inherited is not None:
            await web.SockSite(runner, socket.socket(fileno=int(inherited))).start()
        else:
            await web.TCPSite(runner, host, port, reuse_port=shared or None).start()
        if metrics_port is not None:
            from server.metrics import metrics_app

            metrics_runner = web.AppRunner(metrics_app(), access_log=None)
            await metrics_runner.setup()
            cleanups.append(metrics_runner.cleanup)
            await web.TCPSite(metrics_runner, host, metrics_port, reuse_port=shared or None).start()
        await stop.wait()
    finally:
        for cleanup in reversed(cleanups):
            await cleanup()


async def _freeze_startup_objects(app: web.Application) -> None:
    """Exempt what start-up made (modules, schemas, the API document, open resources) from
    garbage collection: full collections then walk only what requests create, and pause the event
    loop for about a millisecond instead of 30-40 ms under load."""
    gc.collect()
    gc.freeze()


async def _token(config: Config, email: str, name: str | None, *, refresh: bool = False) -> str:
    from server.app import build_sessions, open_store

    async with open_store(config) as store:
        user = await store.ensure_user(email, name or email.split("@")[0])
        if refresh:
            tokens = await build_sessions(store, config).start(user.id, "expense-tracker token --refresh")
            return json.dumps(tokens.json())
    token, _ = issue_token(
        secret=config.secret_key,
        issuer=config.jwt_issuer,
        user_id=user.id,
        lifetime=timedelta(hours=config.jwt_expiration_hours),
    )
    return token


async def _backfill(config: Config) -> int:
    """What earlier versions did not write: the ever-member items on DynamoDB (the SQLite
    migration backfills `group_people` itself) and every stored receipt's uploader marker."""
    from ocr.storage import open_receipt_storage

    if config.store_backend == "dynamodb":
        from store.dynamodb.backfill import backfill_people

        print(f"ever-member items written: {await backfill_people(config.dynamodb)}")
    async with open_receipt_storage(config.receipts) as receipts:
        print(f"receipt uploader markers written: {await receipts.index_uploaders()}")
    return 0


async def _import_rates(config: Config, path: str) -> int:
    """Exit 0 with a summary once the file's rates are stored; 2 (nothing stored) for a file
    that cannot be read or is not the ECB's."""
    from domain import Invalid
    from ledger.ecb import MAX_FILE_BYTES
    from server.app import open_store
    from services.rates import Rates

    try:
        data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1) if path == "-" else _read_file(path)
    except OSError as exc:
        print(f"expense-tracker: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    if len(data) > MAX_FILE_BYTES:
        print(f"expense-tracker: {path}: larger than {MAX_FILE_BYTES} bytes", file=sys.stderr)
        return 2
    async with open_store(config) as store:
        try:
            imported = await Rates.standalone(store).load(data, "imported")
        except Invalid as exc:
            print(f"expense-tracker: {path}: {exc.message}", file=sys.stderr)
            return 2
    days = imported.parsed.days
    print(
        f"{len(imported.parsed.quotes)} rates for {len({q.currency for q in imported.parsed.quotes})} "
        f"currencies on {len(days)} day(s), {days[0]} to {days[-1]}; {imported.written} written"
    )
    if imported.parsed.skipped:
        print(f"skipped (the euro, or not an active ISO 4217 currency): {', '.join(imported.parsed.skipped)}")
    return 0


def _read_file(path: str) -> bytes:
    from ledger.ecb import MAX_FILE_BYTES

    with open(path, "rb") as file:
        return file.read(MAX_FILE_BYTES + 1)


async def _create_tables(config: Config) -> int:
    from store.dynamodb.tables import create_tables

    created = await create_tables(config.dynamodb)
    print("created: " + ", ".join(created) if created else "all tables already exist")
    return 0


if __name__ == "__main__":
    sys.exit(main())
