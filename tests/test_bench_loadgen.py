"""The bench's lean HTTP client against a real uvicorn: what it sends is what Starlette
parses (JSON, form, multipart with a file), and it reads sized and chunked answers
over a reused keep-alive connection."""

from __future__ import annotations

import hashlib
import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, StreamingResponse
from starlette.routing import Route

from bench.loadgen import LeanClient
from tests.browser.conftest import serving
from tests.conftest import free_port


async def _echo(request: Request) -> JSONResponse:
    kind = request.headers.get("content-type", "")
    if kind.startswith("application/json"):
        return JSONResponse({"json": await request.json()})
    form = await request.form()
    out = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            out[key] = value
        else:
            content = await value.read()
            out[key] = {"filename": value.filename, "type": value.content_type,
                        "sha256": hashlib.sha256(content).hexdigest(), "size": len(content)}  # fmt: skip
    return JSONResponse({"form": out, "auth": request.headers.get("authorization")})


async def _chunks(_: Request) -> StreamingResponse:
    async def parts():  # type: ignore[no-untyped-def]
        for i in range(3):
            yield f"part {i};".encode()

    return StreamingResponse(parts(), media_type="text/plain")


async def _moved(_: Request) -> RedirectResponse:
    return RedirectResponse("/elsewhere?x=1", status_code=303)


APP = Starlette(routes=[
    Route("/echo", _echo, methods=["POST"]),
    Route("/chunks", _chunks),
    Route("/moved", _moved, methods=["POST"]),
])  # fmt: skip


async def test_requests_are_parsed_and_answers_read() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    upload = bytes(range(256)) * 800  # 200 KB, every byte value
    async with serving(APP, port):
        client = LeanClient(base, timeout=10)
        try:
            answer = await client.post("/echo", json={"tên": "Nguyễn Văn An", "n": [1, 2]},
                                       headers={"Authorization": "Bearer t"})  # fmt: skip
            assert answer.status_code == 200
            assert answer.json() == {"json": {"tên": "Nguyễn Văn An", "n": [1, 2]}}

            answer = await client.post("/echo", data={"action": "pay", "ghi_chú": "Đã nộp"})
            assert answer.json()["form"] == {"action": "pay", "ghi_chú": "Đã nộp"}

            answer = await client.post(
                f"{base}/echo",  # an absolute URL on the same host, as a payment URL is
                data={"form": json.dumps({"a": "b"})},
                files=[("giay_to", ("cccd.pdf", upload, "application/pdf"))],
                headers={"Authorization": "Bearer u"},
            )
            form = answer.json()["form"]
            assert form["form"] == '{"a": "b"}'
            assert form["giay_to"] == {"filename": "cccd.pdf", "type": "application/pdf",
                                       "sha256": hashlib.sha256(upload).hexdigest(),
                                       "size": len(upload)}  # fmt: skip
            assert answer.json()["auth"] == "Bearer u"

            status, body = await client.get("/chunks")
            assert (status, body) == (200, b"part 0;part 1;part 2;")

            moved = await client.post("/moved")
            assert moved.status_code == 303
            assert moved.headers["location"] == "/elsewhere?x=1"
            # Every exchange went over the one keep-alive connection.
            assert len(client._idle) == 1
        finally:
            await client.aclose()
