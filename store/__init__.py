"""Persistence: one contract (`Store`), an embedded SQLite backend and a DynamoDB backend."""

from store.base import (
    MAX_PUSH_SUBSCRIPTIONS,
    AuthorizationCode,
    NewGroup,
    PushSubscription,
    Redemption,
    RedemptionResult,
    Rotation,
    RotationResult,
    Session,
    Store,
    TokenStanding,
)

__all__ = [
    "AuthorizationCode",
    "MAX_PUSH_SUBSCRIPTIONS",
    "NewGroup",
    "PushSubscription",
    "Redemption",
    "RedemptionResult",
    "Rotation",
    "RotationResult",
    "Session",
    "Store",
    "TokenStanding",
]
