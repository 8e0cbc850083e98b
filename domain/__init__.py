"""Types and errors shared by every layer: what the store returns and what handlers serialize."""
from domain.errors import (
    BadRequest,
    Conflict,
    DomainError,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    PreconditionRequired,
    Unauthorized,
    Unavailable,
    UnsupportedMediaType,
)
from domain.models import Group, GroupMembership, Invite, Member, Page, User

__all__ = [
    "BadRequest",
    "Conflict",
    "DomainError",
    "Forbidden",
    "Gone",
    "Group",
    "GroupMembership",
    "Invalid",
    "Invite",
    "Member",
    "NotFound",
    "Page",
    "PayloadTooLarge",
    "PreconditionFailed",
    "PreconditionRequired",
    "Unauthorized",
    "Unavailable",
    "UnsupportedMediaType",
    "User",
]
