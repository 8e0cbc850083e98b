"""Persistence: one contract (`Store`), an embedded SQLite backend and a DynamoDB backend."""

from store.base import NewGroup, Rotation, RotationResult, Session, Store, TokenStanding

__all__ = ["NewGroup", "Rotation", "RotationResult", "Session", "Store", "TokenStanding"]
