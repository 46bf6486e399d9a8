"""REST API over the experiments mirror: experiments, run search, run detail, histories, compare.

Every endpoint reads through the selectors, so it sees exactly what the pages see; an
experiment or run the caller may not view answers 404.
"""

import json

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.experiments import selectors
from apps.experiments.filters import FilterError


class ExperimentSerializer(serializers.Serializer):
    experiment_id = serializers.CharField()
    name = serializers.CharField()
    lifecycle_stage = serializers.CharField()
    team = serializers.CharField(source="team.slug", default=None)
    run_count = serializers.IntegerField()
    last_activity = serializers.DateTimeField()
    tags = serializers.DictField(child=serializers.CharField())


class RunSerializer(serializers.Serializer):
    run_id = serializers.CharField()
    experiment_id = serializers.CharField()
    experiment_name = serializers.CharField()
    name = serializers.CharField()
    status = serializers.CharField()
    user_id = serializers.CharField()
    start_time = serializers.IntegerField(allow_null=True, help_text="ms since the epoch")
    end_time = serializers.IntegerField(allow_null=True, help_text="ms since the epoch")
    lifecycle_stage = serializers.CharField()
    params = serializers.DictField(child=serializers.CharField())
    metrics = serializers.DictField(child=serializers.FloatField(allow_null=True))
    tags = serializers.DictField(child=serializers.CharField())


class RunDetailSerializer(RunSerializer):
    artifact_uri = serializers.CharField()
    metric_points = serializers.DictField(
        child=serializers.IntegerField(), help_text="points logged per metric"
    )


class HistorySerializer(serializers.Serializer):
    run_id = serializers.CharField()
    key = serializers.CharField()
    count = serializers.IntegerField(help_text="points logged in MLflow")
    returned = serializers.IntegerField(help_text="points in this response")
    axis = serializers.ChoiceField(choices=["step", "time"])
    low = serializers.IntegerField(allow_null=True, help_text="zoom start (step or ms)")
    high = serializers.IntegerField(allow_null=True, help_text="zoom end (step or ms)")
    steps = serializers.ListField(child=serializers.IntegerField())
    timestamps = serializers.ListField(child=serializers.IntegerField())
    values = serializers.ListField(child=serializers.FloatField(allow_null=True))


RUN_PAGE_KEYS = (
    "run_id", "experiment_id", "experiment_name", "name", "status", "user_id", "start_time",
    "end_time", "lifecycle_stage",
)  # fmt: skip


def _page_json(request, page, number: int, page_size: int) -> str:
    """The paginated run list as JSON, splicing in params/metrics/tags as stored."""
    results = []
    for row in page.rows:
        head = json.dumps(dict(zip(RUN_PAGE_KEYS, row[:9], strict=True)))[:-1]
        params, metrics, tags = row[9:]
        results.append(f'{head}, "params": {params}, "metrics": {metrics}, "tags": {tags}}}')

    def link(target: int) -> str | None:
        query = request.query_params.copy()
        query["page"] = target
        return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")

    envelope = json.dumps(
        {
            "count": page.count,
            "next": link(number + 1) if page.has_next else None,
            "previous": link(number - 1) if number > 1 else None,
        }
    )[:-1]
    return f'{envelope}, "results": [{", ".join(results)}]}}'


def _run_dict(run) -> dict:
    return {
        "run_id": run.run_id,
        "experiment_id": run.experiment.experiment_id,
        "experiment_name": run.experiment.name,
        "name": run.name,
        "status": run.status,
        "user_id": run.user_id,
        "start_time": run.start_time,
        "end_time": run.end_time,
        "lifecycle_stage": run.lifecycle_stage,
        "params": run.params,
        "metrics": run.metrics,
        "tags": run.tags,
    }


def _filter_error(exc: FilterError) -> Response:
    body = {"detail": "Invalid filter.", "filter": exc.message, "position": exc.position}
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


def _int_param(request, name: str, default=None):
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValidationError({name: "Expected an integer."}) from None


class ExperimentList(APIView):
    @extend_schema(responses=ExperimentSerializer(many=True), summary="Experiments you may view")
    def get(self, request):
        experiments = selectors.experiments_for(request.user)
        return Response(ExperimentSerializer(experiments, many=True).data)


class RunPagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


RUN_SEARCH_PARAMETERS = [
    OpenApiParameter("experiment", str, description="Experiment id(s), comma-separated"),
    OpenApiParameter(
        "filter", str, description="MLflow filter, e.g. metrics.f1 > 0.8 and params.a = 'x'"
    ),
    OpenApiParameter(
        "order_by", str, many=True, description="MLflow order-by, e.g. metrics.f1 DESC"
    ),
    OpenApiParameter("page_size", int, description="Runs per page, at most 1000"),
    OpenApiParameter("page", int),
    OpenApiParameter(
        "count",
        bool,
        description="true: always return the total in `count`. Otherwise `count` is null "
        "unless this is the last page (counting every match costs as much as the search).",
    ),
]


