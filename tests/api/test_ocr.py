"""Receipt OCR over HTTP with the real tesseract: scanning, refusals, the pool under load, stored
receipts and their expenses."""

from __future__ import annotations

import asyncio
import random
import shutil
import time
from typing import Any

import aioboto3
import pytest
from aiohttp import FormData

from server.app import create_app
from server.config import load_config
from tests.api.conftest import Actor, Api, OpenApi, store_agnostic
from tests.ocr.samples import (
    RECEIPTS,
    png_bomb,
    real_receipts,
    rendered_receipt,
    truncated_jpeg,
)
from tests.waiting import wait_until

pytestmark = pytest.mark.skipif(shutil.which("tesseract") is None, reason="needs tesseract")

MAX_UPLOAD = 4 * 1024 * 1024
REAL_SAMPLE = 4
REAL_TOTAL_FLOOR = 3


@pytest.fixture
def environ(environ: dict[str, str]) -> dict[str, str]:
    """The API's environment, with the real tesseract and a two-worker pool."""
    return {
        **environ,
        "TESSERACT_CMD": "tesseract",
        "OCR_WORKERS": "2",
        "OCR_QUEUE_SIZE": "2",
        "OCR_MAX_UPLOAD_BYTES": str(MAX_UPLOAD),
        "OCR_LANGUAGES": "eng+deu",
    }


def upload(data: bytes, *, filename: str = "receipt.jpg", content_type: str = "image/jpeg") -> FormData:
    form = FormData()
    form.add_field("file", data, filename=filename, content_type=content_type)
    return form


async def scan(api: Api, user: Actor, data: bytes, **kwargs: Any) -> Any:
    return await api.post("/api/ocr/upload", as_=user, data=upload(data, **kwargs))


@store_agnostic
async def test_scan_status_reports_tesseract_formats_limits_and_pool(api: Api, alice: Actor) -> None:
    reply = await api.get("/api/ocr/scan", as_=alice)
    assert reply.status == 200
    status = reply.json
    assert status["available"] is True
    assert status["tesseract"]["version"].startswith("5")
    assert {"png", "jpg", "jpeg", "webp"} <= set(status["formats"])
    assert status["max_upload_bytes"] == MAX_UPLOAD
    assert status["pool"]["size"] == 2 and status["pool"]["alive"] == 2
    assert (await api.get("/api/ocr/scan")).status == 401


@store_agnostic
async def test_a_receipt_is_scanned_whatever_its_name_says(api: Api, alice: Actor) -> None:
    reply = await scan(
        api, alice, rendered_receipt(fmt="PNG"), filename="scan.jpg", content_type="image/jpeg"
    )
    assert reply.status == 201, reply.text
    body = reply.json
    assert body["total"] == "5.00"
    assert body["currency"] == "GBP"
    assert body["date"] == "2024-03-14"
    assert "CORNER GROCERY" in body["merchant"]
    assert body["confidence"]["total"] > 0.5
    assert body["image"]["content_type"] == "image/png"
    assert body["processing_ms"] > 0
    assert {i["description"] for i in body["items"]} >= {"Bread"}
    draft = dict(body["expense_draft"])
    split = draft.pop("split")
    assert draft == {
        "receipt_id": body["receipt_id"],
        "description": body["merchant"],
        "amount": "5.00",
        "currency": "GBP",
        "date": "2024-03-14",
    }
    # the receipt's lines, nobody assigned yet, adding up to the total
    assert split["kind"] == "items" and "Bread" in {i["description"] for i in split["items"]}
    assert all(i["members"] == [] for i in split["items"])
    lines = sum(int(i["amount"].replace(".", "")) for i in split["items"])
    extras = sum(int(split.get(k, "0.00").replace(".", "")) * s for k, s in (("tax", 1), ("discount", -1)))
    assert lines + extras == 500
    assert reply.headers["Location"] == f"/api/receipts/{body['receipt_id']}"


UNPRICED_YEN = """\
KONBINI SHIBUYA
Rice Ball            150
Green Tea            130
TOTAL                280
"""
AMBIGUOUS_DATE = """\
CORNER GROCERY
Bread                1.20
TOTAL                1.20
03/04/2024  10:21
"""


@store_agnostic
async def test_the_group_currency_reads_a_receipt_that_prints_none(api: Api, alice: Actor) -> None:
    """A yen receipt without a yen sign: whole amounts are money only in a 0-decimal currency."""
    plain = (await scan(api, alice, rendered_receipt(UNPRICED_YEN))).json
    assert plain["total"] is None and plain["currency"] is None
    reply = await api.post(
        "/api/ocr/upload?currency=JPY", as_=alice, data=upload(rendered_receipt(UNPRICED_YEN))
    )
    assert reply.status == 201, reply.text
    body = reply.json
    assert body["total"] == "280"
    assert body["currency"] is None  # what the receipt prints
    assert [(i["description"], i["amount"]) for i in body["items"]] == [
        ("Rice Ball", "150"),
        ("Green Tea", "130"),
    ]
    assert body["expense_draft"]["currency"] == "JPY" and body["expense_draft"]["amount"] == "280"


