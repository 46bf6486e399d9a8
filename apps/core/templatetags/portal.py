import json

from django import template
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def pretty_json(value):
    if value is None:
        return ""
    return json.dumps(value, indent=1, sort_keys=True, default=str)


@register.simple_tag(takes_context=True)
def nav_active(context, url_name):
    match = getattr(context.get("request"), "resolver_match", None)
    if match is None:
        return ""
    namespace = url_name.split(":", 1)[0]
    # Every page of an app's own namespace lights its entry; core entries match exactly.
    same_area = namespace != "core" and match.namespace == namespace
    if same_area or match.view_name == url_name:
        return mark_safe(' active" aria-current="page')
    return ""
