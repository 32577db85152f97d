"""Plain-language names for metric keys, so a clinician-researcher can read the headline.

Unknown keys fall back to the key itself; the imaging evaluation may add its own entries.
"""

from __future__ import annotations

LABELS: dict[str, str] = {
    "fidelity/column_shapes": "Column shapes (1−KS / 1−TVD, 1 = identical)",
    "fidelity/pair_trends": "Pair trends (correlation / contingency similarity, 1 = identical)",
    "fidelity/detection_auc": "Detection AUC: can a classifier tell synthetic from real? (0.5 = no)",
    "fidelity/precision": "k-NN precision: synthetic rows that fall among real ones (1 = all)",
    "fidelity/recall": "k-NN recall: real variety covered by synthetic rows (1 = all)",
    "memorization/dcr_share": "Share of synthetic rows closer to training than to holdout (0.5 = safe)",
    "memorization/exact_copy_share": "Share of synthetic rows that copy a training row exactly",
    "memorization/membership_auc": "Membership-inference AUC from distances (0.5 = safe)",
    "memorization/nndr_median": "Median nearest-neighbour distance ratio to training (low = close copies)",
}


IMAGE_LABELS = {
    "fidelity/fd_encoder": "Fréchet distance to real train, trained-encoder features (lower is better)",
    "fidelity/fd_encoder_baseline": "Same for unseen real test images (the real baseline)",
    "fidelity/kid_encoder": "Kernel distance (KID) to real train, encoder features (0 = same)",
    "fidelity/kid_encoder_baseline": "Same for unseen real test images (the real baseline)",
    "fidelity/precision_encoder": "Precision: synthetic images that look real (k=3, 1 = all)",
    "fidelity/recall_encoder": "Recall: real variety covered by synthetic images (k=3, 1 = all)",
    "fidelity/density_encoder": "Density (k=5, ~1 for real images)",
    "fidelity/coverage_encoder": "Coverage (k=5, 1 = all real neighbourhoods covered)",
    "diversity/ms_ssim_synthetic": "Mean MS-SSIM among synthetic images of a class (lower = more diverse)",
    "diversity/ms_ssim_real": "Mean MS-SSIM among real images of a class",
    "memorization/copy_rate_pixel": "Share of synthetic images closer (pixel correlation) to a training image than 99% of unseen real ones (≈0.01 is safe)",
    "memorization/copy_rate_encoder": "Same, by encoder-feature similarity (≈0.01 is safe)",
    "utility/cnn/balanced_accuracy/real": "Balanced accuracy of the CNN trained on real images only",
}
LABELS.update(IMAGE_LABELS)


def describe(key: str) -> str:
    if key in LABELS:
        return LABELS[key]
    parts = key.split("/")
    if parts[0] == "utility" and len(parts) == 4:
        model, metric, arm = parts[1:]
        metric, model = metric.replace("_", " "), _MODELS.get(model, model)
        if arm.startswith("gain_"):
            return f"{metric.capitalize()} gain from {_ARMS.get(arm[5:], arm[5:])} over real-only " \
                   f"training ({model})"
        return f"{metric.capitalize()} with {_ARMS.get(arm, arm)} training ({model})"
    return key


_MODELS = {"gbm": "gradient boosting", "logreg": "logistic regression", "cnn": "CNN"}
_ARMS = {"real": "real-only", "real_plus_synth": "adding synthetic rows",
         "synth_only": "synthetic-only", "class_weights": "class weights",
         "oversample": "random oversampling", "smote": "SMOTE-NC",
         "real_plus_augment": "classic augmentation", "real_class_weights": "class weights",
         "real_plus_synth_vs_augment": "adding synthetic images instead of classic augmentation"}
