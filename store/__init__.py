"""Persistence: one contract (`Store`), an embedded SQLite backend and a DynamoDB backend."""

from store.base import (
    MAX_PUSH_SUBSCRIPTIONS,
    NewGroup,
    PushSubscription,
    Rotation,
    RotationResult,
    Session,
    Store,
    TokenStanding,
)

__all__ = [
    "MAX_PUSH_SUBSCRIPTIONS",
    "NewGroup",
    "PushSubscription",
    "Rotation",
    "RotationResult",
    "Session",
    "Store",
    "TokenStanding",
]
