"""The pieces of conditional reads that need no server: tags from bodies, If-None-Match matching."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from server.conditional import body_etag, none_match


def test_a_tag_is_a_quoted_digest_of_the_bytes_with_the_version_in_front() -> None:
    plain, versioned = body_etag(b'{"a":1}'), body_etag(b'{"a":1}', '"7"')
    assert plain.startswith('"') and plain.endswith('"') and len(plain) == 18
    assert versioned == f'"7.{plain[1:]}'
    assert body_etag(b'{"a":2}') != plain


@given(st.binary(), st.binary())
def test_different_bodies_get_different_tags(one: bytes, other: bytes) -> None:
    assert (body_etag(one) == body_etag(other)) == (one == other)


def test_if_none_match_compares_weakly_through_lists_and_star() -> None:
    tag = '"3.abc"'
    for offered in ('"3.abc"', 'W/"3.abc"', '"x", "3.abc"', '"x",W/"3.abc" ', "*", " * "):
        assert none_match(offered, tag), offered
    assert none_match('"3.abc"', 'W/"3.abc"')
    for offered in ('"3"', "3.abc", '"3.abcd"', "", '"x", "y"', "W/", '"3.ab"c"'):
        assert not none_match(offered, tag), offered
