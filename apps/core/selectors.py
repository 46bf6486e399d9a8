"""Reads for the core pages: the audit trail with its filters."""

from datetime import datetime, time

from django import forms
from django.utils import timezone

from apps.core.models import AuditEntry, AuditSource


class AuditFilterForm(forms.Form):
    actor = forms.CharField(required=False, max_length=150)
    action = forms.CharField(required=False, max_length=80)
    object_type = forms.CharField(required=False, max_length=80, label="Object type")
    object_id = forms.CharField(required=False, max_length=200, label="Object id")
    source = forms.ChoiceField(required=False, choices=[("", "Any source"), *AuditSource.choices])
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            is_select = isinstance(field.widget, forms.Select)
            field.widget.attrs["class"] = "form-select" if is_select else "form-control"

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise forms.ValidationError("'since' must be on or before 'until'.")
        return data


def audit_entries(filters: dict):
    """Entries matching cleaned AuditFilterForm data, newest first."""
    entries = AuditEntry.objects.all()
    if filters.get("actor"):
        entries = entries.filter(actor_name__iexact=filters["actor"])
    if filters.get("action"):
        entries = entries.filter(action__icontains=filters["action"])
    if filters.get("object_type"):
        entries = entries.filter(object_type__icontains=filters["object_type"])
    if filters.get("object_id"):
        entries = entries.filter(object_id=filters["object_id"])
    if filters.get("source"):
        entries = entries.filter(source=filters["source"])
    if filters.get("since"):
        start = datetime.combine(filters["since"], time.min, tzinfo=timezone.get_current_timezone())
        entries = entries.filter(created_at__gte=start)
    if filters.get("until"):
        end = datetime.combine(filters["until"], time.max, tzinfo=timezone.get_current_timezone())
        entries = entries.filter(created_at__lte=end)
    return entries.order_by("-id")
