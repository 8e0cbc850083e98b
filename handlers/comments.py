"""Comments on an expense or a transaction: members post, read (newest first) and delete them (the
author, or the group's owner or an admin). Strangers and former members get 404, as for the chat;
so does a deleted expense or transaction, which takes no comments until it is restored."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from domain import Group, Member
from domain.models import MAX_COMMENT_LENGTH, CommentSubject
from handlers.access import membership
from handlers.schemas import ERROR, ID, PAGE_QUERY, TIMESTAMP, Schema, page_of, with_user_names
from server.keys import SERVICES, STORE
from server.routing import Api, Reply
from services.payloads import comment_json
from services.people import comment_people

api = Api("comments")

NEW_COMMENT: Schema = {
    "title": "NewComment",
    "type": "object",
    "required": ["text"],
    "additionalProperties": False,
    "properties": {
        "text": {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_COMMENT_LENGTH,
            "x-trim": True,
            "description": "surrounding whitespace is removed; what remains must not be empty",
        }
    },
}
COMMENT: Schema = {
    "title": "Comment",
    "type": "object",
    "required": ["id", "group_id", "subject_kind", "subject_id", "author_id", "text", "created_at"],
    "additionalProperties": False,
    "properties": {
        "id": ID,
        "group_id": ID,
        "subject_kind": {"type": "string", "enum": ["expense", "settlement"]},
        "subject_id": {**ID, "description": "the expense's or the transaction's id"},
        "author_id": ID,
        "text": {"type": "string", "minLength": 1, "maxLength": MAX_COMMENT_LENGTH},
        "created_at": TIMESTAMP,
    },
}

_PARAMETERS: dict[CommentSubject, str] = {"expense": "expense_id", "settlement": "transaction_id"}


async def _live_subject(request: web.Request, kind: CommentSubject) -> tuple[Group, Member, str]:
    """The group, the caller's membership and the subject's id, once the subject is known to be
    a live (not deleted) expense or transaction of the group: 404 otherwise."""
    group, me = await membership(request)
    subject_id = request.match_info[_PARAMETERS[kind]]
    if kind == "expense":
        await request.app[STORE].get_expense(group.id, subject_id)
    else:
        await request.app[STORE].get_settlement(group.id, subject_id)
    return group, me, subject_id


async def _post(request: web.Request, body: dict[str, Any], kind: CommentSubject) -> web.Response:
    group, me, subject_id = await _live_subject(request, kind)
    comment = await request.app[SERVICES].comments.post(group.id, me.user_id, kind, subject_id, body["text"])
    return web.json_response(comment_json(comment), status=201)


async def _list(request: web.Request, query: dict[str, Any], kind: CommentSubject) -> web.Response:
    group, _, subject_id = await _live_subject(request, kind)
    page = await request.app[STORE].list_comments(
        group.id, subject_id, limit=query["limit"], cursor=query.get("cursor")
    )
    users = await request.app[SERVICES].people.names(comment_people(page.items))
    return web.json_response(
        {"items": [comment_json(c) for c in page.items], "next_cursor": page.next_cursor, "users": users}
    )


async def _delete(request: web.Request, kind: CommentSubject) -> web.Response:
    group, me, subject_id = await _live_subject(request, kind)
    await request.app[SERVICES].comments.delete(group.id, me, subject_id, request.match_info["comment_id"])
    return web.Response(status=204)


def _replies(word: str) -> dict[str, dict[int, Reply]]:
    """The documented answers of the three comment operations on a `word` (expense, transaction)."""
    not_found = Reply(f"no such group or {word} (or it is deleted), or the caller is not a member", ERROR)
    return {
        "post": {
            201: Reply("the comment as stored", COMMENT),
            404: not_found,
            409: Reply("the caller left the group meanwhile", ERROR),
        },
        "list": {
            200: Reply("one page of comments, with their authors", with_user_names(page_of(COMMENT))),
            400: Reply("the cursor is not one this server issued", ERROR),
            404: not_found,
        },
        "delete": {
            204: Reply("deleted"),
            403: Reply("`not_comment_author`: neither its author nor the owner or an admin", ERROR),
            404: Reply(f"no such comment, group or {word} (or it is deleted), or not a member", ERROR),
        },
    }


_EXPENSE = "/api/groups/{group_id}/expenses/{expense_id}/comments"
_TRANSACTION = "/api/groups/{group_id}/transactions/{transaction_id}/comments"
_ON_EXPENSE = _replies("expense")
_ON_TRANSACTION = _replies("transaction")


@api.post(_EXPENSE, summary="Comment on an expense", body=NEW_COMMENT, replies=_ON_EXPENSE["post"])
async def create_expense_comment(request: web.Request, body: dict[str, Any]) -> web.Response:
    return await _post(request, body, "expense")


@api.get(
    _EXPENSE,
    summary="The comments on an expense, newest first",
    query=PAGE_QUERY,
    replies=_ON_EXPENSE["list"],
)
async def list_expense_comments(request: web.Request, query: dict[str, Any]) -> web.Response:
    return await _list(request, query, "expense")


@api.delete(
    _EXPENSE + "/{comment_id}",
    summary="Delete a comment on an expense: its author, the group's owner or an admin",
    replies=_ON_EXPENSE["delete"],
)
async def delete_expense_comment(request: web.Request) -> web.Response:
    return await _delete(request, "expense")


@api.post(_TRANSACTION, summary="Comment on a transaction", body=NEW_COMMENT, replies=_ON_TRANSACTION["post"])
async def create_transaction_comment(request: web.Request, body: dict[str, Any]) -> web.Response:
    return await _post(request, body, "settlement")


@api.get(
    _TRANSACTION,
    summary="The comments on a transaction, newest first",
    query=PAGE_QUERY,
    replies=_ON_TRANSACTION["list"],
)
async def list_transaction_comments(request: web.Request, query: dict[str, Any]) -> web.Response:
    return await _list(request, query, "settlement")


@api.delete(
    _TRANSACTION + "/{comment_id}",
    summary="Delete a comment on a transaction: its author, the group's owner or an admin",
    replies=_ON_TRANSACTION["delete"],
)
async def delete_transaction_comment(request: web.Request) -> web.Response:
    return await _delete(request, "settlement")
