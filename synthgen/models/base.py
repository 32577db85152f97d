"""The contract every synthesizer (tabular, imaging) honours, and the class-count arithmetic.

A synthesizer is fitted on the training split with a condition (the class label), then draws
exactly the requested number of samples per class. Its whole state is a flat dict of tensors
(saved as safetensors) plus a JSON-serialisable metadata dict: nothing is pickled.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from synthgen.errors import SamplingError
from synthgen.models.learned import Learned

# Called once per epoch with the epoch number (1-based) and that epoch's mean losses.
TrainCallback = Callable[[int, Mapping[str, float]], None]

if TYPE_CHECKING:
    import torch

BALANCE_MODES = ("equal", "fill")
# One call draws at most this many samples: beyond it a typo (an extra zero or three) would
# try to allocate terabytes. Larger samples are several calls with different seeds.
MAX_SAMPLES = 10_000_000


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
        epoch) is written there atomically every ``train.checkpoint_every`` epochs and when
        training is interrupted (Ctrl-C: the current step finishes, a checkpoint is written,
        then ``KeyboardInterrupt`` propagates). ``resume=True`` continues from the latest
        checkpoint there, ending in the same state as an uninterrupted run with the same seed.
        Under ``torchrun`` (see ``synthgen.distributed``) the networks are wrapped in
        DistributedDataParallel and each process trains on its shard of every batch.
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


def resolve_class_counts(
    train_counts: Mapping[str, int],
    *,
    n: int | None = None,
    balance: str | None = None,
    classes: Mapping[str, int] | None = None,
) -> dict[str, int]:
    """How many samples of each class to draw.

    - ``classes={"malignant": 300}``: exactly these counts (other classes get 0).
    - ``balance="equal"``: ``n`` split evenly across classes (remainder to the first classes).
    - ``balance="fill"``: each class gets what it lacks to match the largest training class;
      with ``n`` as well, the rest of ``n`` is spread evenly so real + synthetic stays balanced.
    - neither: ``n`` split in the training proportions (largest remainder).
    """
    counts = _resolve(train_counts, n=n, balance=balance, classes=classes)
    total = sum(counts.values())
    if total > MAX_SAMPLES:
        asked = f"--class {dict(classes)}" if classes else f"--n {n}" if n is not None else "--balance fill"
        raise SamplingError(
            f"{asked} asks for {total} samples; at most {MAX_SAMPLES} per call "
            "(draw more in several calls with different --seed values)"
        )
    return counts


def _resolve(train_counts, *, n, balance, classes) -> dict[str, int]:
    labels = list(train_counts)
    if classes:
        if n is not None or balance is not None:
            raise SamplingError("--class sets exact counts: do not combine it with --n or --balance")
        unknown = [c for c in classes if c not in train_counts]
        if unknown:
            raise SamplingError(
                f"class {unknown[0]!r} was never seen in training; known classes: {', '.join(labels)}"
            )
        counts = {label: int(classes.get(label, 0)) for label in labels}
        if sum(counts.values()) == 0:
            raise SamplingError("--class counts add up to 0: nothing to sample")
        return counts
    if balance is not None and balance not in BALANCE_MODES:
        raise SamplingError(f"--balance must be one of {', '.join(BALANCE_MODES)}, got {balance!r}")
    if n is not None and n < 1:
        raise SamplingError(f"--n must be a positive number of samples, got {n}")
    if balance == "fill":
        target = max(train_counts.values())
        counts = {label: target - train_counts[label] for label in labels}
        missing = sum(counts.values())
        if n is not None:
            if n < missing:
                raise SamplingError(
                    f"--n {n} is less than the {missing} samples --balance fill needs to match "
                    "the majority class"
                )
            extra = _split_evenly(n - missing, labels)
            counts = {label: counts[label] + extra[label] for label in labels}
        if sum(counts.values()) == 0:
            raise SamplingError("the training classes are already balanced: --balance fill has nothing to add")
        return counts
    if n is None:
        raise SamplingError("say how many samples: --n N, --balance fill, or --class LABEL=COUNT")
    if balance == "equal":
        return _split_evenly(n, labels)
    return _split_proportionally(n, train_counts)


def _split_evenly(n: int, labels: list[str]) -> dict[str, int]:
    base, rest = divmod(n, len(labels))
    return {label: base + (i < rest) for i, label in enumerate(labels)}


def _split_proportionally(n: int, weights: Mapping[str, int]) -> dict[str, int]:
    total = sum(weights.values())
    exact = {label: n * w / total for label, w in weights.items()}
    counts = {label: int(x) for label, x in exact.items()}
    by_remainder = sorted(exact, key=lambda label: exact[label] - counts[label], reverse=True)
    for label in by_remainder[: n - sum(counts.values())]:
        counts[label] += 1
    return counts
