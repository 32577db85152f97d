"""What a request to the served generator may ask for, and the one-line answer when it can't.

Kept apart from ``serving.py`` (which MLflow executes as the model's code) so that the
tracker can build the signature at logging time without registering a model as a side effect.
Imports MLflow: import it lazily, like every other MLflow user in the package.

The signature declares ``class`` (text) and ``count`` (any type) as *optional* columns: MLflow
then lets a request without ``count``, with ``count: 2.5`` or ``count: "three"`` reach
``requested_counts``, which says in one line what is wrong, instead of MLflow's multi-line
schema message or a silent cast of 2.5 to 2 (what a ``long`` column does over HTTP; a
``double`` column refuses Python callers' int64 counts).
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

from synthgen.class_counts import checked_counts
from synthgen.errors import SamplingError

MAX_TABLE_ROWS = 100_000
MAX_IMAGE_VALUES = 20_000_000  # ≈ 200 MB of JSON per response: 4,882 images of 64², 610 of 32³
MAX_SAMPLES_ENV = "SYNTHGEN_SERVE_MAX_SAMPLES"


def request_signature():
    """MLflow signature: optional ``class`` (string) and ``count`` (any); param ``seed``."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema
    from mlflow.types.schema import AnyType

    inputs = Schema([ColSpec("string", "class", required=False),
                     ColSpec(AnyType(), "count", required=False)])  # fmt: skip
    return ModelSignature(inputs=inputs, params=ParamSchema([ParamSpec("seed", "long", 0)]))


def max_samples(synth: Any) -> int:
    """The most samples one request may ask of ``synth`` (``SYNTHGEN_SERVE_MAX_SAMPLES`` wins)."""
    if os.environ.get(MAX_SAMPLES_ENV):
        return int(os.environ[MAX_SAMPLES_ENV])
    if getattr(synth, "kind", None) != "image":
        return MAX_TABLE_ROWS
    config = synth.model_config_
    return max(1, MAX_IMAGE_VALUES // config.image_size**config.spatial_dims)


def requested_counts(model_input: Any, classes: list[str], limit: int | None = None) -> dict[str, int]:
    """``{label: count}`` in training order (0 for unlisted labels) from the request frame."""
    frame = pd.DataFrame(model_input)
    missing = [c for c in ("class", "count") if c not in frame.columns]
    if missing:
        raise SamplingError(
            f"request needs columns 'class' and 'count' (one row per class); missing {missing}, "
            f"got {list(frame.columns)}"
        )
    counts = checked_counts(zip(frame["class"], frame["count"]), classes, nothing="the requested")
    total = sum(counts.values())
    if limit is not None and total > limit:
        raise SamplingError(
            f"{total} samples asked for ({_listing(counts)}); one request may ask for at most "
            f"{limit}: split it over several requests with different seeds"
        )
    return counts


def _listing(counts: dict[str, int]) -> str:
    return ", ".join(f"{label}={n}" for label, n in counts.items() if n)


class BadRequest(MlflowException):
    """A request the model cannot answer: HTTP 400 whose message is this one line.

    MLflow's scoring server reassigns ``message`` to prepend the whole request frame (many
    lines, echoing the caller's data). The caller needs only the line saying what is wrong,
    so the first message set is kept and later assignments are ignored.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, error_code=INVALID_PARAMETER_VALUE)

    @property
    def message(self) -> str:
        return self._message

    @message.setter
    def message(self, value: str) -> None:
        self.__dict__.setdefault("_message", value)
