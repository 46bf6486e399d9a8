from django.urls import path

from apps.experiments import views

app_name = "experiments"

urlpatterns = [
    path("", views.experiment_list, name="list"),
    path("sync/", views.sync_now, name="sync-now"),
    path("runs/", views.run_list, name="runs"),
    path("runs/<str:run_id>/", views.run_detail, name="run-detail"),
    path(
        "runs/<str:run_id>/artifacts/<path:path>",
        views.artifact_download,
        name="artifact-download",
    ),
    path("compare/", views.compare, name="compare"),
    path("compare.csv", views.compare_csv, name="compare-csv"),
]
