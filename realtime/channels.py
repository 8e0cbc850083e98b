"""Channel names: a group's events go to `group:<id>`, a user's own to `user:<id>`."""

from __future__ import annotations

GROUP_PREFIX = "group:"
USER_PREFIX = "user:"


def group_channel(group_id: str) -> str:
    return f"{GROUP_PREFIX}{group_id}"


def user_channel(user_id: str) -> str:
    return f"{USER_PREFIX}{user_id}"
