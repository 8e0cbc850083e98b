"""Persistence: one contract (`Store`), an embedded SQLite backend and a DynamoDB backend."""

from store.base import NewGroup, Store, TokenStanding

__all__ = ["NewGroup", "Store", "TokenStanding"]
