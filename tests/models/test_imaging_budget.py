"""Image GAN sizing: the step/time budget from the data, native sides, partial last epoch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from synthgen.config import IMAGE_BUDGET, ImageModelConfig, TrainConfig, image_budget
from synthgen.data.imaging import ImageDataset
from synthgen.errors import UserError
from synthgen.modalities.imaging import native_size
from synthgen.models.imaging.networks import build_networks, levels, supported_size
from synthgen.models.imaging.synthesizer import ImageSynthesizer
from synthgen.models.imaging.validation import ImageSnapshotScorer, carve_validation
from tiny_images import tiny_dataset


def test_budget_follows_data_size_and_device():
    cpu = image_budget(TrainConfig(batch_size=64), 1187, on_gpu=False)
    assert cpu.max_steps == min(150 * (1187 // 64), 3000) and cpu.max_minutes == IMAGE_BUDGET["cpu_minutes"]
    gpu = image_budget(TrainConfig(batch_size=64), 100_000, on_gpu=True)
    assert gpu.max_steps == IMAGE_BUDGET["max_steps_gpu"] and gpu.max_minutes is None
    assert image_budget(TrainConfig(batch_size=64), 40, on_gpu=False).max_steps == IMAGE_BUDGET["min_steps"]
    # Whatever the user sized stays as it is.
    asked = TrainConfig(epochs=3)
    assert image_budget(asked, 1187, on_gpu=False) == asked


@pytest.mark.parametrize("shapes,dims,side", [
    ([(28, 28)] * 3, 2, 28),            # MedMNIST keeps its grid
    ([(24, 24, 24)] * 2, 3, 24),        # small MRI patches too
    ([(28, 28), (32, 32)], 2, 64),      # mixed shapes: resized to the default
    ([(181, 217)], 2, 64),              # not square
    ([(256, 256)], 2, 64),              # over the 2D cap
    ([(30, 30)], 2, 64),                # a side the GAN cannot make without resampling
    ([], 3, 32),                        # unknown (resampled first)
])
def test_native_size(shapes, dims, side):
    assert native_size(shapes, dims) == side


@pytest.mark.parametrize("size,dims", [(28, 2), (24, 3), (32, 2), (8, 2)])
def test_networks_make_native_sides(size, dims):
    g, d = build_networks(ImageModelConfig(spatial_dims=dims, image_size=size, latent_dim=8,
                                           base_channels=4), num_classes=2)
    y = torch.tensor([0, 1])
    x = g(torch.randn(2, 8), y)
    assert x.shape == (2, 1) + (size,) * dims
    assert d(x, y).shape == (2,)


def test_power_of_two_sides_keep_their_old_depth():
    assert [levels(s) for s in (8, 16, 32, 64, 128)] == [1, 2, 3, 4, 5]
    assert not supported_size(30)
    with pytest.raises(UserError):
        levels(30)


def test_max_steps_ends_inside_an_epoch_and_records_steps():
    model = ImageModelConfig(spatial_dims=2, image_size=16, latent_dim=8, base_channels=4)
    torch.set_num_threads(1)
    synth = ImageSynthesizer(model, TrainConfig(max_steps=7, batch_size=8, progress=False, device="cpu",
                                                validate_every=3)).fit(tiny_dataset(), "shape")
    # 24 images, batch 8: 3 steps an epoch, so 7 steps are 2 epochs and a third of one; a
    # round every 3 steps (the last takes what is left).
    assert synth.history_["step"] == [3.0, 6.0, 7.0]
    assert len(synth.history_["loss_d"]) == 3



# -- snapshot selection on validation images (issue 13) ---------------------------------------


def varied_shapes(n: int = 240, size: int = 16, seed: int = 0) -> ImageDataset:
    """Discs ("a") and squares ("b") of varying size and place: a set with modes to cover."""
    g = torch.Generator().manual_seed(seed)
    grid = torch.stack(torch.meshgrid(*[torch.linspace(-1, 1, size)] * 2, indexing="ij"))
    images, labels = [], []
    for i in range(n):
        centre = (torch.rand(2, 1, 1, generator=g) - 0.5) * 0.8
        radius = 0.3 + 0.4 * torch.rand(1, generator=g)
        d = grid - centre
        disc = i % 3 != 0
        inside = (d**2).sum(0) < radius**2 if disc else (d.abs() < radius).all(0)
        images.append(torch.where(inside, 0.8, -1.0))
        labels.append("a" if disc else "b")
    x = torch.stack(images).unsqueeze(1)
    x = (x + 0.05 * torch.randn(x.shape, generator=g)).clamp(-1, 1)
    base = tiny_dataset(n=n)
    return ImageDataset(images=x, labels=labels, patient_ids=base.patient_ids, item_ids=base.item_ids,
                        source_format="nifti", spatial_dims=2, condition="shape",
                        reference=base.reference, transforms=base.transforms)


def test_validation_images_come_out_of_train_stratified():
    labels = np.array([0] * 200 + [1] * 100)
    fit, val = carve_validation(labels, 0.15, seed=0)
    assert len(val) == 45 and len(fit) == 255 and not set(fit) & set(val)
    assert (labels[val] == 1).sum() == 15  # each class keeps its share
    assert carve_validation(labels[:60], 0.15, seed=0) is None  # 9 per class: too few to score
    # 30 and 8 validation images: the small class could not be scored, so nothing is held out
    assert carve_validation(np.array([0] * 200 + [1] * 50), 0.15, seed=0) is None
    assert carve_validation(labels, 0.0, seed=0) is None


@pytest.fixture(scope="module")
def scored_image_fit():
    torch.set_num_threads(1)
    model = ImageModelConfig(spatial_dims=2, image_size=16, latent_dim=16, base_channels=8,
                             generator_lr=1e-3, discriminator_lr=1e-3)
    train = TrainConfig(max_steps=300, validate_every=50, batch_size=32, seed=0, progress=False,
                        device="cpu", patience=0)
    return ImageSynthesizer(model, train).fit(varied_shapes())


def test_image_validation_score_improves_and_the_best_snapshot_is_kept(scored_image_fit):
    h = scored_image_fit.history_
    assert h["step"] == [50.0 * k for k in range(1, 7)]
    assert max(h["val_score"]) > h["val_score"][0] + 0.2, h["val_score"]
    assert max(h["val_coverage"]) > h["val_coverage"][0] + 0.3, h["val_coverage"]  # modes found
    # the generator kept scores what its round scored: the best one, not the last
    data = varied_shapes()
    labels = np.array([scored_image_fit.classes_.index(label) for label in data.labels])
    fit, val = carve_validation(labels, 0.15, seed=0)
    y = torch.from_numpy(labels)
    scorer = ImageSnapshotScorer(data.images[fit], y[fit], data.images[val], y[val], 2, 16, seed=0)
    assert scorer(scored_image_fit.generator_)["val_score"] == pytest.approx(max(h["val_score"]))
