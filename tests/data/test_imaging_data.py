"""Loading scans and 2D images: discovery, the MONAI chain, slicing, and bad input.

Fixtures are tiny phantoms written on the fly: NIfTI volumes with a class-dependent bright
shape (sphere vs cube) on a dark background, grayscale PNGs, a MedMNIST-style .npz.
"""

from __future__ import annotations

import csv
import gzip
import os

import nibabel as nib
import numpy as np
import pytest
from PIL import Image

from synthgen.data.imaging import load_image_dataset
from synthgen.errors import DataError

AFFINE = np.diag([2.0, 2.0, 3.0, 1.0])


def phantom(kind: str, shape=(16, 16, 12), seed: int = 0, z_range=None) -> np.ndarray:
    """int16 volume: a bright sphere ("a") or cube ("b") with noise; zero outside ``z_range``."""
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(*[np.linspace(-1, 1, s) for s in shape], indexing="ij"))
    inside = (grid**2).sum(0) < 0.5 if kind == "a" else (np.abs(grid) < 0.6).all(0)
    vol = inside * 800.0 + rng.normal(0, 20, shape) * inside + 50.0 * (np.abs(grid) < 0.9).all(0)
    if z_range is not None:
        mask = np.zeros(shape[2], bool)
        mask[slice(*z_range)] = True
        vol[:, :, ~mask] = 0
    return vol.astype(np.int16)


def save_nifti(path, data, **header_fields):
    image = nib.Nifti1Image(data, AFFINE)
    for key, value in header_fields.items():
        image.header[key] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(image, str(path))
    return path


