"""A group's chat. `post` is the one way a message is made, whatever the transport (REST, or the
WebSocket through the realtime layer): it validates, persists and then publishes, so every path
enforces the same rules and nobody is told of a message that was not stored."""

from __future__ import annotations

from domain import ChatMessage, Invalid
from domain.ids import new_id
from domain.models import MAX_CHAT_MESSAGE_LENGTH
from services.common import Service
from services.payloads import chat_message_json


class Chats(Service):
    async def post(self, group_id: str, author_id: str, text: object) -> ChatMessage:
        """Validate `text` (trimmed, then 1..MAX_CHAT_MESSAGE_LENGTH characters), store it as a new
        message of `author_id` in `group_id`, then publish it, and return it.

        Raises Invalid (field `text`) for a bad text; from the store, NotFound (no such group) or
        Conflict `not_a_member` when the author is not a member at the moment of the write (the
        membership check is part of the write, so someone who just left cannot slip a message in)."""
        message = ChatMessage(
            id=new_id(),
            group_id=group_id,
            author_id=author_id,
            text=message_text(text),
            created_at=self.clock(),
        )
        await self.store.create_chat_message(message)
        # Published only once durably stored: subscribers never hear of a message a reload would
        # not show.
        self.events.to_group(group_id, "chat.message", chat_message_json(message))
        return message


def message_text(text: object) -> str:
    """The text to store: trimmed, 1..MAX_CHAT_MESSAGE_LENGTH characters (the REST schema says the
    same; this covers callers that bypass it)."""
    if not isinstance(text, str):
        raise Invalid(
            "request body is invalid", details=[{"field": "text", "message": "must be of type string"}]
        )
    trimmed = text.strip()
    if not 1 <= len(trimmed) <= MAX_CHAT_MESSAGE_LENGTH:
        raise Invalid(
            "request body is invalid",
            details=[{"field": "text", "message": f"must be 1-{MAX_CHAT_MESSAGE_LENGTH} characters long"}],
        )
    return trimmed
