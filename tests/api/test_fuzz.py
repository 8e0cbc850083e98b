"""The whole API fuzzed from its own OpenAPI document, on both store backends: no 5xx, every answer
documented and matching its schema, no ERROR logged, and verify-balances clean afterwards.

tests/api/fuzzing.py draws the requests (and says what it leaves to dedicated tests);
bench/fuzz_bench.py runs the same fuzz for longer."""

from __future__ import annotations

import asyncio
import logging
import shutil

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.api.conftest import Api
from tests.api.fuzzing import build_world, fuzz, verify_every_group
from tests.api.sign_in import sign_in_environ

VAPID_PEM = (
    ec.generate_private_key(ec.SECP256R1())
    .private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    .decode()
)
EXAMPLES = {"sqlite": 45, "dynamodb": 15}
"""Examples per operation: with about 90 operations, roughly 15 s on SQLite and 25 s on moto on two
cores (moto serves one request at a time, and CI's machines are slower than a developer's: 60 on
moto ran past the test's timeout there; 100 and 30, 40 s and 50 s, held the suite near its budget).
The draws are derandomized, so the check below that writes with real ids went through does not
flake with fewer examples. bench/fuzz_bench.py draws afresh and runs more."""


@pytest.fixture
def environ(environ: dict[str, str], oidc_issuer: str) -> dict[str, str]:
    """Sign-in, OCR and Web Push configured, so that those routes answer for real rather than 503."""
    configured = sign_in_environ(environ, oidc_issuer)
    configured["TESSERACT_CMD"] = shutil.which("tesseract") or configured["TESSERACT_CMD"]
    configured["VAPID_PRIVATE_KEY"] = VAPID_PEM
    configured["VAPID_SUBJECT"] = "mailto:ops@example.com"
    return configured


@pytest.mark.timeout(240)
async def test_the_api_answers_every_drawn_request_as_documented(
    api: Api, backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    world = await build_world(api)
    loop = asyncio.get_running_loop()
    with caplog.at_level(logging.WARNING):
        tally = await asyncio.to_thread(fuzz, api, world, loop, examples=EXAMPLES[backend], derandomize=True)
    assert not await verify_every_group(api, world)
    errors = [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
    assert not errors, errors[:3]
    # The fuzz reached past the front door: real ids met real records, and writes went through.
    succeeded = {name for name, counts in tally.statuses.items() if any(200 <= s < 300 for s in counts)}
    with_ids = {name for name in succeeded if "{" in name}
    writes = {name for name in with_ids if not name.startswith("GET")}
    assert len(with_ids) >= 15 and len(writes) >= 5, sorted(succeeded)
