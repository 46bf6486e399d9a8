from django.urls import path

from apps.experiments import api

urlpatterns = [
    path("experiments/", api.ExperimentList.as_view(), name="api-experiments"),
    path("runs/", api.RunList.as_view(), name="api-runs"),
    path("runs/<str:run_id>/", api.RunDetail.as_view(), name="api-run"),
    path(
        "runs/<str:run_id>/metrics/<path:key>/history/",
        api.MetricHistoryView.as_view(),
        name="api-run-metric-history",
    ),
    path("compare/", api.CompareView.as_view(), name="api-compare"),
    path("compare/histories/", api.CompareHistoriesView.as_view(), name="api-compare-histories"),
]
