"""Use cases between the handlers and the ledger, store and realtime layers; no aiohttp here."""
