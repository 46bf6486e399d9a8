from django.urls import path

from apps.core import api

urlpatterns = [
    path("auth/token/", api.ObtainTokenView.as_view(), name="api-token"),
    path("me/", api.MeView.as_view(), name="api-me"),
    path("notifications/", api.NotificationList.as_view(), name="api-notifications"),
    path("notifications/read/", api.MarkReadView.as_view(), name="api-notifications-read"),
    path("audit/", api.AuditEntryList.as_view(), name="api-audit"),
]
