"""``ImageSynthesizer``: fit the conditional image GAN on an ImageDataset, draw exact counts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from synthgen import distributed
from synthgen.class_counts import checked_counts
from synthgen.config import ImageModelConfig, TrainConfig, image_budget, with_backend_defaults
from synthgen.data.imaging import ImageDataset
from synthgen.errors import DataError
from synthgen.models.base import Synthesizer, TrainCallback
from synthgen.models.learned import Learned
from synthgen.models.checkpoints import open_checkpoints, under
from synthgen.models.imaging.checkpoint import run_fingerprint
from synthgen.models.imaging.diffaug import DiffAugment
from synthgen.models.imaging.networks import build_generator, latent_size
from synthgen.models.imaging.trainer import GanTrainer, memory_format
from synthgen.models.imaging.validation import ImageSnapshotScorer, carve_validation
from synthgen.models.training import loop
from synthgen.models.training.state import TrainingCheckpoints
from synthgen.runtime import configure_threads, resolve_device, seed_everything

SAMPLE_CHUNK = 1000  # images per generator call when sampling (bounds memory)


@dataclass
class SyntheticImages:
    """Generated images in the model's space: ``(N, 1, *spatial)`` float32 in [-1, 1]."""

    images: np.ndarray
    labels: list[str]
    condition: str = "label"

    def __len__(self) -> int:
        return len(self.labels)


