from django import template

register = template.Library()


@register.filter
def metric(value):
    """A metric value with four significant digits, or a dash."""
    if value is None or value == "":
        return "—"
    return f"{float(value):.4g}"


@register.filter
def signed(value):
    if value is None:
        return ""
    return f"{float(value):+.4f}"


@register.filter
def delta_class(value):
    if value is None or abs(float(value)) < 1e-9:
        return "delta-flat"
    return "delta-up" if float(value) > 0 else "delta-down"
