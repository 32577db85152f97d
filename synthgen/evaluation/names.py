"""The one table of names: training arms, classifiers, downstream metrics and metric labels.

Evaluations use it to word their verdicts and to build headline metrics; the report uses the
labels it carries. A key without an entry falls back to a label built from its parts, never to
the raw ``/``-joined key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from synthgen.evaluation.findings import Direction, HeadlineMetric

ARMS = {
    "real": "real only",
    "real_plus_chosen": "real + synthetic, share chosen on validation",
    "real_plus_synth": "real + all synthetic",
    "synth_only": "synthetic only (TSTR)",
    "class_weights": "class weights",
    "real_class_weights": "class weights",
    "oversample": "random oversampling",
    "smote": "SMOTE-NC",
    "real_plus_augment": "real + classic augmentation",
    "real_plus_synth_vs_augment": "real + all synthetic instead of classic augmentation",
    "real_plus_chosen_vs_augment": "real + chosen synthetic share instead of classic augmentation",
}
SYNTHETIC_ARMS = ("real_plus_chosen", "real_plus_synth", "synth_only",
                  "real_plus_synth_vs_augment", "real_plus_chosen_vs_augment")
MODELS = {"gbm": "gradient boosting", "logreg": "logistic regression", "cnn": "CNN"}
# Downstream test metrics, in the order tables show them.
METRICS = {
    "balanced_accuracy": "balanced accuracy",
    "macro_f1": "macro F1",
    "auroc": "AUROC",
    "minority_recall": "minority-class recall",
}

_H, _L, _T, _C = Direction.HIGHER, Direction.LOWER, Direction.TARGET, Direction.CONTEXT
# key -> (label, direction, kind)
LABELS: dict[str, tuple[str, Direction, str]] = {
    "fidelity/column_shapes": ("Column shapes (1−KS / 1−TVD, 1 = identical)", _H, "number"),
    "fidelity/pair_trends": ("Pair trends (correlation / contingency similarity, 1 = identical)",
                             _H, "number"),
    "fidelity/detection_auc": ("Detection AUC: can a classifier tell synthetic from real? "
                               "(0.5 = no)", _T, "number"),
    "fidelity/detection_auc_baseline": ("Detection AUC between real test and train images (the "
                                        "real baseline)", _C, "number"),
    "fidelity/precision": ("k-NN precision: synthetic rows that fall among real ones (1 = all)",
                           _H, "number"),
    "fidelity/recall": ("k-NN recall: real variety covered by synthetic rows (1 = all)", _H,
                        "number"),
    "memorization/dcr_share": ("Share of synthetic rows closer to training than to holdout "
                               "(0.5 = safe)", _T, "share"),
    "memorization/exact_copy_share": ("Share of synthetic rows that copy a training row exactly",
                                      _L, "share"),
    "memorization/membership_auc": ("Membership-inference AUC from distances (0.5 = safe)", _T,
                                    "number"),
    "memorization/nndr_median": ("Median nearest-neighbour distance ratio to training "
                                 "(low = close copies)", _H, "number"),
    "fidelity/fd_encoder": ("Fréchet distance to real train, trained-encoder features", _L,
                            "number"),
    "fidelity/fd_encoder_baseline": ("Fréchet distance of unseen real test images (the real "
                                     "baseline)", _C, "number"),
    "fidelity/kid_encoder": ("Kernel distance (KID) to real train, encoder features (0 = same)",
                             _L, "number"),
    "fidelity/kid_encoder_baseline": ("KID of unseen real test images (the real baseline)", _C,
                                      "number"),
    "fidelity/precision_encoder": ("Precision: synthetic images that look real (k=3, 1 = all)",
                                   _H, "number"),
    "fidelity/recall_encoder": ("Recall: real variety covered by synthetic images (k=3, 1 = all)",
                                _H, "number"),
    "fidelity/density_encoder": ("Density (k=5, about 1 for real images)", _T, "number"),
    "fidelity/coverage_encoder": ("Coverage (k=5, 1 = all real neighbourhoods covered)", _H,
                                  "number"),
    "fidelity/fd_random": ("Fréchet distance in a fixed random network's features (a check)",
                           _L, "number"),
    "fidelity/fd_random_baseline": ("Same for unseen real test images (the real baseline)", _C,
                                    "number"),
    "diversity/ms_ssim_synthetic": ("Mean MS-SSIM among synthetic images of a class "
                                    "(lower = more diverse)", _T, "number"),
    "diversity/ms_ssim_real": ("Mean MS-SSIM among real training images of a class", _C,
                               "number"),
    "diversity/ms_ssim_test": ("Mean MS-SSIM among real test images of a class", _C, "number"),
    "memorization/copy_rate_pixel": ("Synthetic images closer (pixel correlation) to a training "
                                     "image than 99% of unseen real ones (about 1% is safe)", _L,
                                     "share"),
    "memorization/copy_rate_encoder": ("Same, by encoder-feature similarity (about 1% is safe)",
                                       _L, "share"),
}


def arm_label(arm: str) -> str:
    return ARMS.get(arm, arm.replace("_", " "))


def metric_label(metric: str) -> str:
    return METRICS.get(metric, metric.replace("_", " "))


def _utility_label(model: str, metric: str, arm: str) -> tuple[str, Direction, str]:
    model_name, what = MODELS.get(model, model), metric_label(metric)
    if arm.startswith("gain_"):
        arm = arm.removeprefix("gain_")
        if arm.endswith("_vs_augment"):
            which = "the chosen share of" if arm.startswith("real_plus_chosen") else "all"
            return (f"Gain in {what} from {which} synthetic images instead of classic "
                    f"augmentation ({model_name})", _H, "signed")
        return f"Gain in {what}, {arm_label(arm)} vs real only ({model_name})", _H, "signed"
    return f"{what.capitalize()}, trained on {arm_label(arm)} ({model_name})", _H, "number"


def _share_label(parts: list[str]) -> tuple[str, Direction, str] | None:
    """``utility/<model>/chosen_share`` and ``utility/<model>/share_validation/<percent>``."""
    model_name = MODELS.get(parts[1], parts[1])
    if len(parts) == 3 and parts[2] == "chosen_share":
        return (f"Share of the synthetic fill chosen on validation ({model_name})", _C, "share")
    if len(parts) == 4 and parts[2] == "share_validation":
        return (f"Validation balanced accuracy with {parts[3]}% of the synthetic fill "
                f"({model_name})", _C, "number")
    return None


def describe(key: str) -> tuple[str, Direction, str]:
    """(label, direction, kind) of a metric key; unknown keys get a label from their parts."""
    if key in LABELS:
        return LABELS[key]
    parts = key.split("/")
    if parts[0] == "utility" and len(parts) >= 3 and _share_label(parts):
        return _share_label(parts)
    if parts[0] == "utility" and len(parts) == 4:
        return _utility_label(*parts[1:])
    words = " ".join(p.replace("_", " ") for p in parts[1:] or parts)
    return words[:1].upper() + words[1:], _C, "number"


def headline(keys: Iterable[str], metrics: Mapping[str, float]) -> list[HeadlineMetric]:
    """Headline entries for the keys present in ``metrics``; a gain carries its interval."""
    out = []
    for key in keys:
        if key not in metrics:
            continue
        label, direction, kind = describe(key)
        low, high = metrics.get(f"{key}_low"), metrics.get(f"{key}_high")
        interval = (low, high) if low is not None and high is not None else None
        out.append(HeadlineMetric(key, label, metrics[key], direction, kind, interval))
    return out
