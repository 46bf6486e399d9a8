"""Where the current action comes from: request id and source (web, API, worker, sync).

Set by the request middleware and by the Celery task hooks; read by record_audit.
"""

import contextvars
import uuid
from contextlib import contextmanager

_request_id = contextvars.ContextVar("request_id", default="")
_source = contextvars.ContextVar("audit_source", default="cli")


def current_request_id() -> str:
    return _request_id.get()


def current_source() -> str:
    return _source.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


@contextmanager
def action_context(*, source: str, request_id: str | None = None):
    """Run a block as coming from `source`, e.g. `with action_context(source="sync"):`."""
    source_token = _source.set(source)
    request_token = _request_id.set(request_id or new_request_id())
    try:
        yield
    finally:
        _source.reset(source_token)
        _request_id.reset(request_token)


def set_context(*, source: str, request_id: str) -> None:
    _source.set(source)
    _request_id.set(request_id)
