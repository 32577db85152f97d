"""Scans: NIfTI folders, PNG folders and MedMNIST-style .npz in, the same format out."""

from __future__ import annotations

import dataclasses
from functools import partial
from pathlib import Path

import numpy as np

from synthgen.errors import SamplingError
from synthgen.modalities.base import Loaded, Modality
from synthgen.models.run_document import RunDocument
from synthgen.runtime import resolve_device


def _load(path, data, model, condition, *, min_classes: int = 2):
    from synthgen.data.imaging import load_image_dataset

    return load_image_dataset(
        path,
        condition,
        labels=data.labels,
        image_column=data.image_column,
        patient_column=data.patient_column,
        spatial_dims=model.spatial_dims,
        image_size=model.image_size or partial(native_size, spatial_dims=model.spatial_dims),
        pixdim=model.pixdim,
        percentiles=tuple(model.intensity_percentiles),
        slice_min_foreground=model.slice_min_foreground,
        slice_range=tuple(model.slice_range),
        min_classes=min_classes,
    )


def native_size(shapes: list[tuple[int, ...]], spatial_dims: int) -> int:
    """Inputs of one square (cubic) shape keep their side, up to the cap, when the GAN can make
    it without resampling (28 px MedMNIST, 24^3 patches); anything else gets the default side."""
    from synthgen.config import IMAGE_SIZE_CAP, IMAGE_SIZE_DEFAULT
    from synthgen.models.imaging.networks import supported_size

    sides = {side for shape in shapes for side in shape}
    if len(set(shapes)) == 1 and len(sides) == 1:
        side = sides.pop()
        if side <= IMAGE_SIZE_CAP[spatial_dims] and supported_size(side):
            return side
    return IMAGE_SIZE_DEFAULT[spatial_dims]


def _configs(doc: RunDocument):
    config = doc.fit_config()  # its model is the one trained: image_size resolved from the data
    return config.data, config.model


# Extensions that name a file: an image model's folder output must not look like one.
_FILE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq", ".npz", ".nii", ".nii.gz", ".png", ".json", ".txt", ".xlsx")


def _inside(line: str, root) -> str:
    """A skipped file named relative to the data folder: model.json holds no input path."""
    prefix = str(Path(root)).rstrip("/") + "/"
    return line.replace(prefix, "")

