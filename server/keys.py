"""Typed keys for what the application and each request carry."""

from __future__ import annotations

from aiohttp import web

from domain.clock import Clock
from server.config import Config
from server.tokens import Claims
from services import Services
from services.authorization_codes import AuthorizationCodes
from services.push import Push
from services.sessions import Sessions
from store import Store

CONFIG = web.AppKey("config", Config)
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
STORE = web.AppKey("store", Store)
SERVICES = web.AppKey("services", Services)
SESSIONS = web.AppKey("sessions", Sessions)
AUTHORIZATION_CODES = web.AppKey("authorization_codes", AuthorizationCodes)
PUSH = web.AppKey("push", Push)
OPENAPI = web.AppKey("openapi", dict)
ASYNCAPI = web.AppKey("asyncapi", dict)

CLAIMS = web.RequestKey("claims", Claims)
