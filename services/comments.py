"""Comments on an expense or a settlement: members post and read them; the author, or the group's
owner or an admin, deletes one. Each write logs its activity entry in the same atomic write and
is published on the group's channel after it commits."""

from __future__ import annotations

from typing import Any

from domain import Comment, Forbidden, Invalid, Member
from domain.clock import Clock
from domain.ids import new_id
from domain.models import MAX_COMMENT_LENGTH, CommentSubject
from services.common import Service
from services.events import Events
from services.notifications import Notifications
from services.payloads import comment_json
from store import Store

EXCERPT_LENGTH = 100
"""How much of a comment's text its activity entry repeats."""


class Comments(Service):
    def __init__(self, store: Store, events: Events, clock: Clock, notifications: Notifications) -> None:
        super().__init__(store, events, clock)
        self.notifications = notifications

    async def post(
        self, group_id: str, author_id: str, subject_kind: CommentSubject, subject_id: str, text: object
    ) -> Comment:
        """Store a comment of `author_id` on the group's live expense or settlement, then publish
        `comment.created`. Raises Invalid (field `text`: trimmed, 1..MAX_COMMENT_LENGTH); from the
        store NotFound (no such live subject: a deleted one takes no comments) or Conflict
        `not_a_member` (the author left meanwhile)."""
        comment = Comment(
            id=new_id(),
            group_id=group_id,
            subject_kind=subject_kind,
            subject_id=subject_id,
            author_id=author_id,
            text=comment_text(text),
            created_at=self.clock(),
        )
        await self.store.create_comment(
            comment,
            self.activity(
                group_id, author_id, "comment.created", subject_id, _details(comment, excerpt=True)
            ),
        )
        self.events.to_group(group_id, "comment.created", comment_json(comment))
        await self.notifications.comment_posted(comment)
        return comment

    async def delete(self, group_id: str, actor: Member, subject_id: str, comment_id: str) -> None:
        """Delete a comment on the subject: its author may, and so may the group's owner or an
        admin (403 `not_comment_author` for anyone else). Then publish `comment.deleted`."""
        comment = await self.store.get_comment(group_id, subject_id, comment_id)
        if actor.user_id != comment.author_id and actor.role not in ("owner", "admin"):
            raise Forbidden(
                "only its author, the group's owner or an admin may delete a comment",
                code="not_comment_author",
            )
        await self.store.delete_comment(
            group_id,
            subject_id,
            comment_id,
            self.activity(group_id, actor.user_id, "comment.deleted", subject_id, _details(comment)),
        )
        self.events.to_group(
            group_id,
            "comment.deleted",
            {
                "id": comment.id,
                "group_id": group_id,
                "subject_kind": comment.subject_kind,
                "subject_id": subject_id,
            },
        )


def comment_text(text: object) -> str:
    """The text to store: trimmed, 1..MAX_COMMENT_LENGTH characters (the REST schema says the
    same; this covers callers that bypass it)."""
    trimmed = text.strip() if isinstance(text, str) else ""
    if not 1 <= len(trimmed) <= MAX_COMMENT_LENGTH:
        raise Invalid(
            "request body is invalid",
            details=[{"field": "text", "message": f"must be 1-{MAX_COMMENT_LENGTH} characters long"}],
        )
    return trimmed


def _details(comment: Comment, *, excerpt: bool = False) -> dict[str, Any]:
    """The activity entry's details: which comment, on what, by whom (and, when it is posted,
    the start of its text; a deleted comment's text is not kept)."""
    details: dict[str, Any] = {
        "comment_id": comment.id,
        "subject_kind": comment.subject_kind,
        "author_id": comment.author_id,
    }
    if excerpt:
        details["text"] = comment.text[:EXCERPT_LENGTH]
    return details
