"""MLflow's limits on keys and values, and one-line reasons out of its exceptions (pure
functions: no mlflow import)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

PARAMS_PER_BATCH = 100  # MLflow's MAX_PARAMS_TAGS_PER_BATCH
METRICS_PER_BATCH = 1000  # MLflow's MAX_METRICS_PER_BATCH
KEY_LENGTH = 250  # MLflow's MAX_ENTITY_KEY_LENGTH
TAG_VALUE_LENGTH = 8000

_BAD_KEY_CHARS = re.compile(r"[^\w.\- :/]")


def clean_key(key: str) -> str:
    """A metric/param/tag key MLflow accepts: odd characters become ``_``, at most 250 chars."""
    return _BAD_KEY_CHARS.sub("_", str(key))[:KEY_LENGTH]


def flatten_params(params: Any, *, max_value_length: int = 6000) -> dict[str, str]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": "1"}``; values as JSON-ish text, cut to the limit.

    Pydantic models are dumped first. Lists stay one value (``[256, 256]``); empty mappings
    are kept as ``{}`` so that the option shows up at all.
    """
    out: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if hasattr(value, "model_dump"):
            value = value.model_dump(mode="json")
        if isinstance(value, Mapping) and value:
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
            return
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        if len(text) > max_value_length:
            text = text[: max_value_length - 1] + "…"
        out[clean_key(prefix)] = text

    walk("", params)
    return out


def chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def reason(e: BaseException) -> str:
    """One short line out of MLflow's multi-line, URL-laden exception texts."""
    text = str(e)
    for needle, short in (
        ("Connection refused", "connection refused"),
        ("timed out", "timed out"),
        ("Name or service not known", "unknown host"),
        ("Failed to establish a new connection", "cannot connect"),
    ):
        if needle in text:
            return short
    first = text.strip().splitlines()[0] if text.strip() else type(e).__name__
    return first[:300]


def is_connection_failure(e: BaseException) -> bool:
    return reason(e) in ("connection refused", "timed out", "unknown host", "cannot connect")
