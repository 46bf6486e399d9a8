"""Run search and compare through the portal API against MLflow's own search_runs.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/runs_search.py --runs 10000

Loads N runs x 50 params x 50 metrics into a fresh MLflow store, mirrors them with the
portal's sync (timed), then measures over HTTP against daphne: filter + sort + first page
of 100 (p95), compare of 50 runs (p95), and the same filter in MLflow (median).
"""

import argparse
import random
import time
import uuid

import _common

FILTER = "metrics.m_1 > 0.5 and params.p_1 = 'v3' and tags.team = 'bench'"
ORDER_BY = "metrics.m_2 DESC"
PARAMS = 50
# The HTTP floor: a request that reads nothing (/healthz answers a constant) and the
# cheapest authenticated API call (token lookup, one user row).
FLOOR = ["/healthz", "/api/v1/me/"]
METRICS = 50


def plan_runs(count: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    start = 1_750_000_000_000
    runs = []
    for index in range(count):
        began = start + index * 1000
        runs.append(
            {
                "run_id": uuid.uuid4().hex,
                "name": f"bench-{index:05d}",
                "start_time": began,
                "end_time": began + 900,
                "params": {f"p_{k}": f"v{rng.randrange(10)}" for k in range(PARAMS)},
                "tags": {"team": "bench", "algorithm": rng.choice(["iforest", "lof"])},
                "metrics": {f"m_{k}": [(0, began + 900, rng.random())] for k in range(METRICS)},
            }
        )
    return runs


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=60)
    parser.add_argument("--mlflow-repeat", type=int, default=3)
    parser.add_argument(
        "--no-pool", action="store_true", help="serve without psycopg's pool (DATABASE_POOL)"
    )
    parser.add_argument(
        "--stock-asgi",
        action="store_true",
        help="serve HTTP through Django's own ASGI handler instead of the portal's",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="leave the scratch portal database and MLflow store in place (for pgbench)",
    )
    args = parser.parse_args()

    _common.run_in_scratch(run, args, keep=args.keep)


def run(args):
    import requests
    from django.db import connection

    from apps.experiments.sync import sync_mirror

    runs = plan_runs(args.runs)
    client, experiment_id, token, seconds = _common.load_bench_experiment("bench-search", runs)
    print(f"loaded {args.runs} runs into MLflow in {seconds:.1f}s")

    started = time.perf_counter()
    summary = sync_mirror()
    sync_s = time.perf_counter() - started
    print(
        f"sync of {summary.runs_written} new runs: {sync_s:.1f}s "
        f"({summary.pages} pages, database {connection.vendor})"
    )

    search = {
        "experiment": experiment_id,
        "filter": FILTER,
        "order_by": ORDER_BY,
        "page_size": 100,
    }
    compare = {"runs": ",".join(run["run_id"] for run in runs[:50])}
    with _common.portal_server(pool=not args.no_pool, stock_asgi=args.stock_asgi) as base:
        api = _common.ApiClient(base, token)
        first = api.get("/api/v1/runs/", {**search, "count": "true"})
        portal_times = _common.timed(lambda: api.get("/api/v1/runs/", search), args.repeat)
        floor = {path: _common.timed(lambda p=path: api.raw(p), args.repeat) for path in FLOOR}
        compare_times = _common.timed(lambda: api.get("/api/v1/compare/", compare), args.repeat)
        # The same search read through `requests`, as the first versions of this script did.
        session = requests.Session()
        session.headers["Authorization"] = f"Token {token}"
        through_requests = _common.timed(
            lambda: session.get(f"{base}/api/v1/runs/", params=search, timeout=30).json(),
            args.repeat,
        )
        api.close()

    # The same search in this process through Django's test client: no HTTP, no decoding.
    from django.test import Client

    django_client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Token {token}")
    in_process = _common.timed(
        lambda: django_client.get("/api/v1/runs/", search).content, args.repeat
    )
    # The runs page a user opens (HTML, 50 runs, default columns), also in-process.
    from django.contrib.auth import get_user_model

    browser = Client(HTTP_HOST="localhost")
    browser.force_login(get_user_model().objects.get(username="bench-alice"))
    page_query = {"experiment": experiment_id, "filter": FILTER, "order_by": ORDER_BY}
    page_times = _common.timed(
        lambda: browser.get("/experiments/runs/", page_query).content, args.repeat
    )

    def mlflow_search():
        return client.search_runs(
            [experiment_id], filter_string=FILTER, order_by=[ORDER_BY], max_results=100
        )

    mlflow_first = mlflow_search()
    mlflow_times = _common.timed(mlflow_search, args.mlflow_repeat, warmup=0)

    same = [r["run_id"] for r in first["results"]] == [r.info.run_id for r in mlflow_first]
    for path, times in floor.items():
        median, p95 = _common.median(times), _common.p95(times)
        print(f"floor GET {path}: median {median:.1f} ms, p95 {p95:.1f} ms")
    print(f"matching runs: {first['count']}; first page identical to MLflow's: {same}")
    portal_p95 = _common.p95(portal_times)
    compare_p95 = _common.p95(compare_times)
    mlflow_ms = _common.median(mlflow_times)
    print(
        f"portal search median {_common.median(portal_times):.1f} ms, "
        f"compare median {_common.median(compare_times):.1f} ms"
    )
    print(
        f"the same search in-process (Django test client): "
        f"median {_common.median(in_process):.1f} ms, p95 {_common.p95(in_process):.1f} ms"
    )
    print(
        f"runs page (HTML, in-process): median {_common.median(page_times):.1f} ms, "
        f"p95 {_common.p95(page_times):.1f} ms"
    )
    print(
        f"the same search read with requests: median {_common.median(through_requests):.1f} ms, "
        f"p95 {_common.p95(through_requests):.1f} ms"
    )
    print(
        f"HTTP floor p95: /healthz {_common.p95(floor['/healthz']):.1f} ms, "
        f"/api/v1/me/ {_common.p95(floor['/api/v1/me/']):.1f} ms"
    )
    print(
        f"runs_search p95_ms={portal_p95:.1f} compare_p95_ms={compare_p95:.1f} "
        f"mlflow_ms={mlflow_ms:.1f} ratio={mlflow_ms / portal_p95:.1f}"
    )


if __name__ == "__main__":
    main()