class ImageSynthesizer(Synthesizer):
    """Class-conditional GAN for 2D slices/images or 3D volumes.

    Learned state: ``condition_``, ``class_counts_``, ``history_``, ``generator_`` (the EMA
    generator), ``reference_`` and ``transforms_`` (from the data, for writing outputs back).
    """

    kind: ClassVar[str] = "image"

    def __init__(self, model: ImageModelConfig | None = None, train: TrainConfig | None = None):
        self.model = model
        self.train = train

    # -- fitting ---------------------------------------------------------------------------------

    def fit(self, data: ImageDataset, condition: str | None = None, *,
            callback: TrainCallback | None = None, checkpoint_dir: str | Path | None = None,
            resume: bool = False):
        """Train on ``data`` (the training split).

        Checkpoints, ``resume``, Ctrl-C and torchrun behave as ``Synthesizer.fit`` describes;
        resuming with other data or settings than the checkpoint's is refused in one line.
        """
        config, train = self._resolve_configs(data)
        classes = data.classes
        index = {label: i for i, label in enumerate(classes)}
        labels = torch.tensor([index[label] for label in data.labels], dtype=torch.long)
        configure_threads()
        dist = distributed.current(train.device)  # workflow owns the process group
        store, saved = open_checkpoints(
            checkpoint_dir, run_fingerprint(data.images, labels, config, train, dist), resume)
        # The same seed everywhere: equal initial networks and the same epoch orders ...
        generator = seed_everything(train.seed)
        trainer = GanTrainer(config, train, len(classes), dist=dist,
                             augment=DiffAugment(flip_axis=left_right_axis(data.reference)))
        if dist.distributed:  # ... then each process its own latents and augmentations
            torch.manual_seed(distributed.rank_seed(train.seed, dist.rank))
        images, labels, scorer = _fit_part_and_scorer(data.images, labels, len(classes), config, train)
        budget = trainer.attach(images, labels, generator)
        checkpoints = None if store is None else TrainingCheckpoints(store, trainer, generator, dist)
        history = loop.train(
            trainer, budget, train, dist=dist, callback=callback, scorer=scorer,
            progress=checkpoints.restore(saved) if saved else None,
            save=None if checkpoints is None else checkpoints.save, desc="fit image GAN",
        )
        self.model_config_, self.train_config_ = config, train
        self.condition_ = condition or data.condition
        self.class_counts_ = data.class_counts()
        self.history_ = history
        self.reference_ = dict(data.reference, condition=self.condition_)
        self.transforms_ = list(data.transforms)
        self.generator_ = trainer.g_ema.eval()
        self.device_ = dist.device
        return self

    def _resolve_configs(self, data: ImageDataset) -> tuple[ImageModelConfig, TrainConfig]:
        size = int(data.images.shape[-1])
        config = self.model or ImageModelConfig(spatial_dims=data.spatial_dims, image_size=size)
        if config.image_size is None:  # follows the data, as loaded
            config = config.model_copy(update={"image_size": size})
        if config.spatial_dims != data.spatial_dims or config.image_size != size:
            raise DataError(
                f"model is {config.spatial_dims}D at {config.image_size} px but the data was "
                f"prepared as {data.spatial_dims}D at {size} px; load it with the same settings"
            )
        if len(data) == 0:
            raise DataError("no training images")
        train = with_backend_defaults(self.train or TrainConfig(), config)
        on_gpu = resolve_device(train.device).type == "cuda"
        return config, image_budget(train, len(data), on_gpu)

    # -- sampling --------------------------------------------------------------------------------

    @torch.no_grad()
    def generate(self, counts: Mapping[str, int], *, seed: int = 0) -> SyntheticImages:
        """Exactly ``counts[label]`` images per label, grouped by class in training order."""
        counts = checked_counts(counts, self.classes_)
        configure_threads()
        labels = [label for label in self.classes_ for _ in range(counts[label])]
        ids = torch.tensor([self.classes_.index(label) for label in labels], dtype=torch.long)
        # Latents from a CPU generator: the same seed gives the same images on any device.
        z = torch.randn(len(ids), self.generator_.latent_size,
                        generator=torch.Generator().manual_seed(seed))
        g = self.generator_.eval()
        out = [g(z[i:i + SAMPLE_CHUNK].to(self.device_), ids[i:i + SAMPLE_CHUNK].to(self.device_))
               .float().cpu() for i in range(0, len(ids), SAMPLE_CHUNK)]
        shape = (0, 1) + (self.model_config_.image_size,) * self.model_config_.spatial_dims
        images = torch.cat(out).numpy() if out else np.zeros(shape, dtype=np.float32)
        return SyntheticImages(images=images, labels=labels, condition=self.condition_)

    # -- state -----------------------------------------------------------------------------------

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return {f"generator.{k}": v.detach().cpu().contiguous()
                for k, v in self.generator_.state_dict().items()}

    def metadata(self) -> dict[str, Any]:
        return {
            "model": self.model_config_.model_dump(mode="json"),
            "train": self.train_config_.model_dump(mode="json"),
            "reference": self.reference_,
            "transforms": self.transforms_,
        }

    @classmethod
    def from_state(cls, metadata: Mapping[str, Any], tensors: Mapping[str, torch.Tensor], learned: Learned):
        config = ImageModelConfig.model_validate(metadata["model"])
        train = TrainConfig.model_validate(metadata["train"])
        self = cls(config, train)
        self.model_config_, self.train_config_ = config, train
        self.condition_ = learned.condition
        self.class_counts_ = dict(learned.class_counts)
        self.history_ = {k: list(v) for k, v in learned.history.items()}
        self.reference_ = dict(metadata["reference"])
        self.transforms_ = list(metadata.get("transforms", []))
        self.device_ = resolve_device(train.device)
        generator = build_generator(config, len(self.class_counts_))
        generator.load_state_dict(under("generator", tensors), strict=True)
        self.generator_ = (generator.to(self.device_, memory_format=memory_format(config.spatial_dims))
                           .eval().requires_grad_(False))
        return self


def _fit_part_and_scorer(images: torch.Tensor, labels: torch.Tensor, n_classes: int,
                         config: ImageModelConfig, train: TrainConfig):
    """The images the GAN trains on, and a scorer on the validation images carved out of them
    (``train.validation_share``, stratified); all images and no scorer when too few to score."""
    carved = carve_validation(labels.numpy(), train.validation_share, train.seed)
    if carved is None:
        return images, labels, None
    fit, val = (torch.from_numpy(i) for i in carved)
    scorer = ImageSnapshotScorer(images[fit], labels[fit], images[val], labels[val], n_classes,
                                 latent_size(config), seed=train.seed)
    return images[fit], labels[fit], scorer


def left_right_axis(reference: Mapping[str, Any]) -> int:
    """Tensor axis of left-right: the last for npz (rows x columns), else the first (RAS "R";
    PNG is read column-first). Flipping any other axis turns the anatomy over."""
    if reference.get("source_format") == "npz":
        return 1 + int(reference.get("spatial_dims", 2))
    return 2
