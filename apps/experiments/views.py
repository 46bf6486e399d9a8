"""Pages of the experiments app: list, run search, run detail, artifacts, compare, sync now."""

import csv
import logging
import mimetypes
import shutil
import tempfile
from pathlib import Path, PurePosixPath

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from apps.core import mlflow_gateway
from apps.experiments import selectors
from apps.experiments.columns import DEFAULT_PAGE_SIZE, PAGE_SIZES, RunColumns
from apps.experiments.filters import FilterError
from apps.experiments.sync import sync_state
from apps.experiments.tasks import request_sync

logger = logging.getLogger(__name__)


@require_GET
def experiment_list(request):
    experiments = selectors.experiments_for(request.user)
    return render(
        request,
        "experiments/experiment_list.html",
        {"experiments": experiments, "sync": sync_state()},
    )


@require_POST
def sync_now(request):
    request_sync()
    logger.info("mirror sync requested by user %s", request.user.pk)
    messages.info(request, "Sync queued; new runs appear within a minute.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("experiments:list")
    return redirect(target)


def _experiment_ids(request) -> list[str]:
    return [part for part in request.GET.get("experiment", "").split(",") if part]


@require_GET
def run_list(request):
    experiment_ids = _experiment_ids(request)
    experiments = [selectors.experiment_for(request.user, e) for e in experiment_ids]
    filter_text = request.GET.get("filter", "").strip()
    order_by = request.GET.get("order_by", "").strip()

    error = None
    try:
        runs = selectors.search_runs(
            request.user,
            experiment_ids=experiment_ids or None,
            filter_text=filter_text,
            order_by=[order_by] if order_by else None,
        )
    except FilterError as exc:
        error = exc
        runs = selectors.search_runs(request.user, experiment_ids=experiment_ids or None)

    keys = selectors.column_keys(runs)
    columns = RunColumns.from_request(request.GET.get("columns", ""), keys)
    page_size = _page_size(request)
    ranked = runs.values_list("run_id", flat=True)
    page = Paginator(ranked if not error else runs.none(), page_size).get_page(
        request.GET.get("page")
    )
    rows = columns.rows(list(page.object_list))

    context = {
        "experiments": experiments,
        "page": page,
        "rows": rows,
        "columns": columns,
        "attribute_choices": RunColumns.attribute_choices(),
        "keys": keys,
        "filter_text": filter_text,
        "order_by": order_by,
        "error": error,
        "page_size": page_size,
        "page_sizes": PAGE_SIZES,
        "query": _query_without(request, "page"),
        "sort_query": _query_without(request, "page", "order_by"),
        "sync": sync_state(),
    }
    return render(request, "experiments/run_list.html", context, status=400 if error else 200)


def _page_size(request) -> int:
    try:
        size = int(request.GET.get("page_size", DEFAULT_PAGE_SIZE))
    except ValueError:
        return DEFAULT_PAGE_SIZE
    return size if size in PAGE_SIZES else DEFAULT_PAGE_SIZE


def _query_without(request, *names) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


@require_GET
def run_detail(request, run_id):
    run = selectors.run_for(request.user, run_id)
    artifact_path = _safe_artifact_path(request.GET.get("path", ""))
    try:
        artifacts = mlflow_gateway.run_artifacts(run.run_id, artifact_path or None)
        artifacts_error = ""
    except mlflow_gateway.MlflowError as exc:
        artifacts, artifacts_error = [], str(exc)[:300]

    return render(
        request,
        "experiments/run_detail.html",
        {
            "run": run,
            "params": sorted(run.params.items()),
            "metric_points": selectors.history_keys(run),
            "tags": sorted((k, v) for k, v in run.tags.items()),
            "artifacts": artifacts,
            "artifact_path": artifact_path,
            "artifact_parent": str(PurePosixPath(artifact_path).parent) if artifact_path else None,
            "artifacts_error": artifacts_error,
        },
    )


def _safe_artifact_path(raw: str) -> str:
    """A relative artifact path with no way out of the run's artifact root."""
    path = PurePosixPath(raw.strip("/"))
    if raw and (path.is_absolute() or ".." in path.parts):
        raise Http404("No such artifact.")
    return "" if str(path) == "." else str(path)


@require_GET
def artifact_download(request, run_id, path):
    run = selectors.run_for(request.user, run_id)
    path = _safe_artifact_path(path)
    if not path:
        raise Http404("No such artifact.")

    scratch = tempfile.mkdtemp(prefix="artifact-")
    try:
        local = Path(mlflow_gateway.download_run_artifact(run.run_id, path, scratch))
        if not local.is_file():
            raise Http404("Folders cannot be downloaded; pick a file.")
        handle = local.open("rb")
    except mlflow_gateway.MlflowUnavailable:
        raise
    except mlflow_gateway.MlflowError:
        raise Http404("No such artifact.") from None
    finally:
        # The open handle keeps the file readable after its directory is removed.
        shutil.rmtree(scratch, ignore_errors=True)

    content_type = mimetypes.guess_type(local.name)[0] or "application/octet-stream"
    return FileResponse(handle, as_attachment=True, filename=local.name, content_type=content_type)


def _compare_run_ids(request) -> list[str]:
    return [part.strip() for part in request.GET.get("runs", "").split(",") if part.strip()]


@require_GET
def compare(request):
    try:
        comparison = selectors.compare_runs(request.user, _compare_run_ids(request))
    except ValueError as exc:
        return render(request, "experiments/compare_empty.html", {"error": exc}, status=400)

    return render(
        request,
        "experiments/compare.html",
        {
            "comparison": comparison,
            "run_ids": ",".join(run.run_id for run in comparison.runs),
            "chart_data": _chart_data(comparison),
        },
    )


PALETTE = [
    "#4f46e5", "#ef4444", "#10b981", "#f59e0b", "#0ea5e9", "#a855f7", "#ec4899",
    "#14b8a6", "#84cc16", "#f97316", "#6366f1", "#64748b",
]  # fmt: skip


def _chart_data(comparison) -> dict:
    runs = comparison.runs
    history_keys = selectors.compare_history_keys(runs)
    return {
        "runs": [
            {
                "run_id": run.run_id,
                "name": run.name or run.run_id[:8],
                "color": PALETTE[index % len(PALETTE)],
                "params": run.params,
                "metrics": run.metrics,
            }
            for index, run in enumerate(runs)
        ],
        "params": [row["key"] for row in comparison.params],
        "differing_params": [row["key"] for row in comparison.params if row["differs"]],
        "metrics": [{"key": r["key"], "direction": r["direction"]} for r in comparison.metrics],
        "history_keys": history_keys,
        "histories_url": reverse("api-compare-histories"),
    }


@require_GET
def compare_csv(request):
    try:
        comparison = selectors.compare_runs(request.user, _compare_run_ids(request))
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc))
    table = request.GET.get("table", "metrics")
    if table not in ("params", "metrics"):
        return HttpResponseBadRequest("table is params or metrics")

    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="compare-{table}.csv"'
    writer = csv.writer(response)
    writer.writerow([table[:-1], *(run.name or run.run_id for run in comparison.runs)])
    writer.writerow(["run_id", *(run.run_id for run in comparison.runs)])
    for row in getattr(comparison, table):
        writer.writerow([row["key"], *("" if v is None else v for v in row["values"])])
    return response
