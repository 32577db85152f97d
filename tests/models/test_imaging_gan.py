"""The conditional image GAN: tiny 2D and 3D fits, exact counts, seeds, save/load, checkpoints."""

from __future__ import annotations

import json
import os
import signal

import numpy as np
import pytest
import torch

from synthgen.config import ImageModelConfig, TrainConfig
from synthgen.errors import DataError, SamplingError, UserError
from synthgen.distributed import DistInfo
from synthgen.models.artifact import load_model, write_model
from synthgen.models.checkpoints import CheckpointDir
from synthgen.models.training.state import join_state
from synthgen.models.imaging.diffaug import DiffAugment
from synthgen.models.imaging.networks import latent_size, levels
from synthgen.models.imaging.synthesizer import ImageSynthesizer
from synthgen.models.imaging.trainer import GanTrainer
from tiny_images import tiny_dataset


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors run fastest on one thread, and test runners share the cores."""
    import synthgen.models.imaging.synthesizer as module

    before, original = torch.get_num_threads(), module.configure_threads
    module.configure_threads = lambda: torch.set_num_threads(1)
    yield
    module.configure_threads = original
    torch.set_num_threads(before)


def tiny_synth(dims=2, size=16, epochs=2, **train):
    model = ImageModelConfig(spatial_dims=dims, image_size=size, latent_dim=8, base_channels=4,
                             r1_gamma=train.pop("r1_gamma", 0.0), ada_target=train.pop("ada_target", 0.0),
                             ada_per_class=train.pop("ada_per_class", False))
    return ImageSynthesizer(model, TrainConfig(epochs=epochs, batch_size=8, progress=False, device="cpu", **train))


@pytest.fixture(scope="module")
def fitted_2d():
    calls = []
    synth = tiny_synth().fit(tiny_dataset(), "shape", callback=lambda e, m: calls.append((e, dict(m))))
    return synth, calls


def test_fit_reports_each_epoch(fitted_2d):
    synth, calls = fitted_2d
    assert [e for e, _ in calls] == [1, 2]
    assert {"loss_g", "loss_d"} <= set(calls[0][1])
    assert len(synth.history_["loss_d"]) == 2 and np.isfinite(synth.history_["loss_g"]).all()
    assert synth.class_counts_ == {"a": 16, "b": 8} and synth.condition_ == "shape"


def test_seeded_tiny_fit_pins_golden_numbers(fitted_2d):
    """A change that shifts results the same way every run (loss, architecture, sampling) moves
    these. Two fits in one process agree to about 1e-3 here (not bit for bit), hence the
    tolerances; they are far below what a real change does (any of these moves by > 0.05)."""
    synth, _ = fitted_2d
    np.testing.assert_allclose(synth.history_["loss_g"], [0.1100, 0.0541], atol=0.02)
    np.testing.assert_allclose(synth.history_["loss_d"], [2.187, 2.004], atol=0.05)
    images = np.asarray(synth.generate({"a": 2, "b": 2}, seed=7).images)
    np.testing.assert_allclose(images.mean(), -0.0170, atol=0.002)
    np.testing.assert_allclose(images.reshape(4, -1)[:, :3], [[-0.0450, 0.0395, -0.0114],
                                                             [-0.0591, 0.0253, -0.0141],
                                                             [0.0049, 0.0521, 0.0724],
                                                             [0.0049, 0.1045, 0.1175]], atol=0.005)


def test_exact_counts_and_range(fitted_2d):
    synth, _ = fitted_2d
    out = synth.generate({"a": 3, "b": 5})
    assert out.images.shape == (8, 1, 16, 16) and out.images.dtype == np.float32
    assert out.labels == ["a"] * 3 + ["b"] * 5 and out.condition == "shape"
    assert out.images.min() >= -1 and out.images.max() <= 1
    balanced = synth.sample(10, balance="equal")
    assert balanced.labels.count("a") == balanced.labels.count("b") == 5
    assert len(synth.generate({"a": 0, "b": 0}).labels) == 0


def test_same_seed_same_images(fitted_2d):
    synth, _ = fitted_2d
    first, again = synth.generate({"a": 4, "b": 4}, seed=7), synth.generate({"a": 4, "b": 4}, seed=7)
    np.testing.assert_array_equal(first.images, again.images)
    assert not np.array_equal(first.images, synth.generate({"a": 4, "b": 4}, seed=8).images)


def test_unknown_class_is_a_sampling_error(fitted_2d):
    with pytest.raises(SamplingError, match="'c' was never seen"):
        fitted_2d[0].generate({"c": 1})


def test_save_load_round_trip_gives_identical_samples(fitted_2d, tmp_path):
    synth, _ = fitted_2d
    write_model(tmp_path / "model", synth)
    loaded, doc = load_model(tmp_path / "model")
    assert doc.kind == "image" and loaded.class_counts_ == synth.class_counts_
    assert doc.metadata["transforms"] == [{"name": "Test", "args": {}}]
    np.testing.assert_array_equal(loaded.generate({"a": 2, "b": 3}, seed=1).images,
                                  synth.generate({"a": 2, "b": 3}, seed=1).images)


def test_fit_is_reproducible():
    data = tiny_dataset(n=16)
    x = tiny_synth(epochs=1).fit(data).generate({"a": 2, "b": 2})
    y = tiny_synth(epochs=1).fit(data).generate({"a": 2, "b": 2})
    np.testing.assert_array_equal(x.images, y.images)


def test_tiny_3d_fit_with_r1():
    synth = tiny_synth(dims=3, size=8, epochs=1, r1_gamma=1.0).fit(tiny_dataset(dims=3, size=8, n=12))
    out = synth.generate({"a": 1, "b": 2})
    assert out.images.shape == (3, 1, 8, 8, 8) and np.isfinite(out.images).all()
    assert "r1" in synth.history_
    # a constant (clamped) background once made minibatch-stddev's gradient 0/0 under R1
    assert all(np.isfinite(v).all() for v in synth.history_.values()), synth.history_


@pytest.mark.parametrize("dims, size", [(2, 16), (3, 8)])
def test_grid_latent_fits_saves_and_varies_every_region(dims, size, tmp_path):
    """latent_grid: z is a grid of latents on G's first grid (4 a side here); changing the
    latents of one cell changes the images near that cell most, and the model round-trips."""
    model = ImageModelConfig(spatial_dims=dims, image_size=size, base_channels=4, latent_grid=3)
    train = TrainConfig(epochs=1, batch_size=8, progress=False, device="cpu")
    synth = ImageSynthesizer(model, train)
    synth.fit(tiny_dataset(dims=dims, size=size, n=12))
    g = synth.generator_
    start = size // 2 ** levels(size)
    assert g.latent_size == latent_size(model) == 3 * start**dims and not hasattr(g, "fc")
    z = torch.randn(1, g.latent_size)
    moved = z.view(1, 3, *(start,) * dims).clone()
    moved[(0, slice(None)) + (0,) * dims] += 3.0  # the first corner cell only
    with torch.no_grad():
        change = (g(moved.view(1, -1), torch.tensor([0])) - g(z, torch.tensor([0]))).abs()[0, 0]
    near = change[(slice(0, size // 4),) * dims].mean()
    far = change[(slice(-size // 4, None),) * dims].mean()
    assert near > 3 * far, (near, far)
    write_model(tmp_path / "model", synth)
    loaded, _ = load_model(tmp_path / "model")
    np.testing.assert_array_equal(loaded.generate({"a": 2, "b": 1}, seed=3).images,
                                  synth.generate({"a": 2, "b": 1}, seed=3).images)


def test_checkpoints_hold_weights_and_optimizer_state(tmp_path):
    synth = tiny_synth(epochs=3, checkpoint_every=1)
    data = tiny_dataset(n=16)
    synth.fit(data, checkpoint_dir=tmp_path / "ckpt")
    # steps 2, 4, 6 were written; only the newest two are kept
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["step-00000004", "step-00000006"]
    saved = CheckpointDir(tmp_path / "ckpt", {}).found()[-1]
    from safetensors.torch import load_file

    tensors, doc = load_file(str(saved / "state.safetensors")), json.loads((saved / "checkpoint.json").read_text())
    assert doc["round"] == 3 and doc["step"] == 6 and len(doc["history"]["loss_d"]) == 3
    assert doc["format"] == 2 and doc["fingerprint"]["world_size"] == 1
    assert doc["fingerprint"]["model"]["base_channels"] == 4 and len(doc["fingerprint"]["data"]) == 64
    assert any(k.startswith("state.discriminator.") for k in tensors)
    assert any(k.startswith("state.generator_ema.") for k in tensors)
    assert {"rank0.rng.torch", "rank0.rng.sampler"} <= set(tensors)
    # the optimizer's state comes back as it was saved
    state = join_state(doc["state"], tensors)
    fresh = GanTrainer(synth.model_config_, synth.train_config_, 2, dist=DistInfo())
    fresh.opt_g.load_state_dict(state["opt_g"])
    torch.testing.assert_close(fresh.opt_g.state_dict()["state"][0]["exp_avg"], tensors["state.opt_g.state.0.exp_avg"])
    assert fresh.opt_g.state_dict()["param_groups"][0]["lr"] == synth.model_config_.generator_lr


def test_ctrl_c_then_resume_ends_like_an_uninterrupted_fit(tmp_path):
    data = tiny_dataset(n=24)
    whole = tiny_synth(epochs=3).fit(data)

    def press_ctrl_c(epoch, losses):
        if epoch == 1:
            os.kill(os.getpid(), signal.SIGINT)  # lands mid-epoch 2, after its first step

    with pytest.raises(KeyboardInterrupt):
        tiny_synth(epochs=3).fit(data, callback=press_ctrl_c, checkpoint_dir=tmp_path / "ckpt")
    (saved,) = (tmp_path / "ckpt").iterdir()
    assert saved.name == "step-00000004"  # 3 steps in epoch 1 + the one that was running
    resumed = tiny_synth(epochs=3).fit(data, checkpoint_dir=tmp_path / "ckpt", resume=True)
    assert resumed.history_ == whole.history_
    np.testing.assert_array_equal(resumed.generate({"a": 2, "b": 2}).images,
                                  whole.generate({"a": 2, "b": 2}).images)


def test_resume_refuses_other_model_settings_or_data(tmp_path):
    data = tiny_dataset(n=16)
    tiny_synth(epochs=1, checkpoint_every=1).fit(data, checkpoint_dir=tmp_path)
    other = ImageSynthesizer(ImageModelConfig(image_size=16, latent_dim=8, base_channels=8),
                             TrainConfig(epochs=2, batch_size=8, progress=False, device="cpu"))
    with pytest.raises(UserError, match="model.base_channels was 4, now 8"):
        other.fit(data, checkpoint_dir=tmp_path, resume=True)
    with pytest.raises(UserError, match="train.batch_size was 8, now 4"):
        ImageSynthesizer(tiny_synth().model, TrainConfig(epochs=2, batch_size=4, progress=False, device="cpu")
                         ).fit(data, checkpoint_dir=tmp_path, resume=True)
    with pytest.raises(UserError, match="the training data differs"):
        tiny_synth(epochs=2).fit(tiny_dataset(n=16), checkpoint_dir=tmp_path, resume=True)  # new noise
    with pytest.raises(UserError, match="holds checkpoints of an earlier fit"):
        tiny_synth(epochs=2).fit(data, checkpoint_dir=tmp_path)  # not resuming
    tiny_synth(epochs=2).fit(data, checkpoint_dir=tmp_path, resume=True)  # more epochs: allowed


def test_3d_fit_resumed_after_a_checkpoint_ends_like_an_uninterrupted_one(tmp_path):
    data = tiny_dataset(dims=3, size=8, n=16)
    whole = tiny_synth(dims=3, size=8, epochs=3, r1_gamma=1.0).fit(data)
    tiny_synth(dims=3, size=8, epochs=2, r1_gamma=1.0, checkpoint_every=1).fit(data, checkpoint_dir=tmp_path)
    resumed = tiny_synth(dims=3, size=8, epochs=3, r1_gamma=1.0).fit(data, checkpoint_dir=tmp_path, resume=True)
    assert resumed.history_ == whole.history_
    for a, b in zip(resumed.generator_.state_dict().values(), whole.generator_.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_model_and_data_must_agree():
    with pytest.raises(DataError, match="prepared as 2D at 16 px"):
        tiny_synth(size=32).fit(tiny_dataset())


def test_diffaugment_keeps_shape_and_background():
    torch.manual_seed(0)
    aug = DiffAugment(brightness=0, contrast=0, cutout=0, flip_p=0)
    for dims in (2, 3):
        x = -torch.ones((4, 1) + (16,) * dims)
        y = aug(x)
        assert y.shape == x.shape and torch.equal(y, x)  # background stays background
    x = torch.rand(4, 1, 16, 16, requires_grad=True)
    DiffAugment()(x).sum().backward()  # differentiable end to end
    assert x.grad is not None


@pytest.mark.parametrize("dims,size", [(2, 16), (3, 8)])
def test_bf16_autocast_trains_close_to_fp32(dims, size):
    """precision=bf16 (CUDA's default path, here on the CPU): R1's double backward works under
    autocast, losses stay finite and near fp32's, and samples come back as fp32."""
    data = tiny_dataset(dims=dims, size=size, n=16)
    runs = {p: tiny_synth(dims=dims, size=size, epochs=2, r1_gamma=1.0, precision=p).fit(data)
            for p in ("fp32", "bf16")}
    assert runs["bf16"].history_ != runs["fp32"].history_
    for name, values in runs["bf16"].history_.items():
        assert np.isfinite(values).all(), name
        np.testing.assert_allclose(values, runs["fp32"].history_[name], rtol=0.2, atol=0.5, err_msg=name)
    out = runs["bf16"].generate({"a": 2, "b": 1})
    assert out.images.dtype == np.float32 and np.isfinite(out.images).all()


def test_adaptive_augmentation_tunes_p_and_resumes_exactly(tmp_path, monkeypatch):
    """ADA (model.ada_target) starts at p = 0, moves p with D's overfitting signal, records it,
    and a resumed fit continues with the p it had."""
    import synthgen.models.imaging.ada as ada

    monkeypatch.setattr(ada, "SPEED_IMAGES", 200)  # p may cross 0..1 within this tiny fit
    data = tiny_dataset(n=24)
    whole = tiny_synth(epochs=12, ada_target=0.2).fit(data)
    p = whole.history_["ada_p"]
    assert p[0] < 0.2 and max(p) > p[0] + 0.1 and all(0.0 <= v <= 1.0 for v in p), p
    tiny_synth(epochs=10, ada_target=0.2, checkpoint_every=1).fit(data, checkpoint_dir=tmp_path)
    resumed = tiny_synth(epochs=12, ada_target=0.2).fit(data, checkpoint_dir=tmp_path, resume=True)
    assert resumed.history_ == whole.history_


def test_per_class_ada_keeps_one_p_per_class(monkeypatch):
    import synthgen.models.imaging.ada as ada

    monkeypatch.setattr(ada, "SPEED_IMAGES", 200)
    seen = []
    original = ada.AdaptiveAugment.observe
    monkeypatch.setattr(ada.AdaptiveAugment, "observe",
                        lambda self, logits, y: original(self, logits, y) or seen.append(self.p.clone()))
    synth = tiny_synth(epochs=12, ada_target=0.2, ada_per_class=True).fit(tiny_dataset(n=24))
    assert seen[-1].shape == (2,) and (seen[-1] >= 0).all() and (seen[-1] <= 1).all()
    assert any(float(p.max()) > 0.1 for p in seen)  # p moved, per class
    assert any(abs(float(p[0] - p[1])) > 1e-6 for p in seen)  # and not in lockstep
    assert np.isfinite(synth.history_["ada_p"]).all()


def test_diffaugment_per_class_probabilities():
    x = torch.rand(6, 1, 8, 8) * 2 - 1
    aug = DiffAugment(class_p=torch.tensor([0.0, 1.0]))
    out = aug(x, torch.tensor([0, 0, 0, 1, 1, 1]))
    assert torch.equal(out[:3], x[:3]) and not torch.equal(out[3:], x[3:])


def test_diffaugment_with_p_zero_is_the_identity():
    x = torch.rand(4, 1, 8, 8) * 2 - 1
    assert torch.equal(DiffAugment(p=0.0)(x), x)


def _centre_receptive_share(d, size: int) -> float:
    """Share of input pixels that move the discriminator's centre feature before pooling."""
    from synthgen.models.imaging.networks import minibatch_stddev

    x = torch.randn(1, 1, size, size, requires_grad=True)
    h = d.last(minibatch_stddev(d.blocks(x), 1))
    c = h.shape[-1] // 2
    h[0, :, c, c].sum().backward()
    return float((x.grad.abs() > 0).float().mean())


def test_discriminator_past_the_generator_grid_sees_the_whole_image():
    # At 28 px the generator starts from 7x7: a discriminator of as many levels judged patches
    # about 10 px wide (summed), and never the whole X-ray.
    from synthgen.models.imaging.networks import build_networks

    patches = build_networks(ImageModelConfig(image_size=28, base_channels=4, discriminator_min_side=8), 2)[1]
    whole = build_networks(ImageModelConfig(image_size=28, base_channels=4, discriminator_min_side=4), 2)[1]
    assert patches.blocks(torch.zeros(2, 1, 28, 28)).shape[-1] == 14
    assert whole.blocks(torch.zeros(2, 1, 28, 28)).shape[-1] == 7
    assert _centre_receptive_share(patches, 28) < 0.2 < 0.6 < _centre_receptive_share(whole, 28)
    # Sizes whose generator grid is already small are unchanged (64 px starts at 4).
    same = [build_networks(ImageModelConfig(image_size=64, base_channels=4, discriminator_min_side=m), 2)[1]
            for m in (4, 8)]
    assert [sum(p.numel() for p in d.parameters()) for d in same][0] == sum(p.numel() for p in same[1].parameters())

