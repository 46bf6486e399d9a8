from django.urls import path

from apps.core import views

app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
    path("deployments/", views.not_built, {"area": "Deployments"}, name="deployments"),
    path("abtests/", views.not_built, {"area": "A/B tests"}, name="abtests"),
    path("monitoring/", views.not_built, {"area": "Monitoring"}, name="monitoring"),
    path("audit/", views.audit, name="audit"),
    path("audit/export.csv", views.audit_csv, name="audit-csv"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_mark_read, name="notifications-read"),
    path("jobs/", views.jobs, name="jobs"),
    path("status/banner/", views.status_banner, name="status-banner"),
]
