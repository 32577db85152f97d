"""An imbalanced-learn compatible over-sampler backed by the conditional tabular GAN.

    from imblearn.pipeline import Pipeline
    pipe = Pipeline([("gan", GANOversampler(epochs=300)), ("clf", HistGradientBoostingClassifier())])

``fit_resample(X, y)`` fits a synthesizer on (X, y) and appends, per minority class, the
synthetic rows it lacks to match the majority (``balance="fill"``), like RandomOverSampler.
With ``synthetic_share=0.3`` (or ``{"malignant": 0.5}``) it appends instead as many synthetic
rows as make that share of each class synthetic, as ``synthgen.data.mixing.MixedScanDataset`` does for scans.
The appended rows come last; ``synthetic_mask_`` marks them, to weight them in a loss.
Samplers only act during ``fit``: at predict time the pipeline passes data straight through.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

_LABEL = "__synthgen_label__"


class GANOversampler(BaseEstimator):
    _estimator_type = "sampler"

    def __init__(self, *, epochs: int | None = None, max_steps: int | None = None, batch_size: int | None = None,
                 random_state: int = 0, device: str = "auto", progress: bool = False,
                 model_options: dict | None = None, synthetic_share: float | dict | None = None):
        self.epochs = epochs
        self.max_steps = max_steps
        self.batch_size = batch_size
        self.random_state = random_state
        self.device = device
        self.progress = progress
        self.model_options = model_options
        self.synthetic_share = synthetic_share

    def fit(self, X: Any, y: Any) -> "GANOversampler":
        self.fit_resample(X, y)
        return self

    def fit_resample(self, X: Any, y: Any):
        from synthgen.api import fit

        frame, as_array = self._frame(X)
        y = np.asarray(y)
        labels = pd.Series(y, name=_LABEL)
        if len(labels) != len(frame):
            raise ValueError(f"X has {len(frame)} rows but y has {len(labels)}")
        data = frame.assign(**{_LABEL: labels.to_numpy()})
        self.synthesizer_ = fit(
            data, _LABEL, epochs=self.epochs, max_steps=self.max_steps, batch_size=self.batch_size,
            seed=self.random_state, device=self.device, progress=self.progress, **(self.model_options or {}),
        )
        extra = self._draw(labels)
        self.n_synthetic_ = len(extra)
        self.synthetic_mask_ = np.arange(len(frame) + len(extra)) >= len(frame)
        X_res = pd.concat([frame, extra.drop(columns=[_LABEL])], ignore_index=True)
        y_res = np.concatenate([y, np.asarray(extra[_LABEL].tolist(), dtype=y.dtype)])
        return (X_res.to_numpy() if as_array else X_res), y_res

    def _draw(self, labels: pd.Series) -> pd.DataFrame:
        if self.synthetic_share is None:
            return self.synthesizer_.sample(balance="fill", seed=self.random_state)
        from synthgen.data.synthetic_share import synthetic_counts

        real = labels.astype(str).value_counts()
        real_counts = {c: int(real.get(c, 0)) for c in self.synthesizer_.classes_}
        counts = synthetic_counts(real_counts, self.synthetic_share)
        return self.synthesizer_.generate(counts, seed=self.random_state)

    @staticmethod
    def _frame(X: Any) -> tuple[pd.DataFrame, bool]:
        if isinstance(X, pd.DataFrame):
            return X.reset_index(drop=True), False
        array = np.asarray(X)
        if array.ndim != 2:
            raise ValueError(f"X must be 2-D, got shape {array.shape}")
        return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])]), True
