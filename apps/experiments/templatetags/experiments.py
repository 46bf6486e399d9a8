from datetime import datetime

from django import template
from django.utils.html import format_html

register = template.Library()


@register.filter
def get_item(mapping, key):
    return (mapping or {}).get(key)


@register.filter
def metric(value):
    """A metric value at a readable precision (4 significant digits, small or large)."""
    if value is None:
        return "—"
    if isinstance(value, float):
        if value != value:
            return "NaN"
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.3e}"
    return value


@register.filter
def duration(seconds):
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


@register.simple_tag
def cell(column, value):
    """One runs-table cell, formatted by what the column holds."""
    if value is None or value == "":
        return format_html('<span class="text-muted">—</span>')
    if column.group == "metrics":
        return format_html('<span class="tabular">{}</span>', metric(value))
    if column.key == "status":
        return format_html(
            '<span class="run-status run-status-{}">{}</span>', value.lower(), value.title()
        )
    if column.key == "duration":
        return duration(value)
    if isinstance(value, datetime):
        return format_html(
            '<span title="{}">{}</span>', value.isoformat(), value.strftime("%Y-%m-%d %H:%M")
        )
    return value


@register.simple_tag
def status_badge(status):
    return format_html(
        '<span class="run-status run-status-{}">{}</span>', status.lower(), status.title()
    )
