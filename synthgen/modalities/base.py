"""The adapter contract between the workflow and a data modality."""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from synthgen.config import DataConfig, EvalConfig, TrainConfig
from synthgen.models.run_document import RunDocument


@dataclass
class Loaded:
    """Validated data ready to split: ``payload`` is a DataFrame or an image dataset."""

    payload: Any
    labels: list[str]
    groups: list[str] | None = None  # patient ids: splits keep a patient's items together
    fixed_test: np.ndarray | None = None  # a test split that came with the data (.npz)
    description: dict[str, Any] | None = None  # recorded in model.json (e.g. transform chain)
    notes: list[str] = field(default_factory=list)  # what reading changed, said once to the user


class Modality(abc.ABC):
    name: str

    @abc.abstractmethod
    def load(self, data: DataConfig, model: Any) -> Loaded:
        """Read and validate ``data.path``; one-line DataError on anything unusable."""

    @abc.abstractmethod
    def subset(self, payload: Any, index: np.ndarray) -> Any: ...

    @abc.abstractmethod
    def new_synthesizer(self, model: Any, train: TrainConfig, data: DataConfig) -> Any: ...

    @abc.abstractmethod
    def fit(self, synth: Any, train_payload: Any, condition: str, data: DataConfig, callback, *,
            checkpoint_dir: Path | None = None, resume: bool = False) -> Any: ...

    # -- the real splits, cached beside the run folder at fit time (see workflow.split_cache) --
    split_suffix: str

    @abc.abstractmethod
    def write_split(self, part: Any, path: Path, doc: RunDocument) -> None:
        """One real split as sample and evaluate use it: what the model was fitted on, never
        a column or an identifier the fit left out."""

    @abc.abstractmethod
    def read_split(self, path: Path, doc: RunDocument) -> Any:
        """A split written by ``write_split``, as ``subset`` of the loaded data gives it."""

    @abc.abstractmethod
    def default_output(self, model_dir: Path, doc: RunDocument) -> Path:
        """Where samples go without ``--out``: same format as the input."""

    def check_output(self, out: Path, doc: RunDocument) -> None:
        """Refuse an ``--out`` whose form does not fit this modality (before anything runs)."""

    @abc.abstractmethod
    def write_samples(self, samples: Any, out: Path, doc: RunDocument, mark_synthetic: bool) -> list[Path]: ...

    @abc.abstractmethod
    def read_samples(self, path: Path, doc: RunDocument) -> Any:
        """Read a written sample back, as the evaluation expects it."""

    @abc.abstractmethod
    def concat(self, parts: list[Any]) -> Any: ...

    @abc.abstractmethod
    def labels_of(self, samples: Any, doc: RunDocument) -> list[str]:
        """The class label (as str) of every sample, in order."""

    @abc.abstractmethod
    def privacy_keep_mask(self, train: Any, holdout: Any, samples: Any, doc: RunDocument) -> tuple[np.ndarray, float]:
        """Which synthetic samples are far enough from every training item to export."""

    @abc.abstractmethod
    def previews(self, samples: Any, doc: RunDocument) -> dict[str, bytes]:
        """Small files (name -> bytes) that show what the sample looks like."""

    # True: when a sample lacks a class, evaluate also gets ``splits["balanced"]``, a balanced
    # draw from the model for the synthetic-only (TSTR) arm.
    balanced_tstr: bool = False
    # True: ``sample`` also keeps the sample as the model drew it (``write_split``), and
    # ``evaluate`` judges that: written scans went back to the input's grid, dtype and
    # intensities, and reading them again would not give the model's images back. False: the
    # written file is judged (a table's rows are what the user gets).
    evaluate_as_drawn: bool = False

    @abc.abstractmethod
    def evaluate(
        self,
        splits: Mapping[str, Any],
        synthetic: Any,
        doc: RunDocument,
        config: EvalConfig,
        progress: Callable[[str], None] | None,
        cache_dir: Path | None = None,
    ) -> Any:
        """Findings of ``synthetic`` against the saved splits; ``cache_dir`` (in the run folder)
        may keep what does not depend on the sample (e.g. a trained image encoder)."""
