"""Read-only admin views: every change goes through the services, which audit it."""

from django.contrib import admin

from apps.registry.models import (
    AliasAssignment,
    PromotionRequest,
    RegisteredModel,
    Webhook,
    WebhookDelivery,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RegisteredModel)
class RegisteredModelAdmin(ReadOnlyAdmin):
    list_display = ["name", "synced_at", "deleted_in_mlflow", "metadata_pending"]
    search_fields = ["name"]


@admin.register(PromotionRequest)
class PromotionRequestAdmin(ReadOnlyAdmin):
    list_display = ["pk", "model", "version", "target", "kind", "state", "retrying", "created_at"]
    list_filter = ["state", "kind", "target"]


@admin.register(AliasAssignment)
class AliasAssignmentAdmin(ReadOnlyAdmin):
    list_display = ["model", "alias", "version", "started_at", "ended_at", "how"]
    list_filter = ["how", "alias"]


@admin.register(Webhook)
class WebhookAdmin(ReadOnlyAdmin):
    list_display = ["url", "model", "active", "created_at"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["delivery_id", "event", "webhook", "state", "attempts", "response_status"]
    list_filter = ["state", "event"]
