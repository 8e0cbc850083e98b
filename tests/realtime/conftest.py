"""The HTTP API harness (real app, users with tokens, OpenAPI-checked replies), shared with
tests/api."""

from tests.api.conftest import (  # noqa: F401  (fixtures, found by name)
    alice,
    api,
    backend,
    bob,
    carol,
    config,
    environ,
    make_api,
)
