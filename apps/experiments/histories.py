"""Packing metric histories into compact arrays and downsampling them for charts.

Pure numpy and tsdownsample; no Django. A history is a POINT_DTYPE record array
sorted by (step, timestamp).
"""

import numpy as np
from tsdownsample import MinMaxLTTBDownsampler, NaNMinMaxLTTBDownsampler

from apps.experiments.models import INDEX_STRIDE, POINT_DTYPE

OVERVIEW_POINTS = 2000


def pack_rows(rows) -> np.ndarray:
    """Turn (step, timestamp, value) tuples into a sorted POINT_DTYPE array."""
    points = np.array(rows, dtype=POINT_DTYPE) if rows else np.empty(0, dtype=POINT_DTYPE)
    points.sort(order=["step", "timestamp"], kind="stable")
    return points


def unpack(raw: bytes | memoryview) -> np.ndarray:
    return np.frombuffer(bytes(raw), dtype=POINT_DTYPE)


def step_index(points: np.ndarray) -> np.ndarray:
    """Every INDEX_STRIDE-th step: enough to locate any step range in the packed array."""
    return np.ascontiguousarray(points["step"][::INDEX_STRIDE])


def downsample(points: np.ndarray, max_points: int) -> np.ndarray:
    """At most `max_points` points that keep the shape and the extremes of the series.

    MinMaxLTTB (Van Der Donckt et al., 2023): a min-max preselection of 4x the target
    followed by Largest-Triangle-Three-Buckets, so peaks and dips survive the reduction.
    """
    if len(points) <= max_points:
        return points
    x = np.ascontiguousarray(points["step"])
    if not np.all(x[1:] > x[:-1]):
        # Repeated steps (several values at one step): rank is the only monotone x-axis.
        x = np.arange(len(points))
    values = np.ascontiguousarray(points["value"])
    sampler = NaNMinMaxLTTBDownsampler() if np.isnan(values).any() else MinMaxLTTBDownsampler()
    keep = sampler.downsample(x, values, n_out=max(3, max_points))
    return points[np.sort(keep)]


def slice_bounds(index: np.ndarray, count: int, step_min, step_max) -> tuple[int, int]:
    """Record offsets [start, stop) that certainly contain every step in [step_min, step_max].

    `index` holds every INDEX_STRIDE-th step of the sorted history; the slice may include
    up to one stride of extra points at each end, which the caller trims.
    """
    start, stop = 0, count
    if step_min is not None:
        start = max(0, (int(np.searchsorted(index, step_min, side="left")) - 1) * INDEX_STRIDE)
    if step_max is not None:
        stop = min(count, int(np.searchsorted(index, step_max, side="right")) * INDEX_STRIDE)
    return start, max(start, stop)


SIGNIFICANT_DIGITS = 10


def as_series(points: np.ndarray) -> dict:
    """JSON-ready columns; NaN becomes None (JSON has no NaN).

    Values keep 10 significant digits, far below what a chart shows, which keeps a
    2,000-point response under 100 KB.
    """
    cleaned = [
        None if v != v else float(f"{v:.{SIGNIFICANT_DIGITS}g}") for v in points["value"].tolist()
    ]
    return {
        "steps": points["step"].tolist(),
        "timestamps": points["timestamp"].tolist(),
        "values": cleaned,
    }