class ImageModality(Modality):
    name = "image"
    balanced_tstr = True
    evaluate_as_drawn = True

    # -- data --------------------------------------------------------------------------------
    def load(self, data, model) -> Loaded:
        ds = _load(data.path, data, model, data.condition)
        fixed_test = None
        if ds.source_split is not None and "test" in ds.source_split:
            fixed_test = np.flatnonzero(np.asarray(ds.source_split) == "test")
        return Loaded(
            payload=ds,
            labels=list(ds.labels),
            groups=list(ds.patient_ids),
            fixed_test=fixed_test,
            # The format and transforms are in the model's own state (metadata.reference/transforms).
            description={"skipped": [_inside(line, data.path) for line in ds.skipped[:50]]},
        )

    def subset(self, payload, index: np.ndarray):
        if hasattr(payload, "subset"):
            return payload.subset(index)
        index = np.asarray(index, dtype=np.int64)
        return dataclasses.replace(
            payload, images=payload.images[index], labels=[payload.labels[i] for i in index]
        )

    # -- model -------------------------------------------------------------------------------
    def new_synthesizer(self, model, train, data):
        from synthgen.models.imaging.synthesizer import ImageSynthesizer

        return ImageSynthesizer(model=model, train=train)

    def fit(self, synth, train_payload, condition, data, callback, *, checkpoint_dir=None, resume=False):
        return synth.fit(
            train_payload, condition, callback=callback, checkpoint_dir=checkpoint_dir, resume=resume
        )

    # -- cached splits -------------------------------------------------------------------------
    split_suffix = ".safetensors"

    def write_split(self, part, path: Path, doc) -> None:
        import torch

        from synthgen.models.tensor_files import save_tensors

        # The preprocessed images and their class (an index into the training classes); no
        # file name or patient id.
        index = {label: i for i, label in enumerate(doc.class_counts)}
        labels = torch.tensor([index[label] for label in part.labels], dtype=torch.long)
        save_tensors({"images": torch.as_tensor(part.images).contiguous(), "labels": labels}, path)

    def read_split(self, path: Path, doc):
        from safetensors.torch import load_file

        from synthgen.data.imaging import ImageDataset

        tensors = load_file(str(path))
        classes = list(doc.class_counts)
        labels = [classes[i] for i in tensors["labels"].tolist()]
        ids = [f"cached-{path.stem}-{i}" for i in range(len(labels))]  # the cache keeps no names
        reference = doc.metadata["reference"]
        return ImageDataset(
            images=tensors["images"], labels=labels, patient_ids=ids, item_ids=ids,
            source_format=reference["source_format"], spatial_dims=int(tensors["images"].dim() - 2),
            condition=doc.condition, reference=reference, transforms=doc.metadata.get("transforms", []),
        )

    # -- samples -----------------------------------------------------------------------------
    def default_output(self, model_dir: Path, doc) -> Path:
        fmt = doc.metadata["reference"]["source_format"]
        return Path(model_dir) / "samples" / ("synthetic.npz" if fmt == "npz" else "synthetic")

    def check_output(self, out: Path, doc) -> None:
        npz = doc.metadata["reference"]["source_format"] == "npz"
        suffix = "".join(Path(out).suffixes[-2:]).lower() if Path(out).name.lower().endswith(".nii.gz") else Path(out).suffix.lower()
        if npz and suffix != ".npz":
            raise SamplingError(f"--out {out}: this model was fitted on an .npz and writes one; name a .npz file")
        if not npz and suffix in _FILE_SUFFIXES:
            raise SamplingError(
                f"--out {out}: this model writes a folder of images with a labels.csv manifest, "
                f"not a {suffix} file; name a folder"
            )

    def write_samples(self, samples, out: Path, doc, mark_synthetic: bool) -> list[Path]:
        from synthgen.data.imaging import write_images

        return [write_images(samples, out, doc.metadata["reference"])]

    def read_samples(self, path: Path, doc):
        data, model = _configs(doc)
        # Labels come from the sample's own manifest (labels.csv) or .npz, not the training one.
        data = data.model_copy(update={"labels": None})
        # A --balance fill sample may hold one class only: that is not an error here.
        return _load(Path(path), data, model, doc.condition, min_classes=1)

    def concat(self, parts):
        import torch

        images = [p.images if isinstance(p.images, torch.Tensor) else torch.as_tensor(p.images) for p in parts]
        return dataclasses.replace(
            parts[0], images=torch.cat(images), labels=[lab for p in parts for lab in p.labels]
        )

    def labels_of(self, samples, doc) -> list[str]:
        return [str(label) for label in samples.labels]

    def privacy_keep_mask(self, train, holdout, samples, doc):
        from synthgen.evaluation.images import privacy_filter_images

        reference_real = holdout.images if len(holdout) else None
        keep, threshold = privacy_filter_images(
            np.asarray(train.images), np.asarray(samples.images), test_x=None if reference_real is None else np.asarray(reference_real)
        )
        return np.asarray(keep, dtype=bool), float(threshold)

    def previews(self, samples, doc) -> dict[str, bytes]:
        from synthgen.data.imaging import preview_grid

        reference = doc.metadata.get("reference")
        return {"grid.png": preview_grid(np.asarray(samples.images), samples.labels, reference=reference)}

    # -- evaluation --------------------------------------------------------------------------
    def evaluate(self, splits, synthetic, doc, config, progress, cache_dir=None):
        from synthgen.evaluation.images import evaluate_images
        from synthgen.models.imaging.synthesizer import left_right_axis

        train, holdout, test = splits["train"], splits["holdout"], splits["test"]
        balanced = splits.get("balanced")
        result = evaluate_images(
            np.asarray(train.images), list(train.labels),
            np.asarray(test.images), list(test.labels),
            np.asarray(synthetic.images), list(synthetic.labels),
            holdout_x=np.asarray(holdout.images) if len(holdout) else None,
            holdout_y=list(holdout.labels) if len(holdout) else None,
            seeds=config.seeds,
            epochs=config.image_epochs,
            encoder_epochs=config.image_encoder_epochs,
            detection_epochs=config.image_detection_epochs,
            max_images=config.image_max_images,
            copy_quantile=config.copy_quantile,
            shares=config.augment_shares,
            share_validation=config.share_validation,
            tstr_x=None if balanced is None else np.asarray(balanced.images),
            tstr_y=None if balanced is None else list(balanced.labels),
            flip_axis=left_right_axis(doc.metadata["reference"]),  # as the GAN flips
            history=doc.history,
            progress=progress,
            cache_dir=cache_dir,
            device=str(resolve_device("auto")),  # wherever the model was trained
        )
        result.meta.setdefault("dataset", doc.dataset)
        result.meta.setdefault("condition", doc.condition)
        return result
