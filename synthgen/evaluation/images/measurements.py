"""Everything the image evaluation measured, before it becomes metrics, verdicts and sections."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from synthgen.evaluation.images.detection import Detection
from synthgen.evaluation.images.diversity import SsimPlan
from synthgen.evaluation.images.inputs import ImageSets
from synthgen.evaluation.images.memorization import CopyCheck
from synthgen.evaluation.images.utility import UtilityResult

ALL = "all"  # the group name of the whole set, beside one group per class


@dataclass
class ImageMeasurements:
    sets: ImageSets
    fidelity: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # space/group
    encoder_accuracy: float = float("nan")
    encoder_losses: list[float] = field(default_factory=list)
    intensity: dict[str, dict[str, Any]] = field(default_factory=dict)  # group -> summary
    detection: Detection | None = None  # real train vs synthetic
    detection_baseline: Detection | None = None  # real train vs real test
    diversity: dict[str, dict[str, float]] = field(default_factory=dict)  # class -> real/synth
    ssim_plan: SsimPlan | None = None
    copies: list[CopyCheck] = field(default_factory=list)
    test_copy_share: float = 0.0  # synthetic images identical to a test image (leakage)
    utility: UtilityResult | None = None
    history: Any = None
    timings: dict[str, float] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
