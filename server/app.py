"""The application factory: routes, middlewares and every resource's lifetime."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import aiohttp
import aiohttp_cors
from aiohttp import web

from domain.clock import Clock, utc_now
from handlers import (
    account,
    activity,
    balances,
    categories,
    changes,
    chats,
    comments,
    dashboard,
    docs,
    expenses,
    export,
    friends,
    groups,
    health,
    imports,
    invites,
    login,
    metrics,
    notifications,
    ocr,
    push,
    rates,
    receipts,
    recurring,
    roles,
    sessions,
    transactions,
    users,
    ws,
)
from ocr.engine import tesseract_ctx
from ocr.service import ocr_ctx
from realtime.broker import broker_ctx
from realtime.events import publish
from realtime.hub import close_connections, hub_ctx
from realtime.machine import machine_ctx
from realtime.redis import redis_ctx
from realtime.tickets import tickets_ctx
from realtime.webpush import open_sender
from server.config import Config
from server.keys import ASYNCAPI, AUTHORIZATION_CODES, CLOCK, CONFIG, OPENAPI, PUSH, SERVICES, SESSIONS, STORE
from server.metrics import observe_requests
from server.middleware import assign_request_id, authenticate, render_errors, response_headers
from server.oidc import OidcSettings, oidc_ctx
from server.ratelimit import rate_limit, rate_limit_ctx
from server.rates_feed import RatesFeed
from server.sessions import SIGN_IN_COOKIES, sign_in_cookie_storage
from server.tokens import session_minter
from server.webapp import add_web_app
from services import Services
from services.authorization_codes import AuthorizationCodes
from services.push import Push
from services.sessions import Sessions
from store import Store

MAX_JSON_BODY_BYTES = 1024 * 1024
HANDLER_MODULES = (
    health,
    metrics,
    docs,
    users,
    sessions,
    login,
    groups,
    roles,
    invites,
    friends,
    expenses,
    recurring,
    categories,
    rates,
    transactions,
    balances,
    activity,
    export,
    imports,
    dashboard,
    ocr,
    receipts,
    chats,
    changes,
    comments,
    ws,
    account,
    push,
    notifications,
)
# What a browser client may read from a cross-origin answer: versions, request ids for support,
# when to retry, where a new resource lives, whether an answer is a replay, an export's file name.
EXPOSED_HEADERS = (
    "ETag",
    "X-Request-ID",
    "Retry-After",
    "Location",
    "Idempotent-Replayed",
    "Content-Disposition",
)
ALLOWED_HEADERS = (
    "Authorization",
    "Content-Type",
    "If-Match",
    "If-None-Match",
    "Idempotency-Key",
    "X-Request-ID",
)


def create_app(config: Config, *, clock: Clock = utc_now) -> web.Application:
    """The application on `config`; `clock` is what every use case and the scheduler of
    recurring expenses take for "now" (tests hand in one they move)."""
    app = web.Application(
        middlewares=[observe_requests, assign_request_id, render_errors, rate_limit, authenticate],
        client_max_size=MAX_JSON_BODY_BYTES,
    )
    app[CONFIG] = config
    app[CLOCK] = clock
    app[SIGN_IN_COOKIES] = sign_in_cookie_storage(config)
    app.cleanup_ctx.extend(
        [
            store_ctx,
            push_ctx,
            services_ctx,
            scheduler_ctx,
            rates_feed_ctx,
            redis_ctx(config.realtime),
            machine_ctx(None if config.redis_url else config.realtime.machine_socket),
            rate_limit_ctx(config.rate_limits),
            broker_ctx(config.realtime),
            hub_ctx,
            tickets_ctx,
            tesseract_ctx(config.ocr),
            oidc_ctx(_oidc_settings(config)),
            ocr_ctx(config.ocr, config.receipts),
        ]
    )
    app.on_shutdown.append(close_connections)

    cors = aiohttp_cors.setup(
        app,
        defaults={
            origin: aiohttp_cors.ResourceOptions(  # type: ignore[no-untyped-call]
                allow_credentials=True,
                expose_headers=EXPOSED_HEADERS,
                allow_headers=ALLOWED_HEADERS,
                allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                max_age=600,
            )
            for origin in config.cors_origins
        },
    )
    _take_over_cors_hook(app, cors)
    # One resource per path, holding all its methods: the router tries a path's resources one
    # after another, so a resource per route would make every request to /api/groups/... try
    # each method's resource of every path declared before its own.
    resources: dict[str, web.Resource] = {}
    for module in HANDLER_MODULES:
        for operation, handler in module.api.routes:
            if operation.path not in resources:
                resources[operation.path] = app.router.add_resource(operation.path)
            cors.add(resources[operation.path].add_route(operation.method, handler))
            if operation.conditional:
                # HEAD: the GET's headers (ETag, Content-Length) without its body; 304 alike.
                cors.add(resources[operation.path].add_route("HEAD", handler))
    add_web_app(app, config.web_app_dir)
    documents = api_documents()
    app[OPENAPI], app[ASYNCAPI] = documents["openapi.json"], documents["asyncapi.json"]
    return app


@functools.cache
def api_documents() -> dict[str, dict[str, Any]]:
    """The documents the server serves, by file name (`openapi.json`, `asyncapi.json`). The routes
    are the same whatever the configuration, so they are built once per process, without an app,
    and every app shares them (read-only)."""
    operations = [operation for module in HANDLER_MODULES for operation, _ in module.api.routes]
    openapi, asyncapi = docs.documents(operations)
    return {"openapi.json": openapi, "asyncapi.json": asyncapi}


def _take_over_cors_hook(app: web.Application, cors: aiohttp_cors.CorsConfig) -> None:
    """Replace aiohttp-cors's own on_response_prepare hook by ours, which calls it only for
    requests with an Origin header (see `response_headers`)."""
    theirs = [
        hook
        for hook in app.on_response_prepare
        if getattr(hook, "__self__", None) is getattr(cors, "_cors_impl", None)
    ]
    if len(theirs) != 1:
        raise RuntimeError("aiohttp-cors no longer adds exactly one on_response_prepare hook")
    app.on_response_prepare.remove(theirs[0])
    app.on_response_prepare.append(response_headers(theirs[0]))


@asynccontextmanager
async def open_store(config: Config) -> AsyncIterator[Store]:
    """The configured backend, open for the duration of the block. Each backend is imported only
    when chosen: boto alone takes about 0.4 s to import, which SQLite deployments never need."""
    if config.store_backend == "dynamodb":
        from store.dynamodb import DynamoDBStore

        async with DynamoDBStore.open(config.dynamodb) as dynamodb_store:
            yield dynamodb_store
    else:
        from store.sqlite import SQLiteStore

        async with SQLiteStore.open(config.sqlite_path) as sqlite_store:
            yield sqlite_store


async def store_ctx(app: web.Application) -> AsyncIterator[None]:
    async with open_store(app[CONFIG]) as store:
        app[STORE] = store
        yield


async def push_ctx(app: web.Application) -> AsyncIterator[None]:
    """Web Push on the open store: its workers run while the app does; off without VAPID."""
    settings = app[CONFIG].push
    if settings is None:
        app[PUSH] = Push(app[STORE], None)
        yield
        return
    async with open_sender(settings) as sender:
        app[PUSH] = Push(app[STORE], sender)
        app[PUSH].start()
        try:
            yield
        finally:
            await app[PUSH].close()


async def services_ctx(app: web.Application) -> AsyncIterator[None]:
    """The use cases, on the open store, publishing through this app's broker and pushing
    through this app's Web Push."""
    app[SERVICES] = Services.build(
        app[STORE],
        functools.partial(publish, app),
        app[CLOCK],
        push=app[PUSH],
        restore_window=timedelta(days=app[CONFIG].restore_days),
    )
    app[SESSIONS] = build_sessions(app[STORE], app[CONFIG])
    app[AUTHORIZATION_CODES] = AuthorizationCodes(app[SESSIONS])
    yield


