"""``metrics.json``: every number, the verdicts with their severity, the labelled headline."""

from __future__ import annotations

import json
import math
from typing import Any

from synthgen.evaluation.findings import Findings


def _json_safe(value: Any) -> Any:
    """NaN/inf are not JSON: write them as null. Numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def metrics_document(findings: Findings) -> dict[str, Any]:
    return _json_safe({
        "meta": findings.meta,
        "class_counts": findings.class_counts,
        "verdicts": {k: {"severity": v.severity.value, "text": v.text}
                     for k, v in findings.verdicts.items()},
        "warnings": findings.warnings,
        "headline": [{"key": h.key, "label": h.label, "value": h.value,
                      "direction": h.direction.value,
                      "interval": list(h.interval) if h.interval else None}
                     for h in findings.headline],
        "metrics": findings.metrics,
    })


def render_metrics_json(findings: Findings) -> str:
    return json.dumps(metrics_document(findings), indent=2, allow_nan=False) + "\n"
