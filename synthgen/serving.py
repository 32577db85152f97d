"""A fitted synthgen generator as an MLflow pyfunc model, logged as a *model from code*.

``synthgen.tracking`` logs this file (``python_model=<path to serving.py>``) with the synthgen
model folder as the artifact ``model``; MLflow runs this file on load, so nothing is
serialized with pickle and the weights are read by ``synthgen.models.artifact.load_model`` (safetensors,
checksum-verified). The loading environment needs synthgen installed
(``mlflow models serve -m models:/<name>/<version> --env-manager local``).

Request: a DataFrame with one row per class, columns ``class`` (the label as text) and
``count`` (how many samples of it); classes not listed get none; repeated classes add up.
Optional param ``seed`` (default 0): the same request and seed give the same samples. A request
the model cannot answer (unknown class, a count that is not a whole number >= 0, more samples
than ``serving_contract.max_samples`` allows, a missing column) is HTTP 400 with one line.

Response: tabular models return the synthetic rows (same columns as the training table,
condition column included). Image models return one row per image: ``label``, ``shape`` (the
image's array shape, channel first) and ``pixels`` (the values flattened in C order), so
``np.asarray(row.pixels).reshape(row.shape)`` rebuilds the image.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel

from synthgen.errors import SamplingError
from synthgen.serving_contract import BadRequest, max_samples, requested_counts

__all__ = ["SynthgenGenerator", "requested_counts", "samples_to_frame"]


class SynthgenGenerator(PythonModel):
    """Draws exactly the requested number of samples per class from a fitted synthesizer."""

    def load_context(self, context) -> None:
        from synthgen.models.artifact import load_model

        self.synth, self.document = load_model(Path(context.artifacts["model"]))

    # The DataFrame hint tells MLflow that the logged signature (not the hint) validates input.
    def predict(
        self, context, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        try:
            counts = requested_counts(model_input, self.synth.classes_, max_samples(self.synth))
        except SamplingError as e:
            raise BadRequest(str(e)) from None  # HTTP 400 with this one line, no traceback
        seed = int((params or {}).get("seed", 0))
        return samples_to_frame(self.synth.generate(counts, seed=seed), counts)


def samples_to_frame(samples: Any, counts: Mapping[str, int]) -> pd.DataFrame:
    """A DataFrame as is; images (array, ``(images, labels)`` or a dict of both) one per row."""
    if isinstance(samples, pd.DataFrame):
        return samples.reset_index(drop=True)
    labels = None
    if hasattr(samples, "images") and hasattr(samples, "labels"):  # ImageSynthesizer's output
        samples, labels = samples.images, samples.labels
    elif isinstance(samples, Mapping):
        samples, labels = samples["images"], samples.get("labels")
    elif isinstance(samples, tuple) and len(samples) == 2:
        samples, labels = samples
    images = _numpy(samples)
    if labels is None:  # generate() draws the classes in the order of ``counts``
        labels = [label for label, n in counts.items() for _ in range(n)]
    labels = [str(x) for x in np.asarray(_numpy(labels)).tolist()]
    return pd.DataFrame(
        {
            "label": labels,
            "shape": [list(img.shape) for img in images],
            "pixels": [img.astype(np.float32).ravel().tolist() for img in images],
        }
    )


def _numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # torch tensor
        x = x.detach().cpu().numpy()
    return np.asarray(x)


mlflow.models.set_model(SynthgenGenerator())