class RunList(APIView):
    pagination_class = RunPagination

    @extend_schema(
        parameters=RUN_SEARCH_PARAMETERS,
        responses=RunSerializer(many=True),
        summary="Search runs with MLflow's filter syntax",
    )
    def get(self, request):
        experiments = request.query_params.get("experiment", "")
        order_by = request.query_params.getlist("order_by")
        try:
            runs = selectors.search_runs(
                request.user,
                experiment_ids=[e for e in experiments.split(",") if e] or None,
                filter_text=request.query_params.get("filter", ""),
                order_by=order_by,
            )
        except FilterError as exc:
            return _filter_error(exc)

        page_size = min(
            _int_param(request, "page_size", RunPagination.page_size), RunPagination.max_page_size
        )
        number = _int_param(request, "page", 1)
        if page_size < 1 or number < 1:
            raise ValidationError({"page": "page and page_size start at 1."})
        with_count = request.query_params.get("count", "").lower() in ("1", "true", "yes")
        page = selectors.run_page(runs, page=number, page_size=page_size, with_count=with_count)
        return HttpResponse(
            _page_json(request, page, number, page_size), content_type="application/json"
        )


class RunDetail(APIView):
    @extend_schema(responses=RunDetailSerializer, summary="One run")
    def get(self, request, run_id):
        run = selectors.run_for(request.user, run_id)
        data = _run_dict(run)
        data["artifact_uri"] = run.artifact_uri
        data["metric_points"] = selectors.history_keys(run)
        return Response(data)


HISTORY_PARAMETERS = [
    OpenApiParameter("max_points", int, description="At most this many points (default 2000)"),
    OpenApiParameter("step_min", int, description="Zoom: first step"),
    OpenApiParameter("step_max", int, description="Zoom: last step"),
    OpenApiParameter("time_min", int, description="Zoom: first timestamp (ms)"),
    OpenApiParameter("time_max", int, description="Zoom: last timestamp (ms)"),
]


class MetricHistoryView(APIView):
    @extend_schema(
        parameters=HISTORY_PARAMETERS,
        responses=HistorySerializer,
        summary="A metric's history, downsampled (MinMax-LTTB)",
    )
    def get(self, request, run_id, key):
        run = selectors.run_for(request.user, run_id)
        series = selectors.metric_history(
            run,
            key,
            max_points=_int_param(request, "max_points", 2000),
            zoom=_zoom(request),
        )
        return Response(series.as_dict())


def _zoom(request) -> selectors.Zoom:
    """Zoom from step_min/step_max, or from time_min/time_max (ms since the epoch)."""
    time_min, time_max = _int_param(request, "time_min"), _int_param(request, "time_max")
    if time_min is not None or time_max is not None:
        return selectors.Zoom("time", time_min, time_max)
    return selectors.Zoom("step", _int_param(request, "step_min"), _int_param(request, "step_max"))


def _run_ids(request) -> list[str]:
    return [part.strip() for part in request.query_params.get("runs", "").split(",") if part]


class CompareView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("runs", str, description="2 to 50 run ids, comma-separated")],
        responses=inline_serializer(
            "Comparison",
            {
                "runs": RunSerializer(many=True),
                "params": serializers.ListField(child=serializers.DictField()),
                "metrics": serializers.ListField(child=serializers.DictField()),
            },
        ),
        summary="Compare 2 to 50 runs: differing params and best metrics",
    )
    def get(self, request):
        try:
            comparison = selectors.compare_runs(request.user, _run_ids(request))
        except ValueError as exc:
            raise ValidationError({"runs": str(exc)}) from None
        return Response(
            {
                "runs": [_run_dict(run) for run in comparison.runs],
                "params": comparison.params,
                "metrics": comparison.metrics,
            }
        )


class CompareHistoriesView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("runs", str, description="2 to 50 run ids, comma-separated"),
            OpenApiParameter("key", str, required=True),
            *HISTORY_PARAMETERS,
        ],
        responses=HistorySerializer(many=True),
        summary="One metric's history for several runs, for overlaid charts",
    )
    def get(self, request):
        key = request.query_params.get("key", "")
        if not key:
            raise ValidationError({"key": "Which metric?"})
        try:
            series = selectors.compare_histories(
                request.user,
                _run_ids(request),
                key,
                max_points=_int_param(request, "max_points"),
                zoom=_zoom(request),
            )
        except ValueError as exc:
            raise ValidationError({"runs": str(exc)}) from None
        return Response([s.as_dict() for s in series])
