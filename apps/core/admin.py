from django.contrib import admin

from apps.core.models import AuditEntry, JobRun, Notification, Team


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the trail is append-only everywhere, the admin included."""

    list_display = ["id", "created_at", "actor_name", "action", "object_type", "object_id"]
    list_filter = ["action", "source"]
    search_fields = ["actor_name", "action", "object_id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["slug", "group", "description"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "recipient", "title", "level", "read_at"]


@admin.register(JobRun)
class JobRunAdmin(admin.ModelAdmin):
    list_display = ["created_at", "name", "status", "attempts", "finished_at"]
    readonly_fields = ["log"]
