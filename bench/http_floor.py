"""What answering over HTTP costs on this machine before the portal does any work.

    .venv/bin/python bench/http_floor.py

Serves a bare ASGI application under daphne (no Django, no database) that answers with a
constant JSON body: `/small` with `{}`, `/page` with a body shaped like the run search's
first page in bench/runs_search.py (100 runs, each with 50 params, 50 metrics and tags;
about 245 KB). Each is timed through a kept-alive http.client connection (read only, then
read and JSON-decoded) and through `requests`. Last line:
`http_floor small_p95_ms=<...> page_p95_ms=<...> page_decoded_p95_ms=<...>`.
"""

import argparse
import json
import random
import shutil
import uuid

import _common

APP = """
import json, os
BODY = open(os.environ["FLOOR_BODY"], "rb").read()
async def application(scope, receive, send):
    if scope["type"] != "http":
        return
    await receive()
    body = b"{}" if scope["path"] == "/small" else BODY
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})
"""


def page_body(runs: int) -> bytes:
    """A run-search page as the portal answers it, with generated values."""
    rng = random.Random(3)
    results = [
        {
            "run_id": uuid.UUID(int=rng.getrandbits(128)).hex,
            "experiment_id": "1",
            "experiment_name": "bench-search",
            "name": f"bench-{index:05d}",
            "status": "FINISHED",
            "user_id": "bench",
            "start_time": 1_750_000_000_000 + index,
            "end_time": 1_750_000_000_900 + index,
            "lifecycle_stage": "active",
            "params": {f"p_{k}": f"v{rng.randrange(10)}" for k in range(50)},
            "metrics": {f"m_{k}": rng.random() for k in range(50)},
            "tags": {"team": "bench", "algorithm": "iforest", "mlflow.runName": f"bench-{index}"},
        }
        for index in range(runs)
    ]
    return json.dumps({"count": None, "next": None, "previous": None, "results": results}).encode()


def main():
    import requests

    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()

    scratch = _common.SCRATCH
    (scratch / "floor_app.py").write_text(APP)
    body_path = scratch / "body.json"
    body_path.write_bytes(page_body(args.runs))
    env = {"FLOOR_BODY": str(body_path), "PYTHONPATH": str(scratch), "PATH": "/usr/bin:/bin"}
    try:
        with _common.daphne("floor_app:application", env, health_path="/small") as base:
            api = _common.ApiClient(base, "unused")
            session = requests.Session()
            results = {
                "small, http.client": _common.timed(lambda: api.raw("/small"), args.repeat),
                "page, http.client": _common.timed(lambda: api.raw("/page"), args.repeat),
                "page, http.client + json": _common.timed(lambda: api.get("/page"), args.repeat),
                "page, requests + json": _common.timed(
                    lambda: session.get(f"{base}/page", timeout=30).json(), args.repeat
                ),
            }
        size = body_path.stat().st_size
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    print(f"page body: {size} bytes ({args.runs} runs)")
    for name, times in results.items():
        print(f"{name}: median {_common.median(times):.2f} ms, p95 {_common.p95(times):.2f} ms")
    print(
        f"http_floor small_p95_ms={_common.p95(results['small, http.client']):.2f} "
        f"page_p95_ms={_common.p95(results['page, http.client']):.2f} "
        f"page_decoded_p95_ms={_common.p95(results['page, http.client + json']):.2f}"
    )


if __name__ == "__main__":
    main()
