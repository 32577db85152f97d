"""Writing synthetic images back in the input's format: NIfTI, PNG, npz, and preview grids."""

from __future__ import annotations

import csv
from dataclasses import dataclass

import nibabel as nib
import numpy as np
import pytest
from PIL import Image

from synthgen.data.imaging import load_image_dataset, preview_grid, write_images

AFFINE = np.diag([2.0, 2.0, 3.0, 1.0])


@dataclass
class Samples:
    images: np.ndarray
    labels: list[str]
    condition: str = "diagnosis"


def _volume(kind: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(*[np.linspace(-1, 1, 12)] * 3, indexing="ij"))
    inside = (grid**2).sum(0) < 0.5 if kind == "a" else (np.abs(grid) < 0.6).all(0)
    return (inside * (700 + 100 * (kind == "b")) + rng.normal(0, 10, inside.shape) * inside).astype(np.int16)


@pytest.fixture
def scans(tmp_path):
    folder = tmp_path / "scans"
    folder.mkdir()
    with open(folder / "labels.csv", "w") as f:
        f.write("image,diagnosis,patient_id\n")
        for i, kind in enumerate("aabb"):
            image = nib.Nifti1Image(_volume(kind, i), AFFINE)
            for key, value in {"descrip": b"PATIENT JOHN DOE", "db_name": b"HOSPITAL",
                               "aux_file": b"secret.txt", "intent_name": b"ID123"}.items():
                image.header[key] = value
            nib.save(image, str(folder / f"patient_{i}.nii.gz"))
            f.write(f"patient_{i}.nii.gz,{kind},p{i}\n")
    return folder


def _fake(n_per_class, shape, labels=("a", "b"), seed=0):
    rng = np.random.default_rng(seed)
    images = rng.uniform(-1, 1, (n_per_class * len(labels), 1) + shape).astype(np.float32)
    return Samples(images, [lab for lab in labels for _ in range(n_per_class)])


def test_nifti_output_reference_space_scrubbed_header_manifest(scans, tmp_path):
    ds = load_image_dataset(scans, "diagnosis", spatial_dims=3, image_size=8)
    out = write_images(_fake(2, (8, 8, 8)), tmp_path / "synthetic", ds.reference)
    files = sorted(p.name for p in out.iterdir())
    assert files == ["labels.csv"] + [f"synthetic_{i:05d}.nii.gz" for i in range(4)]
    rows = list(csv.DictReader(open(out / "labels.csv")))
    assert rows[0] == {"image": "synthetic_00000.nii.gz", "diagnosis": "a", "synthetic": "1"}
    assert "patient" not in (out / "labels.csv").read_text()  # no input paths or ids
    image = nib.load(str(out / "synthetic_00003.nii.gz"))
    np.testing.assert_allclose(image.affine, np.asarray(ds.reference["affine"]), atol=1e-5)
    np.testing.assert_allclose(image.header.get_zooms(), ds.reference["spacing"], rtol=1e-5)
    header = image.header
    assert header.get_data_dtype() == np.int16
    for key in ("descrip", "db_name", "aux_file", "intent_name"):
        text = bytes(header[key]).decode(errors="ignore")
        assert "PATIENT" not in text and "HOSPITAL" not in text and "secret" not in text and "ID123" not in text
    data = np.asarray(image.dataobj)
    lo, hi = ds.reference["intensity"]["per_class"]["b"]
    assert data.min() >= np.floor(lo) and data.max() <= np.ceil(hi)
    # The folder is a valid synthgen input itself.
    again = load_image_dataset(out, "diagnosis", spatial_dims=3, image_size=8)
    assert again.labels == ["a", "a", "b", "b"]


def test_nifti_output_replaces_old_folder_atomically(scans, tmp_path):
    ds = load_image_dataset(scans, "diagnosis", spatial_dims=3, image_size=8)
    out = tmp_path / "synthetic"
    write_images(_fake(3, (8, 8, 8)), out, ds.reference)
    write_images(_fake(1, (8, 8, 8)), out, ds.reference)
    assert len(list(out.glob("*.nii.gz"))) == 2
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_2d_slices_written_as_2d_nifti(scans, tmp_path):
    ds = load_image_dataset(scans, "diagnosis", spatial_dims=2, image_size=16)
    out = write_images(_fake(1, (16, 16)), tmp_path / "slices", ds.reference)
    assert nib.load(str(out / "synthetic_00000.nii.gz")).shape == (16, 16)


def test_npz_in_npz_out(tmp_path):
    yy, xx = np.mgrid[:28, :28]
    smooth = [(127 + 120 * np.sin(xx / (3 + k)) * np.cos(yy / 5)).astype(np.uint8) for k in range(6)]
    np.savez(tmp_path / "in.npz", train_images=np.stack(smooth),
             train_labels=np.array([[0], [1]] * 3, dtype=np.uint8))
    ds = load_image_dataset(tmp_path / "in.npz", "label", image_size=32)
    path = write_images(_fake(3, (32, 32), labels=("0", "1")), tmp_path / "out.npz", ds.reference)
    with np.load(path) as out:
        assert out["train_images"].shape == (6, 28, 28) and out["train_images"].dtype == np.uint8
        assert out["train_labels"].tolist() == [[0]] * 3 + [[1]] * 3
        assert out["train_labels"].dtype == np.uint8
    # A real image survives the round trip (resize to 32 and back) closely.
    real = Samples(ds.images.numpy(), ds.labels)
    with np.load(write_images(real, tmp_path / "back.npz", ds.reference)) as back:
        original = np.load(tmp_path / "in.npz")["train_images"].astype(float)
        assert np.abs(back["train_images"].astype(float) - original).mean() < 6


def test_png_in_png_out(tmp_path):
    for cls in ("x", "y"):
        (tmp_path / "in" / cls).mkdir(parents=True)
        ramp = np.tile(np.linspace(60, 140, 30), (20, 1)) + (100 if cls == "y" else 0)
        Image.fromarray(ramp.astype(np.uint8)).save(tmp_path / "in" / cls / "0.png")
        Image.fromarray(np.eye(20, 30, dtype=np.uint8) * 255).save(tmp_path / "in" / cls / "1.png")
    ds = load_image_dataset(tmp_path / "in", "label", image_size=16)
    out = write_images(Samples(ds.images.numpy(), ds.labels, "label"), tmp_path / "out", ds.reference)
    image = Image.open(out / "synthetic_00000.png")
    assert image.size == (30, 20) and image.mode == "L"
    pixels = np.asarray(image).astype(float)
    assert abs(pixels.mean() - 100) < 3  # intensity comes back
    assert pixels[:, -1].mean() - pixels[:, 0].mean() > 60  # and the ramp still runs left to right


def test_preview_grid_is_png_for_2d_and_3d():
    for shape in ((16, 16), (8, 8, 8)):
        png = preview_grid(_fake(3, shape).images, ["a"] * 3 + ["b"] * 3)
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert Image.open(__import__("io").BytesIO(png)).size[1] == 2 * (64 + 2)
