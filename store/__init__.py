"""Persistence: one contract (`Store`), an embedded SQLite backend and a DynamoDB backend."""

from store.base import (
    MAX_NOTIFICATION_RECIPIENTS,
    MAX_PUSH_SUBSCRIPTIONS,
    NOTIFICATIONS_PER_WRITE,
    AuthorizationCode,
    NewGroup,
    Notification,
    NotificationState,
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
    "MAX_NOTIFICATION_RECIPIENTS",
    "NOTIFICATIONS_PER_WRITE",
    "MAX_PUSH_SUBSCRIPTIONS",
    "NewGroup",
    "Notification",
    "NotificationState",
    "PushSubscription",
    "Redemption",
    "RedemptionResult",
    "Rotation",
    "RotationResult",
    "Session",
    "Store",
    "TokenStanding",
]
