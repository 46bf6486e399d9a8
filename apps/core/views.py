import csv
import json

from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from apps.core import health
from apps.core.models import AuditEntry, JobRun, Notification
from apps.core.notifications import mark_read
from apps.core.selectors import AuditFilterForm, audit_entries


@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request):
    checks = health.readiness()
    ready = all(check["ok"] for check in checks.values())
    return JsonResponse({"ready": ready, "checks": checks}, status=200 if ready else 503)


def home(request):
    unread = Notification.objects.filter(recipient=request.user, read_at__isnull=True)[:5]
    activity = AuditEntry.objects.all()
    if not request.user.has_perm("core.view_auditentry"):
        activity = activity.filter(actor=request.user)
    return render(
        request,
        "core/home.html",
        {
            "recent_notifications": unread,
            "activity": activity[:8],
            "services": health.service_status(),
        },
    )


def not_built(request, area):
    return render(request, "core/not_built.html", {"area": area})


@permission_required("core.view_auditentry", raise_exception=True)
def audit(request):
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    entries = audit_entries(filters).select_related(None)
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "core/audit.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


class _Echo:
    def write(self, value):
        return value


@permission_required("core.view_auditentry", raise_exception=True)
def audit_csv(request):
    form = AuditFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return JsonResponse({"errors": form.errors}, status=400)
    entries = audit_entries(form.cleaned_data if form.is_bound else {})
    writer = csv.writer(_Echo())
    header = [
        "id",
        "time",
        "actor",
        "action",
        "object_type",
        "object_id",
        "object",
        "before",
        "after",
        "source",
        "request_id",
        "entry_hash",
    ]

    def rows():
        yield writer.writerow(header)
        for e in entries.iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    e.id,
                    e.created_at.isoformat(),
                    e.actor_name,
                    e.action,
                    e.object_type,
                    e.object_id,
                    e.object_repr,
                    json.dumps(e.before),
                    json.dumps(e.after),
                    e.source,
                    e.request_id,
                    e.entry_hash,
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="audit.csv"'
    return response


def notifications(request):
    items = Notification.objects.filter(recipient=request.user)
    page = Paginator(items, 30).get_page(request.GET.get("page"))
    return render(request, "core/notifications.html", {"page": page})


@require_POST
def notifications_mark_read(request):
    raw_ids = request.POST.getlist("id")
    try:
        ids = [int(i) for i in raw_ids] if raw_ids else None
    except ValueError:
        return JsonResponse({"error": "id must be an integer"}, status=400)
    count = mark_read(user=request.user, notification_ids=ids)
    if request.htmx:
        return HttpResponse(status=204, headers={"HX-Refresh": "true"})
    return JsonResponse({"marked_read": count})


@permission_required("core.view_jobrun", raise_exception=True)
def jobs(request):
    page = Paginator(JobRun.objects.all(), 50).get_page(request.GET.get("page"))
    return render(request, "core/jobs.html", {"page": page})


def status_banner(request):
    return render(request, "core/partials/status_banner.html")


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return render(request, "core/404.html", status=404)


def server_error(request):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Internal error; it has been logged."}, status=500)
    return render(request, "core/500.html", status=500)
