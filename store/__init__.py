"""Persistence: one contract (`Store`), an embedded SQLite backend and a DynamoDB backend."""

from store.base import (
    AuthorizationCode,
    NewGroup,
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
    "NewGroup",
    "Redemption",
    "RedemptionResult",
    "Rotation",
    "RotationResult",
    "Session",
    "Store",
    "TokenStanding",
]