def write_manifest(folder, rows, columns=("image", "diagnosis", "patient_id")):
    with open(folder / "labels.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        writer.writerows(rows)


@pytest.fixture
def nifti_folder(tmp_path):
    folder = tmp_path / "scans"
    rows = []
    for i, kind in enumerate("aabb"):
        save_nifti(folder / f"vol{i}.nii.gz", phantom(kind, seed=i), descrip=b"PATIENT JOHN DOE")
        rows.append((f"vol{i}.nii.gz", kind, f"p{i // 2}"))  # two volumes per patient
    write_manifest(folder, rows)
    return folder


# -- discovery and the transform chain ---------------------------------------------------------


def test_manifest_3d_volumes_shape_range_reference(nifti_folder):
    ds = load_image_dataset(nifti_folder, "diagnosis", spatial_dims=3, image_size=16)
    assert ds.images.shape == (4, 1, 16, 16, 16)
    assert ds.images.dtype.is_floating_point
    assert -1.0 <= float(ds.images.min()) and float(ds.images.max()) <= 1.0
    assert float(ds.images.min()) == -1.0 and float(ds.images.max()) > 0.9
    assert ds.labels == ["a", "a", "b", "b"]
    assert ds.patient_ids == ["p0", "p0", "p1", "p1"]
    assert ds.item_ids == ["vol0", "vol1", "vol2", "vol3"]
    assert ds.source_format == "nifti" and ds.spatial_dims == 3
    assert ds.class_counts() == {"a": 2, "b": 2}
    ref = ds.reference
    assert ref["dtype"] == "int16" and ref["input_shape"] == [16, 16, 12]
    assert ref["intensity_mode"] == "percentile"
    assert set(ref["intensity"]["per_class"]) == {"a", "b"}
    # 16 voxels of 2 mm along x stay 16 of 2 mm; the 12 slices of 3 mm are resized to 16.
    assert ref["spacing"][:2] == pytest.approx([2.0, 2.0], rel=1e-3)
    names = [step["name"] for step in ds.transforms]
    assert names == ["LoadImaged", "EnsureChannelFirstd", "Orientationd",
                     "ScaleIntensityRangePercentilesd", "Resized", "ResizeWithPadOrCropd"]
    import json

    json.dumps(ds.reference), json.dumps(ds.transforms)  # JSON-safe for the run record


def test_class_subfolders(tmp_path):
    for i, kind in enumerate("aab"):
        save_nifti(tmp_path / ("healthy" if kind == "a" else "tumour") / f"s{i}.nii", phantom(kind, seed=i))
    ds = load_image_dataset(tmp_path, "status", spatial_dims=3, image_size=8)
    assert ds.labels == ["healthy", "healthy", "tumour"]
    assert ds.item_ids == ["healthy/s0", "healthy/s1", "tumour/s2"]
    assert ds.patient_ids == ds.item_ids
    assert ds.condition == "status"


def test_slicing_skips_empty_slices_and_keeps_volume_ids(tmp_path):
    folder = tmp_path / "scans"
    save_nifti(folder / "v0.nii.gz", phantom("a", z_range=(3, 9)))
    save_nifti(folder / "v1.nii.gz", phantom("b", z_range=(2, 6)))
    write_manifest(folder, [("v0.nii.gz", "a", "alice"), ("v1.nii.gz", "b", "bob")])
    ds = load_image_dataset(folder, "diagnosis", spatial_dims=2, image_size=16)
    assert ds.images.shape[1:] == (1, 16, 16)
    per_volume = {pid: ds.patient_ids.count(pid) for pid in ("alice", "bob")}
    assert per_volume == {"alice": 6, "bob": 4}
    assert ds.item_ids[0] == "v0:z003" and ds.item_ids[-1] == "v1:z005"
    assert ds.labels == ["a"] * 6 + ["b"] * 4
    assert ds.transforms[4]["name"] == "AxialSlices"
    # slice_range keeps fractions of the axis: the first half only
    half = load_image_dataset(folder, "diagnosis", spatial_dims=2, image_size=16, slice_range=(0.0, 0.5))
    assert [i for i in half.item_ids if i.startswith("v0")] == ["v0:z003", "v0:z004", "v0:z005"]


def test_png_folder(tmp_path):
    rng = np.random.default_rng(0)
    for cls in ("normal", "opacity"):
        for i in range(2):
            img = (rng.random((20, 30)) * 200).astype(np.uint8)
            img[5:15, 5:25] = 255 if cls == "opacity" else 30
            (tmp_path / cls).mkdir(exist_ok=True)
            Image.fromarray(img).save(tmp_path / cls / f"{i}.png")
    ds = load_image_dataset(tmp_path, "finding", image_size=16)
    assert ds.images.shape == (4, 1, 16, 16)
    assert ds.source_format == "png" and ds.spatial_dims == 2
    assert ds.reference["dtype"] == "uint8"
    assert ds.reference["intensity"]["global"] == [0.0, 255.0]
    assert [s["name"] for s in ds.transforms][3] == "ScaleIntensityRanged"
    # 30x20 (loaded as width x height) resized longest=16 -> 16x11, padded with -1
    assert float(ds.images[0, 0, :, 0].max()) == -1.0


def write_npz(path, n=(6, 2, 4), size=28):
    rng = np.random.default_rng(1)
    arrays = {}
    for split, count in zip(("train", "val", "test"), n):
        arrays[f"{split}_images"] = rng.integers(0, 256, (count, size, size), dtype=np.uint8)
        arrays[f"{split}_labels"] = (np.arange(count) % 2).astype(np.uint8).reshape(-1, 1)
    np.savez_compressed(path, **arrays)
    return path


def test_npz_keeps_its_splits(tmp_path):
    ds = load_image_dataset(write_npz(tmp_path / "mnist.npz"), "diagnosis", image_size=32)
    assert ds.images.shape == (12, 1, 32, 32)
    assert ds.source_split == ["train"] * 6 + ["val"] * 2 + ["test"] * 4
    assert ds.labels[:3] == ["0", "1", "0"]
    assert ds.item_ids[6] == "val-0"
    assert ds.reference["input_shape"] == [28, 28] and ds.reference["label_dtype"] == "uint8"
    test = ds.subset([i for i, s in enumerate(ds.source_split) if s == "test"])
    assert len(test) == 4 and test.images.shape == (4, 1, 32, 32)


def test_all_zero_image_is_skipped_with_a_warning(nifti_folder, caplog):
    save_nifti(nifti_folder / "blank.nii.gz", np.zeros((16, 16, 12), np.int16))
    with open(nifti_folder / "labels.csv", "a") as f:
        f.write("blank.nii.gz,a,p9\n")
    ds = load_image_dataset(nifti_folder, "diagnosis", spatial_dims=3, image_size=8)
    assert len(ds) == 4 and "blank.nii.gz" in ds.skipped[0]
    assert "blank.nii.gz" in caplog.text


# -- bad input: one line naming the file ---------------------------------------------------------


def _bad(folder, name, data):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        save_nifti(path, data)
    return path


def _case_corrupt_gzip(folder):
    _bad(folder, "bad.nii.gz", b"this is not gzip at all" * 10)
    return "bad.nii.gz"


def _case_truncated(folder):
    good = save_nifti(folder / "cut.nii.gz", phantom("a", shape=(32, 32, 32)))
    good.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    return "cut.nii.gz"


def _case_nan(folder):
    vol = phantom("a").astype(np.float32)
    vol[3, 3, 3] = np.nan
    _bad(folder, "nan.nii.gz", vol)
    return "nan.nii.gz"


def _case_4d(folder):
    _bad(folder, "series.nii.gz", np.ones((8, 8, 8, 3), np.float32))
    return "series.nii.gz"


def _case_mixed_dims(folder):
    _bad(folder, "flat.nii.gz", phantom("a")[:, :, 5])
    return "flat.nii.gz"


def _case_unknown_extension(folder):
    (folder / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    return "photo.jpg"


def _case_missing_file(folder):
    return "ghost.nii.gz"


def _case_outside(folder):
    save_nifti(folder.parent / "elsewhere.nii.gz", phantom("a"))
    return "../elsewhere.nii.gz"


def _case_absolute(folder):
    return str(save_nifti(folder.parent / "abs.nii.gz", phantom("a")))


def _case_symlink_escape(folder):
    target = save_nifti(folder.parent / "secret.nii.gz", phantom("a"))
    os.symlink(target, folder / "link.nii.gz")
    return "link.nii.gz"


BAD_ROWS = {
    "corrupt gzip": (_case_corrupt_gzip, "bad.nii.gz"),
    "truncated": (_case_truncated, "cut.nii.gz"),
    "NaN voxels": (_case_nan, "nan.nii.gz"),
    "4D volume": (_case_4d, "series.nii.gz"),
    "mixed dimensionality": (_case_mixed_dims, "flat.nii.gz"),
    "unknown extension": (_case_unknown_extension, "photo.jpg"),
    "missing file": (_case_missing_file, "ghost.nii.gz"),
    "outside folder": (_case_outside, "elsewhere.nii.gz"),
    "absolute path": (_case_absolute, "abs.nii.gz"),
    "symlink escaping": (_case_symlink_escape, "link.nii.gz"),
}


@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_bad_file_in_manifest_is_one_line_naming_it(nifti_folder, case):
    make, name = BAD_ROWS[case]
    value = make(nifti_folder)
    with open(nifti_folder / "labels.csv", "a") as f:
        f.write(f"{value},b,p7\n")
    with pytest.raises(DataError) as err:
        load_image_dataset(nifti_folder, "diagnosis", spatial_dims=3, image_size=8)
    message = str(err.value)
    assert "\n" not in message
    assert name in message


def test_missing_condition_column(nifti_folder):
    with pytest.raises(DataError, match=r"labels.csv: no column 'grade'"):
        load_image_dataset(nifti_folder, "grade")


def test_empty_class_folder(tmp_path):
    save_nifti(tmp_path / "a" / "s.nii.gz", phantom("a"))
    (tmp_path / "b").mkdir()
    with pytest.raises(DataError, match=r"class folder 'b' has no images"):
        load_image_dataset(tmp_path, "label")


def test_class_left_without_images(tmp_path):
    save_nifti(tmp_path / "a" / "s.nii.gz", phantom("a"))
    save_nifti(tmp_path / "b" / "zero.nii.gz", np.zeros((8, 8, 8), np.int16))
    with pytest.raises(DataError, match=r"zero.nii.gz: class 'b' has no usable images"):
        load_image_dataset(tmp_path, "label", spatial_dims=3, image_size=8)


def test_bad_npz(tmp_path):
    path = tmp_path / "broken.npz"
    path.write_bytes(gzip.compress(b"nope"))
    with pytest.raises(DataError, match="broken.npz"):
        load_image_dataset(path, "label")


def test_2d_images_cannot_train_3d(tmp_path):
    with pytest.raises(DataError, match="spatial_dims=3"):
        load_image_dataset(write_npz(tmp_path / "m.npz"), "label", spatial_dims=3)
