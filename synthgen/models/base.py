"""The contract every synthesizer (tabular, imaging) honours.

A synthesizer is fitted on the training split with a condition (the class label), then draws
exactly the requested number of samples per class. Its whole state is a flat dict of tensors
(saved as safetensors) plus a JSON-serialisable metadata dict: nothing is pickled.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from synthgen.class_counts import resolve_class_counts
from synthgen.models.learned import Learned

# Called once per epoch with the epoch number (1-based) and that epoch's mean losses.
TrainCallback = Callable[[int, Mapping[str, float]], None]

if TYPE_CHECKING:
    import torch


class Synthesizer(abc.ABC):
    """Base class: ``fit`` learns, ``sample`` resolves counts, ``generate`` draws them.

    Learned state (set by ``fit`` or ``from_state``) ends in ``_``:
      condition_      name of the condition column / label
      class_counts_   {label as str: count in the training split}, in a stable label order
      history_        {loss name: [value per epoch]}
    """

    kind: ClassVar[str]

    condition_: str
    class_counts_: dict[str, int]
    history_: dict[str, list[float]]

    @abc.abstractmethod
    def fit(
        self,
        data: Any,
        condition: str,
        *,
        callback: TrainCallback | None = None,
        checkpoint_dir: Any = None,
        resume: bool = False,
    ):
        """Train on ``data`` (the training split only); return ``self``.

        With ``checkpoint_dir``, the full training state (weights, optimizers, EMA, RNG states,
        position) is written there atomically every ``train.checkpoint_every`` rounds and when
        training is interrupted (Ctrl-C: the current step finishes, a checkpoint is written,
        then ``KeyboardInterrupt`` propagates). ``resume=True`` continues from the latest
        checkpoint there, ending in the same state as an uninterrupted run with the same seed.
        Under ``torchrun``, once the process group is joined (``synthgen.distributed.setup``,
        which ``synthgen.fit`` calls), the networks are wrapped in DistributedDataParallel and
        each process trains on its shard of every batch.
        """

    @abc.abstractmethod
    def generate(self, counts: Mapping[str, int], *, seed: int = 0) -> Any:
        """Draw exactly ``counts[label]`` samples of each label, deterministically for a seed."""

    @abc.abstractmethod
    def state_tensors(self) -> dict[str, torch.Tensor]:
        """All weights needed to sample, flat and contiguous, for safetensors."""

    @abc.abstractmethod
    def metadata(self) -> dict[str, Any]:
        """Everything else needed to rebuild the synthesizer (not ``Learned``), JSON-serialisable."""

    @classmethod
    @abc.abstractmethod
    def from_state(cls, metadata: Mapping[str, Any], tensors: Mapping[str, torch.Tensor], learned: Learned):
        """Rebuild a fitted synthesizer from ``metadata()``, ``state_tensors()`` and ``learned()``."""

    def learned(self) -> Learned:
        return Learned(self.condition_, dict(self.class_counts_), dict(self.history_))

    def save(self, path, extra: Mapping[str, Any] | None = None):
        """Write the model folder atomically (safetensors + model.json); returns its path."""
        from pathlib import Path

        from synthgen.atomic import staged_dir
        from synthgen.models.artifact import write_model

        path = Path(path)
        with staged_dir(path) as tmp:
            write_model(tmp, self, {"name": path.name, **dict(extra or {})})
        return path

    @property
    def classes_(self) -> list[str]:
        return list(self.class_counts_)

    def sample(
        self,
        n: int | None = None,
        *,
        balance: str | None = None,
        classes: Mapping[str, int] | None = None,
        seed: int = 0,
    ) -> Any:
        """Sample ``n`` rows/images; see :func:`resolve_class_counts` for the options."""
        counts = resolve_class_counts(self.class_counts_, n=n, balance=balance, classes=classes)
        return self.generate(counts, seed=seed)
