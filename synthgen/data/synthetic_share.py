"""How many synthetic items each class gets when a given share of it should be synthetic.

Shared by the scan dataset (``mixing.py``) and the imbalanced-learn sampler for tables.
"""

from __future__ import annotations

from collections.abc import Mapping

from synthgen.errors import SamplingError

Share = float | Mapping[str, float]


def synthetic_counts(real_counts: Mapping[str, int], share: Share) -> dict[str, int]:
    """Synthetic items per class so that ``share`` of each class's items are synthetic."""
    if isinstance(share, (int, float)):
        shares = dict.fromkeys(real_counts, share)
    else:  # labels as text, like class_counts_ (y may hold 0/1)
        shares = {str(label): s for label, s in share.items()}
    unknown = sorted(set(shares) - set(real_counts))
    if unknown:
        raise SamplingError(f"synthetic_share names class {unknown[0]!r}, which the real data "
                            f"lacks; classes: {', '.join(map(str, real_counts))}")
    counts = {}
    for label, real in real_counts.items():
        s = float(shares.get(label, 0.0))
        if not 0.0 <= s < 1.0:
            raise SamplingError(f"synthetic_share for class {label!r} must be in [0, 1), got {s}")
        counts[label] = int(round(real * s / (1.0 - s)))
    return counts
