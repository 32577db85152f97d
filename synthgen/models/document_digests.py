"""Which key of ``model.json`` was edited after the model was written.

The weights carry a SHA-256; the document carries one per key path (three levels deep), so an
edited document is refused with the key that changed, instead of failing later on a weight
shape that no longer fits ("size mismatch for generator.0.weight ..." blames the weights).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

DIGESTS = "content_sha256"
DEPTH = 3


def key_digests(doc: Mapping[str, Any]) -> dict[str, str]:
    """SHA-256 of every value, keyed by its dotted path, down to ``DEPTH`` levels of dicts."""
    plain = json.loads(json.dumps({k: v for k, v in doc.items() if k != DIGESTS}, default=str))
    out: dict[str, str] = {}
    _walk(plain, "", 1, out)
    return out


def _walk(node: Mapping[str, Any], prefix: str, depth: int, out: dict[str, str]) -> None:
    for key, value in node.items():
        path = f"{prefix}{key}"
        out[path] = hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()
        if isinstance(value, dict) and depth < DEPTH:
            _walk(value, f"{path}.", depth + 1, out)


def edited_key(doc: Mapping[str, Any]) -> str | None:
    """The deepest key path whose value changed, appeared or vanished; ``None`` if untouched
    (or written before documents carried digests)."""
    recorded = doc.get(DIGESTS)
    if not isinstance(recorded, dict):
        return None
    current = key_digests(doc)
    changed = [k for k in current if recorded.get(k) != current[k]]
    changed += [k for k in recorded if k not in current]
    return max(changed, key=lambda k: k.count(".")) if changed else None
