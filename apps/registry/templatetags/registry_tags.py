from django import template

register = template.Library()

# Metrics where a smaller value is the better one (their deltas are coloured the other way).
LOWER_IS_BETTER = ("loss", "error", "rmse", "mae", "mse", "time", "latency")


@register.filter
def metric(value):
    """A metric value with four decimals (or four significant digits when large), or a dash."""
    if value is None or value == "":
        return "—"
    value = float(value)
    return f"{value:.4f}" if abs(value) < 1000 else f"{value:.4g}"


@register.filter
def signed(value):
    if value is None:
        return ""
    return f"{float(value):+.4f}"


@register.filter
def delta_class(value, name=""):
    """delta-up for an improvement, delta-down for a regression, by the metric's direction."""
    if value is None or abs(float(value)) < 1e-9:
        return "delta-flat"
    better = float(value) > 0
    if any(word in str(name).lower() for word in LOWER_IS_BETTER):
        better = not better
    return "delta-up" if better else "delta-down"