def runs_machine_chores(config: Config) -> bool:
    """Whether this process runs the periodic work (the scheduler, the rates fetcher): a lone
    server does, and of `serve --workers N` only worker 0, since the others would only repeat its
    queries (each occurrence is made once either way). Separate instances each run their own."""
    return config.worker in (None, 0)


async def scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    """The scheduler of recurring expenses, looking every RECURRING_INTERVAL_SECONDS (none at 0),
    on one worker of a machine's (`runs_machine_chores`)."""
    seconds = app[CONFIG].recurring_seconds
    if not seconds or not runs_machine_chores(app[CONFIG]):
        yield
        return
    task = asyncio.create_task(app[SERVICES].scheduler.run(seconds), name="recurring-scheduler")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def rates_feed_ctx(app: web.Application) -> AsyncIterator[None]:
    """Fetching exchange rates from EXCHANGE_RATES_URL while the app runs (nothing without it), on
    one worker of a machine's."""
    url = app[CONFIG].exchange_rates_url
    if url is None or not runs_machine_chores(app[CONFIG]):
        yield
        return
    async with aiohttp.ClientSession(headers={"User-Agent": "expense-tracker"}) as session:
        feed = RatesFeed(url, app[SERVICES].rates, session)
        task = asyncio.create_task(feed.run(app[CONFIG].exchange_rates_seconds), name="rates-feed")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def build_sessions(store: Store, config: Config) -> Sessions:
    """Sign-in sessions on `store`, minting access tokens of ACCESS_TOKEN_MINUTES."""
    return Sessions(
        store,
        secret_key=config.secret_key,
        settings=config.sessions,
        mint_access=session_minter(
            secret=config.secret_key,
            issuer=config.jwt_issuer,
            lifetime=timedelta(minutes=config.sessions.access_token_minutes),
        ),
    )


def _oidc_settings(config: Config) -> OidcSettings | None:
    if not config.google_client_id:
        return None
    return OidcSettings(
        issuer=config.oidc_issuer,
        client_id=config.google_client_id,
        client_secret=config.google_client_secret,
        redirect_uri=config.backend_callback_url,
        timeout_seconds=config.oidc_timeout_seconds,
    )
