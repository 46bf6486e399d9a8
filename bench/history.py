"""A million-point metric history through the portal API, end to end over HTTP.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/history.py --points 1000000

Logs one run whose metric `loss` has N points into a fresh MLflow store, mirrors it with
the portal's sync, then times GET /api/v1/runs/<id>/metrics/loss/history/ (whole range,
at most 2,000 points) against daphne, and a zoom into a tenth of the steps.
"""

import argparse
import json
import math
import random
import time
import uuid

import _common


def plan_run(points: int) -> dict:
    rng = random.Random(11)
    start = 1_750_000_000_000
    value, history = 1.0, []
    for step in range(points):
        value = 0.999995 * value + 0.002 * (rng.random() - 0.5)
        spike = 0.5 if step % 97_331 == 0 else 0.0
        history.append((step, start + step * 10, value + 0.1 * math.sin(step / 5000) + spike))
    return {
        "run_id": uuid.uuid4().hex,
        "name": "long-training",
        "start_time": start,
        "end_time": start + points * 10,
        "params": {"optimizer": "adam"},
        "tags": {"team": "bench"},
        "metrics": {"loss": history},
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()

    _common.run_in_scratch(run, args)


def run(args):

    from apps.experiments.sync import sync_mirror

    planned = plan_run(args.points)
    client, experiment_id, token, seconds = _common.load_bench_experiment(
        "bench-history", [planned]
    )
    print(f"loaded {args.points} points into MLflow in {seconds:.1f}s")
    logged = len(client.get_metric_history(planned["run_id"], "loss"))
    print(f"MLflow get_metric_history returns {logged} points")

    started = time.perf_counter()
    sync_mirror()
    print(f"sync of the run and its history: {time.perf_counter() - started:.1f}s")

    with _common.portal_server() as base:
        api = _common.ApiClient(base, token)
        url = f"/api/v1/runs/{planned['run_id']}/metrics/loss/history/"
        sizes = []

        def fetch(params):
            body = api.raw(url, params)
            sizes.append(len(body))
            return json.loads(body)

        whole = fetch({"max_points": 2000})
        whole_times = _common.timed(lambda: fetch({"max_points": 2000}), args.repeat)
        whole_bytes = sizes[0]

        window = {
            "max_points": 2000,
            "step_min": args.points // 2,
            "step_max": args.points // 2 + args.points // 10,
        }
        zoomed = fetch(window)
        zoom_times = _common.timed(lambda: fetch(window), args.repeat)

    print(
        f"whole range: {whole['returned']} of {whole['count']} points, "
        f"median {_common.median(whole_times):.1f} ms"
    )
    print(
        f"zoom to {window['step_min']}..{window['step_max']}: {zoomed['returned']} points, "
        f"median {_common.median(zoom_times):.1f} ms, p95 {_common.p95(zoom_times):.1f} ms"
    )
    print(f"history p95_ms={_common.p95(whole_times):.1f} bytes={whole_bytes}")


if __name__ == "__main__":
    main()
