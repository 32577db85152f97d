"""MixedScanDataset: real + synthetic scans for a MONAI training loop; shares, flags, seeds."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from monai.data import DataLoader
from monai.networks.nets import Classifier
from monai.transforms import Compose, RandFlipd, ScaleIntensityRanged

from synthgen.config import ImageModelConfig, TrainConfig
from synthgen.data.mixing import MixedScanDataset
from synthgen.data.synthetic_share import synthetic_counts
from synthgen.errors import SamplingError
from synthgen.models.imaging.synthesizer import ImageSynthesizer
from tiny_images import tiny_dataset


@pytest.fixture(scope="module")
def real():
    torch.manual_seed(0)
    return tiny_dataset(n=24)  # 16 discs ("a"), 8 squares ("b"), 16×16


@pytest.fixture(scope="module")
def synth(real):
    model = ImageModelConfig(spatial_dims=2, image_size=16, latent_dim=8, base_channels=4)
    train = TrainConfig(epochs=1, batch_size=8, device="cpu", progress=False)
    return ImageSynthesizer(model, train).fit(real, "shape")


def _synthetic_images(ds) -> list[torch.Tensor]:
    return [item["image"] for item in ds.data if item["synthetic"]]


def test_synthetic_counts_make_the_asked_share():
    assert synthetic_counts({"a": 16, "b": 8}, 0.5) == {"a": 16, "b": 8}
    assert synthetic_counts({"a": 16, "b": 8}, {"b": 0.8}) == {"a": 0, "b": 32}
    assert synthetic_counts({"0": 30, "1": 10}, {1: 0.5}) == {"0": 0, "1": 10}  # y of 0/1
    with pytest.raises(SamplingError, match=r"class 'b' must be in \[0, 1\), got 1.0"):
        synthetic_counts({"a": 16, "b": 8}, {"b": 1.0})
    with pytest.raises(SamplingError, match="names class 'c', which the real data lacks"):
        synthetic_counts({"a": 16, "b": 8}, {"c": 0.5})


def test_items_mix_real_and_synthetic_per_class_share(real, synth):
    ds = MixedScanDataset.from_image_dataset(real, synth, {"a": 0.2, "b": 0.5})
    assert ds.classes == ["a", "b"] and ds.synthetic_counts == {"a": 4, "b": 8}
    assert len(ds) == 24 + 12 and ds.n_synthetic == 12
    flags = [(item["label"], item["synthetic"]) for item in ds]
    assert flags.count((0, True)) == 4 and flags.count((1, True)) == 8
    assert flags.count((0, False)) == 16 and flags.count((1, False)) == 8
    first = ds[0]
    assert set(first) == {"image", "label", "synthetic"} and first["image"].shape == (1, 16, 16)


def test_monai_transforms_reach_real_and_synthetic_items(real, synth):
    to_unit = ScaleIntensityRanged(keys="image", a_min=-1, a_max=1, b_min=0, b_max=1, clip=True)
    ds = MixedScanDataset.from_image_dataset(real, synth, 0.5, transform=to_unit)
    raw = [item["image"] for item in ds.data]
    assert min(float(x.min()) for x in raw) < 0  # both kinds start in [-1, 1]
    for synthetic in (False, True):
        items = [ds[i] for i in range(len(ds)) if ds.data[i]["synthetic"] is synthetic]
        assert items and all(float(item["image"].min()) >= 0 for item in items)
    assert float(ds.data[0]["image"].min()) < 0  # the cached item was not changed in place


def test_cached_draw_is_fixed_and_redraw_is_replayable(real, synth):
    cached = MixedScanDataset.from_image_dataset(real, synth, 0.5, seed=3)
    before = _synthetic_images(cached)
    cached.set_epoch(1)  # a cached draw ignores epochs
    assert all(torch.equal(a, b) for a, b in zip(before, _synthetic_images(cached)))

    fresh = MixedScanDataset.from_image_dataset(real, synth, 0.5, seed=3, redraw_each_epoch=True)
    assert all(torch.equal(a, b) for a, b in zip(before, _synthetic_images(fresh)))  # epoch 0
    real_before = [x["image"] for x in fresh.data if not x["synthetic"]]
    fresh.set_epoch(1)
    epoch1 = _synthetic_images(fresh)
    assert not torch.equal(before[0], epoch1[0])
    again = MixedScanDataset.from_image_dataset(real, synth, 0.5, seed=3, redraw_each_epoch=True)
    again.set_epoch(1)
    assert all(torch.equal(a, b) for a, b in zip(epoch1, _synthetic_images(again)))
    real_after = [x["image"] for x in fresh.data if not x["synthetic"]]
    assert len(real_after) == 24 and all(a is b for a, b in zip(real_before, real_after))


def test_bad_input_is_one_clear_error(real, synth):
    with pytest.raises(SamplingError, match="label 'c' was never seen by the synthesizer"):
        MixedScanDataset(real.images[:2], ["a", "c"], synth)
    with pytest.raises(SamplingError, match="3 images but 2 labels"):
        MixedScanDataset(real.images[:3], ["a", "b"], synth)
    with pytest.raises(SamplingError, match=r"real images are \(1, 8, 8\) but the model makes"):
        MixedScanDataset(real.images[:, :, :8, :8], real.labels, synth)


def test_a_monai_classifier_trains_on_the_mix(real, synth):
    """A few steps of a plain MONAI loop; synthetic items weigh half in the loss."""
    torch.manual_seed(0)
    augment = Compose([RandFlipd(keys="image", prob=0.5, spatial_axis=0)])
    augment.set_random_state(0)
    ds = MixedScanDataset.from_image_dataset(real, synth, 0.3, transform=augment,
                                             redraw_each_epoch=True)  # fmt: skip
    net = Classifier(in_shape=(1, 16, 16), classes=2, channels=(4, 8), strides=(2, 2))
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    loss_fn = torch.nn.CrossEntropyLoss(reduction="none")
    loader = DataLoader(ds, batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(0))
    seen_synthetic = 0
    for epoch in range(4):
        ds.set_epoch(epoch)
        for batch in loader:
            weight = torch.where(batch["synthetic"], 0.5, 1.0)
            loss = (loss_fn(net(batch["image"]), batch["label"]) * weight).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            seen_synthetic += int(batch["synthetic"].sum())
    assert seen_synthetic == 4 * ds.n_synthetic > 0
    with torch.no_grad():  # discs vs squares: easy on the real images once trained
        predicted = net.eval()(real.images).argmax(1).numpy()
    truth = np.array([ds.classes.index(label) for label in real.labels])
    assert (predicted == truth).mean() >= 0.9
