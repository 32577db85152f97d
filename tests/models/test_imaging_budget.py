"""Image GAN sizing: the step/time budget from the data, native sides, partial last epoch."""

from __future__ import annotations

import pytest
import torch

from synthgen.config import IMAGE_BUDGET, ImageModelConfig, TrainConfig, image_budget
from synthgen.errors import UserError
from synthgen.modalities.imaging import native_size
from synthgen.models.imaging.networks import build_networks, levels, supported_size
from synthgen.models.imaging.synthesizer import ImageSynthesizer
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

