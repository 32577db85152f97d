"""What an image evaluation can keep in the run folder because no synthetic image changes it.

* The trained feature encoder depends only on the real train images, their labels and its own
  settings. ``feature_encoder.safetensors`` holds its weights with the key and the loss curve
  in the metadata (nothing is unpickled).
* The real-only downstream arms (``real``, ``real_plus_augment``, ``real_class_weights``)
  depend only on the real train and test images and the seed. ``real_arms.json`` holds their
  test scores per (arm, seed), so a second evaluation (another sample of the same model) trains
  only the arms that use synthetic images; the pairing per seed is kept because a seed's
  cached scores are exactly what retraining would give.

Each file carries a key: a SHA-256 of the arrays it depends on (bytes and shape), the settings,
``CACHE_VERSION``, the device type, the torch version and, on the CPU, the thread count (the
last bits of a training can depend on it). A file whose key differs, or that cannot be read, is
refused and rebuilt; files are written atomically (a reader sees the old file or the new one).
A cache that cannot be written (a read-only run folder) costs time, never the evaluation.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from synthgen.evaluation.images.features import FeatureSpace, fit_encoder
from synthgen.vision.classifier import build_classifier

ENCODER_FILE = "feature_encoder.safetensors"
ARMS_FILE = "real_arms.json"
# Bump when network.py, training.py or augment.py change what the same inputs train into.
CACHE_VERSION = 1
# Arms whose training data holds no synthetic image.
REAL_ONLY_ARMS = ("real", "real_plus_augment", "real_class_weights")


def cache_key(arrays: Mapping[str, np.ndarray], settings: Mapping[str, Any], device: str) -> str:
    """SHA-256 of named arrays (dtype-normalised bytes and shapes) and settings, with the
    runtime facts a trained network depends on."""
    import torch

    kind = str(device).split(":")[0]
    meta = {"version": CACHE_VERSION, "device": kind, "torch": torch.__version__.split("+")[0],
            "threads": torch.get_num_threads() if kind == "cpu" else None,
            "shapes": {k: list(np.shape(v)) for k, v in arrays.items()}, **settings}
    h = hashlib.sha256(json.dumps(meta, sort_keys=True, default=str).encode())
    for name in sorted(arrays):
        a = np.asarray(arrays[name])
        a = a.astype(np.int64) if a.dtype.kind in "iub" else a.astype(np.float32)
        h.update(name.encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


# -- the feature encoder -------------------------------------------------------------------------
def save_encoder(path: Path, key: str, space: FeatureSpace) -> None:
    from safetensors.torch import save_file

    from synthgen.atomic import staged_file

    tensors = {k: v.detach().cpu().contiguous() for k, v in space.net.state_dict().items()}
    with staged_file(path) as tmp:
        save_file(tensors, str(tmp), metadata={"key": key, "losses": json.dumps(space.losses)})


def load_encoder(path: Path, key: str, image_shape: tuple[int, ...], n_classes: int, *,
                 seed: int, feature_dim: int, device: str) -> FeatureSpace | None:
    """The cached encoder if ``path`` holds one made with this ``key``; ``None`` otherwise."""
    from safetensors import safe_open

    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            if meta.get("key") != key:
                return None
            state = {k: f.get_tensor(k) for k in f.keys()}
        net = build_classifier(image_shape, n_classes, seed=seed, feature_dim=feature_dim)
        net.load_state_dict(state)
        losses = [float(v) for v in json.loads(meta.get("losses", "[]"))]
    except Exception:  # noqa: BLE001 - a damaged cache file is retrained, never trusted
        return None
    return FeatureSpace("encoder", net.eval(), losses, device)


def cached_encoder(
    cache_dir: Path | None, x: np.ndarray, y: np.ndarray, n_classes: int, *, epochs: int,
    seed: int, feature_dim: int, device: str, say: Callable[[str], None] = lambda _m: None,
) -> tuple[FeatureSpace, str]:
    """(encoder, how it was got): ``loaded``, ``trained`` (no cache), ``trained and cached``,
    ``retrained`` (the cached one was made from other images or settings) or ``trained; cache
    not written (<why>)``."""
    settings = dict(epochs=epochs, seed=seed, feature_dim=feature_dim, device=device)
    if cache_dir is None:
        return fit_encoder(x, y, n_classes, **settings), "trained"
    path = Path(cache_dir) / ENCODER_FILE
    key = cache_key({"x": x, "y": y}, {"what": "encoder", "n_classes": n_classes, "epochs": epochs,
                                       "seed": seed, "feature_dim": feature_dim}, device)
    space = load_encoder(path, key, tuple(x.shape[1:]), n_classes, seed=seed,
                         feature_dim=feature_dim, device=device)
    if space is not None:
        say(f"image evaluation: feature encoder loaded from {path}")
        return space, "loaded"
    stale = path.exists()
    if stale:
        say(f"image evaluation: {path} was made from other images or settings: retraining")
    space = fit_encoder(x, y, n_classes, **settings)
    try:
        save_encoder(path, key, space)
    except Exception as e:  # noqa: BLE001 - a read-only run folder must not stop the evaluation
        return space, f"trained; cache not written ({e})"
    return space, "retrained" if stale else "trained and cached"


# -- real-only arm scores ------------------------------------------------------------------------
class ArmScores:
    """Test scores (and the loss curve) of real-only arms per seed, for one key.

    ``get``/``put`` work in memory; ``save`` writes the file once, at the end. Entries made
    under another key (other images, settings or runtime) are dropped, not mixed in.
    """

    def __init__(self, cache_dir: Path | None, key: str):
        self.path = None if cache_dir is None else Path(cache_dir) / ARMS_FILE
        self.key, self.entries, self.refused, self.hits, self.added = key, {}, False, 0, 0
        if self.path is None or not self.path.is_file():
            return
        try:
            doc = json.loads(self.path.read_text())
            if doc.get("key") == key:
                self.entries = {k: v for k, v in doc["entries"].items()
                                if isinstance(v.get("scores"), dict)}
            else:
                self.refused = True
        except (OSError, ValueError, KeyError, AttributeError):
            self.refused = True

    def get(self, arm: str, seed: int) -> dict | None:
        entry = self.entries.get(f"{arm}/{seed}")
        if entry is not None:
            self.hits += 1
        return entry

    def put(self, arm: str, seed: int, scores: Mapping[str, float], losses: list[float]) -> None:
        self.entries[f"{arm}/{seed}"] = {"scores": dict(scores), "losses": list(losses)}
        self.added += 1

    def save(self) -> str:
        """How the cache was used, in words; written only when something was added."""
        if self.path is None:
            return "not cached"
        status = f"{self.hits} reused, {self.added} trained" + (
            " (the cached scores were made from other images or settings)" if self.refused else "")
        if self.added:
            from synthgen.atomic import write_text

            try:
                write_text(self.path, json.dumps({"key": self.key, "entries": self.entries}))
            except Exception as e:  # noqa: BLE001 - the scores are computed; caching is a bonus
                status += f"; cache not written ({e})"
        return status
