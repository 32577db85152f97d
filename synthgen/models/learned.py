"""What every fitted synthesizer knows, whatever its kind.

``model.json`` stores it once, at the top of the document; each synthesizer's own
``metadata()`` holds the rest of its state. Its own module: the contract (``base``) and the
document (``run_document``) both use it, and neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Learned:
    condition: str  # the condition column / label name
    class_counts: dict[str, int]  # {label: count in the training split}, in a stable order
    history: dict[str, list[float]]  # {loss or score name: [value per round]}
