"""Cut region-labelled 3D patches from a real T1 MRI, for the imaging demo.

    apt-get install -y mricron-data          # the Colin27 "ch2" T1 brain + AAL atlas
    python pipelines/make_mri_patches.py data/mri_patches
    synthgen fit --data data/mri_patches --condition region --spatial-dims 3 \
        --config configs/image3d.yaml

Each patch is a ``size``^3 cube of ``ch2.nii.gz`` centred on a random voxel of one AAL region
(left and right hemispheres pooled), saved as NIfTI with the affine of where it was cut, plus
``labels.csv`` (image, region). Counts per region are deliberately unequal so that the
class-balancing use case shows. Caveat: all patches come from one brain and overlap, so there
are no patient-level splits to make and memorization checks are optimistic.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import nibabel as nib
import numpy as np

from synthgen.atomic import staged_dir

TEMPLATES = Path("/usr/share/mricron/templates")
DEFAULT_REGIONS = "Hippocampus=60,Precentral=180,Cerebelum_Crus1=120"  # AAL spelling


def region_labels(atlas_txt: Path, name: str) -> list[int]:
    """AAL label values whose name is ``name`` plus a hemisphere suffix (_L / _R)."""
    values = []
    for line in atlas_txt.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1] in (f"{name}_L", f"{name}_R", name):
            values.append(int(parts[0]))
    if not values:
        raise SystemExit(f"{atlas_txt}: no AAL region called {name!r} (_L/_R)")
    return values


def cut(volume: np.ndarray, affine: np.ndarray, centre: np.ndarray, size: int):
    """The cube of side ``size`` around ``centre`` (kept inside the volume) and its affine."""
    half = size // 2
    corner = np.clip(centre - half, 0, np.array(volume.shape) - size)
    patch = volume[tuple(slice(c, c + size) for c in corner)]
    out = affine.copy()
    out[:3, 3] = affine[:3, :3] @ corner + affine[:3, 3]
    return patch, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--regions", default=DEFAULT_REGIONS, help="NAME=COUNT,... (AAL names)")
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--templates", type=Path, default=TEMPLATES)
    args = parser.parse_args()

    t1 = nib.load(str(args.templates / "ch2.nii.gz"))
    atlas = np.asarray(nib.load(str(args.templates / "aal.nii.gz")).dataobj)
    volume = np.asarray(t1.dataobj)
    rng = np.random.default_rng(args.seed)
    with staged_dir(args.out) as tmp:
        rows = []
        for spec in args.regions.split(","):
            name, count = spec.split("=")
            voxels = np.argwhere(np.isin(atlas, region_labels(args.templates / "aal.nii.txt", name)))
            for centre in voxels[rng.choice(len(voxels), size=int(count), replace=False)]:
                patch, affine = cut(volume, t1.affine, centre, args.size)
                file = f"patch_{len(rows):04d}.nii.gz"
                nib.save(nib.Nifti1Image(patch.astype(volume.dtype), affine), str(tmp / file))
                rows.append({"image": file, "region": name})
        with open(tmp / "labels.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=["image", "region"])
            writer.writeheader()
            writer.writerows(rows)
    print(f"{len(rows)} patches of {args.size}^3 in {args.out}")


if __name__ == "__main__":
    main()
