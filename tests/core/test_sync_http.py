"""The HTTP handler daphne runs: Django synchronously on a pool of worker threads.

These drive the ASGI callable directly, with real threads and a real event loop; the
suite's daphne-backed tests (e2e, notifications) exercise it behind a real server.
"""

import asyncio
import threading
import time

import pytest
from django.core import signals
from django.http import HttpResponse, StreamingHttpResponse
from django.test import override_settings
from django.urls import path

from mlops_portal.sync_http import SyncHTTPHandler

SEEN = {}


def slow(request):
    time.sleep(0.3)
    return HttpResponse(threading.current_thread().name)


def record_thread(request):
    SEEN["view"] = threading.get_ident()
    response = HttpResponse("ok")
    response.set_cookie("flavour", "plain")
    return response


def stream(request):
    def parts():
        try:
            for index in range(3):
                yield f"part {index}\n"
        finally:
            SEEN["closed"] = True

    return StreamingHttpResponse(parts(), content_type="text/plain")


def broken(request):
    raise RuntimeError("boom")


urlpatterns = [
    path("slow", slow),
    path("thread", record_thread),
    path("stream", stream),
    path("broken", broken),
]


def scope(path_: str) -> dict:
    return {
        "type": "http",
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path_,
        "raw_path": path_.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


async def call(handler, path_: str, *, fail_send_after: int | None = None) -> list[dict]:
    """Run one request through the handler; returns the ASGI messages it sent."""
    sent = []
    requested = False

    async def receive():
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(3600)

    async def send(message):
        if fail_send_after is not None and len(sent) >= fail_send_after:
            raise OSError("connection lost")
        sent.append(message)

    await handler(scope(path_), receive, send)
    return sent


def body(messages: list[dict]) -> bytes:
    return b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")


@pytest.fixture
def handler():
    with override_settings(ROOT_URLCONF=__name__, MIDDLEWARE=[], ALLOWED_HOSTS=["testserver"]):
        yield SyncHTTPHandler(threads=4)


def test_requests_run_in_parallel_on_worker_threads(handler):
    async def four():
        return await asyncio.gather(*(call(handler, "/slow") for _ in range(4)))

    started = time.perf_counter()
    replies = asyncio.run(four())
    elapsed = time.perf_counter() - started

    assert elapsed < 0.9, f"4 requests of 0.3 s took {elapsed:.2f} s: not run in parallel"
    threads = {body(messages).decode() for messages in replies}
    assert len(threads) > 1
    assert all(name.startswith("http") for name in threads)


def test_request_signals_run_in_the_views_thread(handler):
    """request_started and request_finished (which give back the database connection)
    must fire in the thread that ran the view, as under WSGI."""
    events = {}

    def started(**kwargs):
        events["started"] = threading.get_ident()

    def finished(**kwargs):
        events["finished"] = threading.get_ident()

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    try:
        messages = asyncio.run(call(handler, "/thread"))
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)

    assert events["started"] == SEEN["view"] == events["finished"]
    assert events["started"] != threading.get_ident()
    start = messages[0]
    assert start["status"] == 200
    assert any(
        name == b"Set-Cookie" and value.startswith(b"flavour=plain")
        for name, value in start["headers"]
    )
    assert body(messages) == b"ok"


def test_streaming_response_is_sent_chunk_by_chunk_and_closed(handler):
    SEEN.pop("closed", None)
    messages = asyncio.run(call(handler, "/stream"))

    assert messages[0]["type"] == "http.response.start"
    assert (b"Content-Type", b"text/plain") in messages[0]["headers"]
    chunks = [m for m in messages[1:] if m.get("more_body")]
    assert [c["body"] for c in chunks] == [b"part 0\n", b"part 1\n", b"part 2\n"]
    assert messages[-1] == {"type": "http.response.body"}
    assert SEEN["closed"] is True


def test_client_gone_during_streaming_stops_and_closes_the_response(handler):
    SEEN.pop("closed", None)
    messages = asyncio.run(call(handler, "/stream", fail_send_after=2))

    assert len(messages) == 2  # the start and the first chunk; nothing after the failure
    assert SEEN["closed"] is True


def test_an_exception_in_a_view_is_a_500_not_a_crash(handler):
    with override_settings(DEBUG=False):
        messages = asyncio.run(call(handler, "/broken"))
    assert messages[0]["status"] == 500
    assert b"boom" not in body(messages)


def test_websocket_scopes_are_refused(handler):
    async def websocket():
        await handler({"type": "websocket"}, None, None)

    with pytest.raises(ValueError, match="HTTP only"):
        asyncio.run(websocket())
