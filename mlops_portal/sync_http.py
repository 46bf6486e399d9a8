"""Django's HTTP side under daphne, run the way a threaded WSGI server runs it.

Every view, middleware and signal receiver of the portal is synchronous. Django's own
ASGI handler runs them under an event loop: it starts a new thread per request and moves
between that thread and the loop for the request-started signal, for the middleware
chain, for the view and for closing the response. On this project's 2-core machines those
handovers cost 1 to 2 ms per request, more than Django itself spends on a request that
reads nothing (docs/benchmarks.md, "The HTTP handler, A/B").

`SyncHTTPHandler` keeps daphne (and with it the websocket side, which stays async)
but hands each HTTP request to a fixed pool of worker threads once: the request-started
signal, the middleware chain, the view and the request-finished signal all run in that
thread, in that order, as under WSGI. A database connection therefore belongs to one
thread for a whole request and goes back to the pool (or is closed) at its end.

Responses held in memory are built and closed in the worker and sent from the loop.
Streaming responses (CSV exports, artifact downloads) are iterated in the worker, which
hands each chunk to the loop and waits until it is sent, so a slow client slows the
producer instead of filling memory.
"""

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse
from django.urls import set_script_prefix

logger = logging.getLogger(__name__)


class ClientGone(Exception):
    """The client disconnected while a streaming response was being sent."""


class SyncHTTPHandler(ASGIHandler):
    """An ASGI callable for HTTP that runs Django synchronously on `threads` threads."""

    def __init__(self, threads: int):
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="http")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"SyncHTTPHandler serves HTTP only, not {scope['type']}.")
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        loop = asyncio.get_running_loop()
        reply = await loop.run_in_executor(self.executor, self._serve, scope, body_file, send, loop)
        if reply is not None:
            status, headers, body = reply
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})

    def _serve(self, scope, body_file, send, loop):
        """Worker thread: the whole Django request. Returns (status, headers, body) for a
        response held in memory; a streaming response is sent from here and gives None.

        The body file is closed here too, not in the loop: if the client goes away, daphne
        cancels the loop's side while this thread may still be reading the body.
        """
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        try:
            request, response = self.create_request(scope, body_file)
            if request is not None:
                response = self.get_response(request)
        finally:
            body_file.close()
        response._handler_class = self.__class__
        try:
            if not response.streaming:
                return response.status_code, _headers(response), response.content
            if isinstance(response, FileResponse):
                response.block_size = self.chunk_size
            self._stream(response, send, loop)
            return None
        finally:
            # Fires request_finished in this thread, which gives back its connection.
            response.close()

    def _stream(self, response, send, loop) -> None:
        def deliver(message) -> None:
            try:
                asyncio.run_coroutine_threadsafe(send(message), loop).result()
            except Exception as exc:  # the server refuses to send: the client is gone
                raise ClientGone from exc

        try:
            deliver(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": _headers(response),
                }
            )
            for part in response.streaming_content:
                for chunk, _last in self.chunk_bytes(part):
                    deliver({"type": "http.response.body", "body": chunk, "more_body": True})
            deliver({"type": "http.response.body"})
        except ClientGone:
            logger.info("client disconnected during a streaming response")


def _headers(response) -> list[tuple[bytes, bytes]]:
    """The response's headers and cookies as ASGI header pairs."""
    headers = [
        (
            name.encode("ascii") if isinstance(name, str) else bytes(name),
            value.encode("latin1") if isinstance(value, str) else bytes(value),
        )
        for name, value in response.items()
    ]
    headers += [
        (b"Set-Cookie", cookie.output(header="").encode("ascii").strip())
        for cookie in response.cookies.values()
    ]
    return headers
