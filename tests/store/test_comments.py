"""Store contract, comments: written with their activity only by members on live subjects, listed
newest first a page at a time, kept while their subject is deleted."""

from __future__ import annotations

import pytest

from domain import BadRequest, Comment, Conflict, NotFound
from domain.ids import new_id
from domain.models import CommentSubject
from store.base import Store
from store.cursor import encode_cursor
from tests.store.builders import activity, all_activity, at, collect, expense, moves, settlement, trio


def comment(
    group_id: str, subject_id: str, author_id: str, text: str = "nice", kind: CommentSubject = "expense"
) -> Comment:
    return Comment(
        id=new_id(),
        group_id=group_id,
        subject_kind=kind,
        subject_id=subject_id,
        author_id=author_id,
        text=text,
        created_at=at(3),
    )


async def test_comments_are_stored_with_activity_and_listed_newest_first(store: Store) -> None:
    created, a, b, c = await trio(store)
    spent = expense(created.id, {a.id: 900}, {b.id: 900})
    paid = settlement(created.id, b.id, a.id, 900)
    await store.create_expense(spent, deltas=moves(spent), activity=activity(created.id, "e", spent.id))
    await store.create_settlement(paid, deltas=moves(paid), activity=activity(created.id, "s", paid.id))

    posted = [comment(created.id, spent.id, (a, b, c)[i % 3].id, f"note {i}") for i in range(7)]
    for each in posted:
        logged = activity(created.id, "comment.created", spent.id, each.author_id)
        await store.create_comment(each, logged)
        assert (await all_activity(store, created.id))[0] == logged
    on_settlement = comment(created.id, paid.id, b.id, kind="settlement")
    await store.create_comment(on_settlement, activity(created.id, "comment.created", paid.id))

    newest_first = sorted(posted, key=lambda each: each.id, reverse=True)  # ids are time-ordered
    assert await collect(lambda **page: store.list_comments(created.id, spent.id, **page), 3) == newest_first
    assert (await store.list_comments(created.id, paid.id, limit=10)).items == [on_settlement]
    assert await store.get_comment(created.id, spent.id, posted[2].id) == posted[2]
    with pytest.raises(NotFound):
        await store.get_comment(created.id, paid.id, posted[2].id)  # not on that subject
    with pytest.raises(BadRequest):
        await store.list_comments(created.id, spent.id, limit=3, cursor=encode_cursor("chat", ["x", "y"]))

    removed = activity(created.id, "comment.deleted", spent.id)
    await store.delete_comment(created.id, spent.id, posted[2].id, removed)
    assert (await all_activity(store, created.id))[0] == removed
    with pytest.raises(NotFound):
        await store.get_comment(created.id, spent.id, posted[2].id)
    with pytest.raises(NotFound):
        await store.delete_comment(
            created.id, spent.id, posted[2].id, activity(created.id, "comment.deleted", spent.id)
        )
    assert len((await store.list_comments(created.id, spent.id, limit=10)).items) == 6


async def test_only_members_comment_and_only_on_live_subjects(store: Store) -> None:
    created, a, b, c = await trio(store)
    spent = expense(created.id, {a.id: 900}, {b.id: 900})
    await store.create_expense(spent, deltas=moves(spent), activity=activity(created.id, "e", spent.id))
    await store.remove_member(created.id, c.id)
    log = await all_activity(store, created.id)

    with pytest.raises(Conflict) as refused:
        await store.create_comment(comment(created.id, spent.id, c.id), activity(created.id, "c", spent.id))
    assert (refused.value.code, refused.value.details) == ("not_a_member", {"user_ids": [c.id]})
    with pytest.raises(NotFound):
        await store.create_comment(comment(created.id, "no-such", a.id), activity(created.id, "c", "no-such"))
    with pytest.raises(NotFound):  # an expense id is no settlement
        await store.create_comment(
            comment(created.id, spent.id, a.id, kind="settlement"), activity(created.id, "c", spent.id)
        )
    with pytest.raises(NotFound):
        await store.create_comment(
            comment("no-such-group", spent.id, a.id), activity("no-such-group", "c", "x")
        )
    assert await all_activity(store, created.id) == log

    kept = comment(created.id, spent.id, a.id)
    await store.create_comment(kept, activity(created.id, "comment.created", spent.id))
    await store.delete_expense(
        created.id,
        spent.id,
        expected_version=1,
        deltas=moves(spent, -1),
        activity=activity(created.id, "expense.deleted", spent.id),
    )
    with pytest.raises(NotFound):
        await store.create_comment(comment(created.id, spent.id, a.id), activity(created.id, "c", spent.id))
    # The deleted expense keeps its comments (the API hides them with it).
    assert (await store.list_comments(created.id, spent.id, limit=10)).items == [kept]
