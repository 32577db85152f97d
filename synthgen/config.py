"""Every option synthgen has, with its default, in one place.

The CLI, the Python API and the YAML files under ``configs/`` all resolve to these pydantic
models; nothing else in the package holds a default. ``extra="forbid"`` everywhere so that a
misspelt key in a YAML file is an error, not a silently ignored option.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from synthgen.class_counts import checked_counts
from synthgen.errors import SamplingError, UserError

ColumnKind = Literal["continuous", "integer", "categorical", "boolean", "datetime"]
Device = Literal["auto", "cpu", "cuda"]
Precision = Literal["auto", "fp32", "bf16"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataConfig(_Strict):
    """Where the data is and how to read it."""

    path: Path | None = None
    condition: str | None = None
    # Tables: override inferred column kinds, e.g. {"age": "integer"}; drop columns (ids).
    kinds: dict[str, ColumnKind] = Field(default_factory=dict)
    drop: list[str] = Field(default_factory=list)
    # Tables, privacy: identifier-like columns (ids, names, near-unique codes, free text) are left
    # out unless named in `kinds`; categories held by fewer than `min_category_count` patients
    # are pooled ("__rare__") and never stored or written.
    exclude_identifiers: bool = True
    min_category_count: int = Field(5, ge=1, description="patients a category needs to be kept verbatim")
    # Imaging: manifest (image path + condition [+ patient_id]); default <folder>/labels.csv.
    labels: Path | None = None
    image_column: str = "image"
    patient_column: str = "patient_id"


class SplitConfig(_Strict):
    """Stratified (and, where patient ids exist, patient-level) split made before fitting."""

    holdout: float = Field(0.2, ge=0.0, lt=1.0)
    test: float = Field(0.2, ge=0.0, lt=1.0)
    seed: int = 0

    @field_validator("test")
    @classmethod
    def _leaves_train(cls, v: float, info: Any) -> float:
        if v + info.data.get("holdout", 0.0) >= 0.9:
            raise ValueError("holdout + test must leave at least 10% of rows for training")
        return v


class TabularModelConfig(_Strict):
    """Conditional tabular GAN in the CTGAN family (WGAN-GP + PacGAN)."""

    kind: Literal["tabular"] = "tabular"
    embedding_dim: int = Field(128, ge=1)
    generator_dims: list[int] = Field(default_factory=lambda: [256, 256])
    discriminator_dims: list[int] = Field(default_factory=lambda: [256, 256])
    pac: int = Field(1, ge=1, description="rows the critic scores together (PacGAN; CTGAN: 10)")
    max_modes: int = Field(10, ge=1, description="Gaussian-mixture modes per continuous column")
    gmm_max_rows: int = Field(
        20_000, ge=100, description="rows sampled to fit each column's mixture (speed)"
    )
    spike_share: float = Field(
        0.05, ge=0.0, le=1.0, description="a value held by at least this share of a numeric "
        "column's rows is an exact mode of its own (zero-inflated columns such as capital gain; "
        "CTAB-GAN's mixed type); 0: off")
    max_categories: int = Field(
        1000, ge=2, description="rarer categories beyond this many are pooled into '__other__'"
    )
    gp_weight: float = Field(10.0, ge=0.0)
    discriminator_steps: int = Field(1, ge=1)
    critic_dropout: float = Field(0.0, ge=0.0, lt=1.0, description="dropout in the critic (CTGAN: 0.5)")
    generator_lr: float = Field(2e-4, gt=0)
    discriminator_lr: float = Field(2e-4, gt=0)
    weight_decay: float = Field(1e-6, ge=0)
    # Quality levers (issue-9 ablations in benchmarks/README.md decide their defaults).
    ema_decay: float = Field(
        0.995, ge=0.0, lt=1.0, description="EMA of the generator's weights used for sampling (0: off)")
    aux_classifier: float = Field(
        1.0, ge=0.0, description="weight of the auxiliary-classifier loss that makes generated "
        "rows carry their class's signal (CTAB-GAN+); 0 disables")
    info_loss: float = Field(
        0.0, ge=0.0, description="weight of the information loss: critic features' mean and std, "
        "real vs fake (CTAB-GAN); 0 disables")
    correlation_loss: float = Field(
        0.0, ge=0.0, description="weight of the correlation- and mean-aware loss: encoded rows' "
        "correlation matrix and means, real vs fake (Vu et al. 2024); 0 disables")


class ImageModelConfig(_Strict):
    """Conditional GAN for 2D slices or 3D volumes built from MONAI blocks."""

    kind: Literal["image"] = "image"
    spatial_dims: Literal[2, 3] = 2
    image_size: int | None = Field(
        None, ge=6, description="side length after crop/pad/resize; None: the inputs' own side "
        "when they share one square (cubic) shape up to IMAGE_SIZE_CAP, else IMAGE_SIZE_DEFAULT")
    latent_dim: int = Field(128, ge=1, description="length of the latent vector (latent_grid 0)")
    latent_grid: int = Field(
        0, ge=0, description="> 0: the latent is this many channels of i.i.d. normals on the "
        "generator's first grid (4^d at 32 px) instead of one vector, so every region of an image "
        "has latents of its own; on 36-108 MRI patches a class the vector latent collapsed "
        "(MS-SSIM 3.7-6.4x real), 8 grid channels did not (benchmarks/README.md)")
    base_channels: int = Field(32, ge=4, description="narrowest generator width; doubles per level")
    refine_blocks: int = Field(0, ge=0, le=4, description="3^d stride-1 conv blocks after each "
                               "resolution step of G and D (depth where few levels fit, e.g. 28 px)")
    discriminator_min_side: int = Field(
        2, ge=1, description="the discriminator keeps halving its grid while the side is above "
        "this, past the generator's first grid (3-8 a side): its last features see the whole image "
        "(at 28 px, two levels saw patches ~10 px wide); 8: as many levels as the generator")
    loss: Literal["hinge", "nsgan"] = "hinge"
    r1_gamma: float = Field(0.0, ge=0.0, description="R1 penalty weight (0 disables)")
    mode_seeking: float = Field(
        0.3, ge=0.0, description="weight of the MSGAN diversity term in G's loss (0 disables; 1 made "
        "PneumoniaMNIST's large class far more varied than real, 0.03 collapsed it)"
    )
    diffaug: bool = True
    ada_target: float = Field(
        0.0, ge=0.0, lt=1.0, description="adaptive augmentation (StyleGAN2-ADA): tune how often "
        "DiffAugment applies so that E[sign D(real)] stays near this (ADA's 0.6); 0: always apply")
    ada_per_class: bool = Field(False, description="with ada_target: one augmentation probability "
                                "per class, from each class's own signal (small classes overfit first)")
    ema_decay: float = Field(0.999, ge=0.0, lt=1.0)
    generator_lr: float = Field(2e-4, gt=0)
    discriminator_lr: float = Field(2e-4, gt=0)
    # 2D from volumes: axial slices whose foreground share exceeds this are kept.
    slice_min_foreground: float = Field(0.05, ge=0.0, lt=1.0)
    slice_range: tuple[float, float] = (0.0, 1.0)
    pixdim: list[float] | None = Field(None, description="resample spacing in mm (None keeps)")
    intensity_percentiles: tuple[float, float] = (0.5, 99.5)


# The image side when inputs differ in shape (resized to it), and the largest side kept as is.
IMAGE_SIZE_DEFAULT = {2: 64, 3: 32}
IMAGE_SIZE_CAP = {2: 128, 3: 64}

ModelConfig = Annotated[Union[TabularModelConfig, ImageModelConfig], Field(discriminator="kind")]


class TrainConfig(_Strict):
    epochs: int | None = Field(
        None, ge=1, description="passes over the training rows; None: the backend's budget "
        "(tables: max_steps optimizer steps)")
    max_steps: int | None = Field(None, ge=1, description="optimizer steps at most (tables: default 3000)")
    max_minutes: float | None = Field(None, gt=0, description="wall-clock budget for training")
    batch_size: int | None = Field(
        None, ge=2, description="rows per step; None: the backend's (tables: a quarter of the rows, "
        "at most 500)")
    seed: int = 0
    device: Device = "auto"
    precision: Precision = Field(
        "auto", description="auto: mixed precision on CUDA (bf16; fp16 with loss scaling for images "
        "on GPUs without bf16), fp32 on CPU; fp32: always; bf16: autocast on any device")
    checkpoint_every: int = Field(10, ge=0, description="rounds (of validate_every steps) between "
                                  "checkpoints (0: none)")
    # Snapshot selection: score the generator on rows / images carved out of train, keep the best.
    validation_share: float = Field(
        0.15, ge=0.0, lt=0.5, description="share of the training rows or images held out to score "
        "snapshots (never holdout or test); 0: keep the EMA generator")
    validation_privacy: float = Field(
        1.0, ge=0.0, description="tables: weight of the copying penalty in the snapshot score: a "
        "snapshot whose rows lie closer to the training rows than to the validation rows (DCR share "
        "above 0.5 + one standard error) loses weight x the excess; 0: off")
    validate_every: int | None = Field(None, ge=1, description="steps in a round (a score, logged "
                                       "losses, checkpoints due); None: budget / 30, or whole epochs")
    patience: int = Field(8, ge=0, description="stop after this many scores without improvement (0: never)")
    resume: bool = Field(False, description="continue from the run's last checkpoint if there is one")
    progress: bool = True


class SampleConfig(_Strict):
    n: int | None = Field(None, ge=1)
    balance: Literal["equal", "fill"] | None = None
    classes: dict[str, int] = Field(default_factory=dict)
    seed: int = 0
    out: Path | None = None
    privacy_filter: bool = False
    mark_synthetic: bool = False

    @field_validator("classes")
    @classmethod
    def _whole_counts(cls, v: dict[str, int]) -> dict[str, int]:
        try:  # the classes are known once a model is: only the counts here
            return checked_counts(v)
        except SamplingError as e:
            raise ValueError(str(e)) from None


# Shares of the synthetic fill tried when adding synthetic data to real training data: the one
# with the best balanced accuracy on a validation part of real train is scored on test.
AUGMENT_SHARES = (0.0, 0.25, 0.5, 1.0)
SHARE_VALIDATION = 0.2  # part of the real train split held out to choose the share


class EvalConfig(_Strict):
    seeds: int = Field(5, ge=1, description="downstream classifier repeats")
    augment_shares: list[float] = Field(
        default_factory=lambda: list(AUGMENT_SHARES), min_length=1,
        description="shares of the synthetic fill tried on validation (0 = none, 1 = all)")
    share_validation: float = Field(
        SHARE_VALIDATION, gt=0.0, lt=0.5,
        description="part of real train held out to choose the share (never the test split)")
    detection_folds: int = Field(5, ge=2)
    max_rows: int = Field(5000, ge=100, description="rows per side used by the costlier metrics")
    # Images: the feature encoder and the downstream CNN are trained here, nothing downloaded.
    image_epochs: int = Field(10, ge=1, description="downstream CNN epochs per arm and seed")
    image_encoder_epochs: int = Field(8, ge=1, description="feature-encoder epochs")
    image_detection_epochs: int = Field(
        10, ge=0, description="epochs of the CNN that tries to tell synthetic from real images "
        "(0: skip)")
    image_max_images: int = Field(5000, ge=100, description="images per set used by fidelity")
    copy_quantile: float = Field(
        0.99, gt=0.5, lt=1.0, description="copy threshold: this quantile of unseen-real similarity"
    )

    @field_validator("augment_shares")
    @classmethod
    def _shares_in_range(cls, v: list[float]) -> list[float]:
        bad = [s for s in v if not 0.0 <= s <= 1.0]
        if bad:
            raise ValueError(f"shares of the synthetic fill must be in [0, 1], got {bad}")
        return sorted(set(v))


class TrackingConfig(_Strict):
    enabled: bool = True
    # None: MLFLOW_TRACKING_URI if set, else sqlite:///<cwd>/mlflow.db
    uri: str | None = None
    experiment: str | None = Field(None, description="default: synthgen-<dataset name>")
    register_model: bool = True


class FitConfig(_Strict):
    """Everything a ``fit`` needs; saved, resolved, with the model."""

    name: str | None = None
    runs_dir: Path = Path("runs")
    data: DataConfig = Field(default_factory=DataConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    model: ModelConfig | None = None  # None: chosen by the data's modality
    train: TrainConfig = Field(default_factory=TrainConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)


class PipelineConfig(_Strict):
    """``synthgen run pipeline.yaml``: fit -> sample -> evaluate -> report."""

    fit: FitConfig
    sample: SampleConfig = Field(default_factory=SampleConfig)
    evaluate: EvalConfig = Field(default_factory=EvalConfig)
    report_dir: Path | None = None


def default_model_config(modality: str) -> TabularModelConfig | ImageModelConfig:
    return TabularModelConfig() if modality == "tabular" else ImageModelConfig()


# Training length and batch depend on the backend; sized for a 2-core CPU (see configs/*.yaml).
TRAIN_DEFAULTS: dict[str, dict[str, int]] = {
    "tabular": {"max_steps": 3000},  # batch: sized from the table (trainer.plan_budget)
    # Images: a step budget from the data size, chosen when the data is known (image_budget).
    "image2d": {"batch_size": 64},
    "image3d": {"batch_size": 16},
}
# Image GANs: about this many passes over the training images, within [min, max] steps (more
# steps allowed on a GPU), and on a CPU at most cpu_minutes of training. On imbalanced
# PneumoniaMNIST 3000 steps beat 900 (minority precision 0.32 -> 0.63, coverage 0.71 -> 0.89).
IMAGE_BUDGET = {"epochs": 150, "min_steps": 1000, "max_steps_cpu": 3000, "max_steps_gpu": 10000,
                "cpu_minutes": 12.0}


def image_budget(train: TrainConfig, n_images: int, on_gpu: bool) -> TrainConfig:
    """Fill an image fit's budget when the user set none of epochs / max_steps / max_minutes."""
    if train.epochs is not None or train.max_steps is not None or train.max_minutes is not None:
        return train
    b = IMAGE_BUDGET
    per_epoch = max(1, n_images // max(min(train.batch_size, n_images), 1))
    cap = b["max_steps_gpu"] if on_gpu else b["max_steps_cpu"]
    steps = int(min(max(b["epochs"] * per_epoch, b["min_steps"]), cap))
    return train.model_copy(update={"max_steps": steps,
                                    "max_minutes": None if on_gpu else b["cpu_minutes"]})


def with_backend_defaults(train: TrainConfig, model: TabularModelConfig | ImageModelConfig) -> TrainConfig:
    """Fill the epochs/batch size the user did not set with the backend's defaults."""
    backend = "tabular" if model.kind == "tabular" else f"image{model.spatial_dims}d"
    defaults = TRAIN_DEFAULTS[backend]
    if train.epochs is not None or train.max_minutes is not None:
        defaults = {k: v for k, v in defaults.items() if k != "max_steps"}  # the user sized it
    unset = {k: v for k, v in defaults.items() if getattr(train, k) is None or k not in train.model_fields_set}
    return train.model_copy(update=unset)


class ConfigError(UserError):
    """A config file or option that cannot be used; the message is one readable line."""


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read config ({e.strerror or e})") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}:{where} is not valid YAML") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return doc


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into ``base`` recursively; ``None`` values in override are skipped."""
    out = dict(base)
    for key, value in override.items():
        if value is None:
            continue
        if isinstance(value, dict):
            out[key] = deep_merge(out.get(key) if isinstance(out.get(key), dict) else {}, value)
        else:
            out[key] = value
    return out


def first_error(e: ValidationError) -> tuple[str, str]:
    """A validation error's first problem: (its dotted location or "(top level)", its message)."""
    first = e.errors()[0]
    return ".".join(str(p) for p in first["loc"]) or "(top level)", first["msg"]


def validate(model: type[BaseModel], doc: dict[str, Any], source: str = "config") -> Any:
    """Build ``model`` from ``doc``; a validation error becomes one readable line."""
    try:
        return model.model_validate(doc)
    except ValidationError as e:
        loc, msg = first_error(e)
        raise ConfigError(f"{source}: {loc}: {msg}") from None
