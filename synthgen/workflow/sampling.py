"""``synthgen sample``: exact per-class counts from a fitted model, written in the input's own
format; ``--privacy-filter`` replaces samples too close to a training item."""

from __future__ import annotations

import datetime as _dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from synthgen.class_counts import resolve_class_counts
from synthgen.config import SampleConfig, TrackingConfig
from synthgen.errors import UserError
from synthgen.modalities import get_modality
from synthgen.models.artifact import load_model
from synthgen.tracking import make_tracker
from synthgen.workflow.run_folder import fit_run, load_splits, record_last_sample, resolve_model_dir, save_preview
from synthgen.workflow.say import say

PRIVACY_TOP_UP_ROUNDS = 10


@dataclass
class SampleResult:
    path: Path
    counts: dict[str, int]
    files: list[Path] = field(default_factory=list)
    filtered: int = 0
    privacy_threshold: float | None = None
    run_id: str | None = None


def sample(
    model_dir: str | Path | None,
    config: SampleConfig,
    *,
    tracking: TrackingConfig | None = None,
    parent_run_id: str | None = None,
    tracker=None,
    data_path: str | Path | None = None,
) -> SampleResult:
    """Draw exact per-class counts from a fitted model and write them in the input's format."""
    model_dir = resolve_model_dir(model_dir)
    synth, doc = load_model(model_dir)
    doc = fit_run(doc, model_dir)
    modality = get_modality(doc.kind)
    counts = resolve_class_counts(
        synth.class_counts_, n=config.n, balance=config.balance, classes=config.classes or None
    )
    out = Path(config.out) if config.out else modality.default_output(model_dir, doc)
    modality.check_output(out, doc)

    tracker = tracker or make_tracker(tracking or doc.tracking())
    tracker.check_reachable()
    with tracker.start_run(f"{doc.name}-sample", experiment=doc.experiment, run_type="sample", parent_run_id=parent_run_id) as run:
        tracker.log_params({"sample": config.model_dump(mode="json"), "model": str(model_dir)})
        samples = synth.generate(counts, seed=config.seed)
        filtered, threshold = 0, None
        if config.privacy_filter:
            samples, filtered, threshold = _privacy_filter(synth, modality, doc, model_dir, samples, counts, config.seed, data_path)
            say(f"privacy filter: dropped and replaced {filtered} samples closer to a training item than threshold {threshold:.4g}")
        files = modality.write_samples(samples, out, doc, config.mark_synthetic)
        record_last_sample(model_dir, {
            "path": str(out.resolve()),
            "counts": counts,
            "seed": config.seed,
            "privacy_filtered": filtered,
            "privacy_threshold": threshold,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        }, samples, modality, doc)
        tracker.log_metrics({f"count_{k}": v for k, v in counts.items()} | {"privacy_filtered": filtered})
        for fname, blob in modality.previews(samples, doc).items():
            tracker.log_artifact(save_preview(model_dir, f"sample_{fname}", blob), "previews")
        say(f"wrote {sum(counts.values())} synthetic samples to {out}")
    return SampleResult(out, counts, files, filtered, threshold, getattr(run, "run_id", None))


def _privacy_filter(synth, modality, doc, model_dir, samples, counts, seed, data_path=None):
    """Drop samples too close to a training item and draw replacements, so counts stay exact."""
    parts = load_splits(model_dir, doc, data_path)
    keep, threshold = modality.privacy_keep_mask(parts["train"], parts["holdout"], samples, doc)
    kept, dropped = modality.subset(samples, keep.nonzero()[0]), int((~keep).sum())
    for round_ in range(1, PRIVACY_TOP_UP_ROUNDS + 1):
        have = Counter(modality.labels_of(kept, doc))
        missing = {label: counts[label] - have.get(label, 0) for label in counts}
        if not any(missing.values()):
            return kept, dropped, threshold
        extra = synth.generate(missing, seed=seed + 7919 * round_)
        keep, _ = modality.privacy_keep_mask(parts["train"], parts["holdout"], extra, doc)
        dropped += int((~keep).sum())
        kept = modality.concat([kept, modality.subset(extra, keep.nonzero()[0])])
    raise UserError(
        f"privacy filter: after {PRIVACY_TOP_UP_ROUNDS} rounds the model still draws samples "
        f"closer to training items than {threshold:.4g} ({dropped} dropped); the model may be "
        "memorizing: refit with fewer epochs or more data"
    )