@store_agnostic
async def test_the_country_settles_a_date_the_receipt_leaves_open(api: Api, alice: Actor) -> None:
    image = rendered_receipt(AMBIGUOUS_DATE)
    assert (await scan(api, alice, image)).json["date"] == "2024-04-03"  # day first, most places
    reply = await api.post("/api/ocr/upload?country=US", as_=alice, data=upload(image))
    assert reply.status == 201 and reply.json["date"] == "2024-03-04"


@store_agnostic
@pytest.mark.parametrize("query", ["currency=XYZ", "currency=jpy", "country=usa", "country=U1"])
async def test_hints_that_are_no_codes_are_refused(api: Api, alice: Actor, query: str) -> None:
    reply = await api.post(f"/api/ocr/upload?{query}", as_=alice, data=upload(rendered_receipt()))
    assert reply.status == 422, reply.text
    assert reply.error["code"] == "validation_error"
    assert query.split("=")[0] in reply.error_fields(), reply.error


@store_agnostic
async def test_webp_is_welcome(api: Api, alice: Actor) -> None:
    reply = await scan(api, alice, rendered_receipt(fmt="WEBP"), filename="r.webp", content_type="image/webp")
    assert reply.status == 201 and reply.json["total"] == "5.00"


@store_agnostic
async def test_real_receipts_give_their_totals(api: Api, alice: Actor) -> None:
    sample = random.Random(6).sample(real_receipts()[:13], REAL_SAMPLE)
    replies = await asyncio.gather(
        *(
            api.post("/api/ocr/upload", as_=alice, data=upload((RECEIPTS / item["file"]).read_bytes()))
            for item in sample[:2]
        )
    )
    replies += await asyncio.gather(
        *(
            api.post("/api/ocr/upload", as_=alice, data=upload((RECEIPTS / item["file"]).read_bytes()))
            for item in sample[2:]
        )
    )
    right = [r.json["total"] == item["total"] for r, item in zip(replies, sample, strict=True)]
    assert all(r.status == 201 for r in replies)
    assert sum(right) >= REAL_TOTAL_FLOOR, [
        (i["file"], r.json["total"]) for r, i in zip(replies, sample, strict=True)
    ]


@store_agnostic
@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (png_bomb(), 413, "image_too_large"),
        (b"\xff\xd8\xff" + bytes(MAX_UPLOAD), 413, "file_too_large"),
        (b"%PDF-1.7\n" + bytes(1000), 415, "unsupported_image"),
        (truncated_jpeg(), 422, "corrupt_image"),
    ],
    ids=["bomb", "oversize", "not-an-image", "truncated-jpeg"],
)
async def test_bad_uploads_get_their_status_and_leave_the_pool_healthy(
    api: Api, alice: Actor, data: bytes, status: int, code: str
) -> None:
    started = time.perf_counter()
    reply = await scan(api, alice, data)
    assert (reply.status, reply.error["code"]) == (status, code)
    assert time.perf_counter() - started < 5
    state = (await api.get("/api/ocr/scan", as_=alice)).json["pool"]
    assert state["alive"] == 2 and state["busy"] == 0
    assert (await scan(api, alice, rendered_receipt())).status == 201


@store_agnostic
async def test_a_non_multipart_upload_is_refused(api: Api, alice: Actor) -> None:
    reply = await api.post(
        "/api/ocr/upload", as_=alice, data=rendered_receipt(), headers={"Content-Type": "image/png"}
    )
    assert reply.status == 415
    empty = FormData(default_to_multipart=True)
    empty.add_field("note", "no file here")
    reply = await api.post("/api/ocr/upload", as_=alice, data=empty)
    assert reply.status == 400 and reply.error["code"] == "file_required"


@store_agnostic
async def test_healthz_answers_quickly_while_ocr_saturates_the_pool(api: Api, alice: Actor) -> None:
    image = (RECEIPTS / "receipt_03.jpg").read_bytes()
    jobs = [asyncio.ensure_future(scan(api, alice, image)) for _ in range(4)]

    async def saturated() -> bool:
        pool = (await api.get("/api/ocr/scan", as_=alice)).json["pool"]
        return bool(pool["busy"] == 2 and pool["queued"] == 2)

    await wait_until(saturated, what="the pool running two jobs with two more queued")
    assert (await api.get("/api/ocr/scan", as_=alice)).json["pool"]["busy"] == 2
    slowest = 0.0
    for _ in range(5):
        started = time.perf_counter()
        assert (await api.get("/healthz")).status == 200
        slowest = max(slowest, time.perf_counter() - started)
        await asyncio.sleep(0.05)  # pacing, not waiting: the probes sample the whole busy spell
    busy = await scan(api, alice, image)  # 2 running + 2 queued: the fifth is refused
    assert busy.status == 503 and int(busy.headers["Retry-After"]) >= 1
    assert busy.error["code"] == "ocr_busy"
    assert all(r.status == 201 for r in await asyncio.gather(*jobs))
    assert slowest < 0.1


