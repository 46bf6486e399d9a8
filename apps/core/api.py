"""Core API: tokens, the signed-in user, notifications, the audit trail; the error handler."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import AllowAny, DjangoModelPermissions
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from apps.core.mlflow_gateway import MlflowError, MlflowUnavailable
from apps.core.models import AuditEntry, Notification
from apps.core.notifications import mark_read


def exception_handler(exc, context):
    """DRF's handler, plus MLflow failures as JSON (503 when unreachable, 400 otherwise)."""
    if isinstance(exc, MlflowUnavailable):
        return Response(
            {"detail": "MLflow is unreachable; try again shortly.", "error": str(exc)[:500]},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    if isinstance(exc, MlflowError):
        return Response(
            {"detail": str(exc)[:500], "error_code": exc.error_code},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, Http404):
        return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
    return drf_exception_handler(exc, context)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class ObtainTokenView(ObtainAuthToken):
    permission_classes = [AllowAny]

    @extend_schema(responses=TokenSerializer, summary="Exchange username and password for a token")
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    email = serializers.EmailField()
    roles = serializers.ListField(child=serializers.CharField())
    teams = serializers.ListField(child=serializers.CharField())


class MeView(APIView):
    serializer_class = MeSerializer

    @extend_schema(responses=MeSerializer, summary="The signed-in user, roles and teams")
    def get(self, request):
        groups = list(request.user.groups.select_related("team"))
        return Response(
            {
                "username": request.user.username,
                "email": request.user.email,
                "roles": [g.name for g in groups if not hasattr(g, "team")],
                "teams": [g.name for g in groups if hasattr(g, "team")],
            }
        )


class NotificationSerializer(serializers.ModelSerializer):
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "title", "body", "level", "link", "created_at", "read"]

    def get_read(self, obj) -> bool:
        return obj.read_at is not None


class NotificationList(generics.ListAPIView):
    serializer_class = NotificationSerializer

    def get_queryset(self):
        mine = Notification.objects.filter(recipient=self.request.user)
        if self.request.query_params.get("unread") in ("1", "true"):
            mine = mine.filter(read_at__isnull=True)
        return mine


class MarkReadSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(), required=False)


class MarkedReadSerializer(serializers.Serializer):
    marked_read = serializers.IntegerField()


class MarkReadView(APIView):
    serializer_class = MarkReadSerializer

    @extend_schema(
        request=MarkReadSerializer,
        responses=MarkedReadSerializer,
        summary="Mark notifications read (all if no ids)",
    )
    def post(self, request):
        payload = MarkReadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        count = mark_read(user=request.user, notification_ids=payload.validated_data.get("ids"))
        return Response({"marked_read": count})


class AuditEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "created_at",
            "actor_name",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "before",
            "after",
            "source",
            "request_id",
            "prev_hash",
            "entry_hash",
        ]
        read_only_fields = fields


class ViewOnlyModelPermissions(DjangoModelPermissions):
    perms_map = {**DjangoModelPermissions.perms_map, "GET": ["%(app_label)s.view_%(model_name)s"]}


class AuditEntryList(generics.ListAPIView):
    """Read-only: the trail has no create, update or delete endpoint."""

    serializer_class = AuditEntrySerializer
    permission_classes = [ViewOnlyModelPermissions]
    queryset = AuditEntry.objects.all()

    def get_queryset(self):
        entries = AuditEntry.objects.order_by("-id")
        for param, field in (
            ("actor", "actor_name"),
            ("action", "action"),
            ("object_type", "object_type"),
            ("object_id", "object_id"),
        ):
            value = self.request.query_params.get(param)
            if value:
                entries = entries.filter(**{field: value})
        return entries