async def test_a_receipt_attached_to_an_expense_is_served_to_the_group_only(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    scanned = await scan(api, alice, rendered_receipt())
    assert scanned.status == 201
    receipt_id = scanned.json["receipt_id"]
    group = await api.create_group(alice, default_currency="GBP")
    await api.join(group["id"], bob)
    draft = scanned.json["expense_draft"]
    created = await api.post(f"/api/groups/{group['id']}/expenses", as_=alice, json=draft)
    assert created.status == 201, created.text
    assert created.json["receipt_id"] == receipt_id
    assert created.json["amount"] == "5.00" and created.json["date"] == "2024-03-14"
    # the drafted lines are everyone's until handed out
    assert created.json["split"]["kind"] == "items"
    assert sorted(s["user_id"] for s in created.json["shares"]) == sorted([alice.id, bob.id])

    path = f"/api/groups/{group['id']}/expenses/{created.json['id']}/receipt"
    image = await api.get(path, as_=bob)
    assert image.status == 200
    assert image.headers["Content-Type"] == "image/png"
    assert image.headers["Content-Length"] == str(scanned.json["image"]["bytes"])
    assert (await api.get(path, as_=carol)).status == 404

    mine = await api.get(f"/api/receipts/{receipt_id}", as_=alice)
    assert mine.status == 200 and mine.json["extracted"]["total"] == "5.00"
    assert mine.json["uploaded_by"] == alice.id
    assert (await api.get(f"/api/receipts/{receipt_id}", as_=bob)).status == 404
    assert (await api.get(f"/api/receipts/{receipt_id}/image", as_=alice)).status == 200
    assert (await api.get("/api/receipts/not-a-receipt", as_=alice)).status == 404

    plain = await api.post(
        f"/api/groups/{group['id']}/expenses", as_=alice, json={"description": "Taxi", "amount": "9.00"}
    )
    bare = f"/api/groups/{group['id']}/expenses/{plain.json['id']}/receipt"
    assert (await api.get(bare, as_=alice)).status == 404


@store_agnostic
async def test_receipts_can_live_in_s3(aiohttp_client: Any, environ: dict[str, str], moto_url: str) -> None:
    bucket = f"receipts-{random.randrange(10**9)}"
    async with aioboto3.Session().client("s3", region_name="us-east-1", endpoint_url=moto_url) as s3:
        await s3.create_bucket(Bucket=bucket)
        config = load_config(
            {**environ, "RECEIPTS_BUCKET": bucket, "RECEIPTS_S3_ENDPOINT_URL": moto_url}, read_dotenv=False
        )
        client = await aiohttp_client(create_app(config))
        async with client.get("/api/openapi.json") as response:
            api = Api(client, config, OpenApi(await response.json()))
        alice = await api.user("alice")
        scanned = await scan(api, alice, rendered_receipt())
        assert scanned.status == 201
        receipt_id = scanned.json["receipt_id"]
        listed = await s3.list_objects_v2(Bucket=bucket)
        keys = {item["Key"] for item in listed["Contents"]}
        assert keys == {
            f"receipts/{receipt_id}.json",
            f"receipts/{receipt_id}.png",
            f"receipts/uploaders/{alice.id}/{receipt_id}",  # the uploader's index (docs/people.md)
        }
        image = await api.get(f"/api/receipts/{receipt_id}/image", as_=alice)
        assert image.status == 200
        assert image.headers["Content-Length"] == str(scanned.json["image"]["bytes"])


@store_agnostic
async def test_without_tesseract_ocr_answers_503_and_the_rest_works(
    aiohttp_client: Any, environ: dict[str, str], tmp_path: Any
) -> None:
    config = load_config({**environ, "TESSERACT_CMD": str(tmp_path / "no-tesseract")}, read_dotenv=False)
    client = await aiohttp_client(create_app(config))
    async with client.get("/api/openapi.json") as response:
        api = Api(client, config, OpenApi(await response.json()))
    alice = await api.user("alice")
    status = await api.get("/api/ocr/scan", as_=alice)
    assert status.json["available"] is False and "tesseract" in status.json["reason"]
    refused = await scan(api, alice, rendered_receipt())
    assert (refused.status, refused.error["code"]) == (503, "ocr_unavailable")
    ready = await api.get("/readyz")
    assert ready.status == 200 and ready.json["checks"]["tesseract"].startswith("missing")
    assert (await api.post("/api/groups", as_=alice, json={"name": "Flat"})).status == 201
