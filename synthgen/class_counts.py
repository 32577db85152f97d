"""How many samples of each class: the one check of requested counts, and the arithmetic of
``--n`` / ``--balance`` / ``--class``.

Every door a request comes through (the CLI's ``--class``, a pipeline's ``sample.classes``,
``Synthesizer.sample`` / ``generate`` from Python, an HTTP request to the served model) is
checked by ``checked_counts``, so each says the same thing about the same mistake. Imports
nothing of synthgen but its errors: ``config`` uses it too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from synthgen.errors import SamplingError

BALANCE_MODES = ("equal", "fill")
# One call draws at most this many samples: beyond it a typo (an extra zero or three) would
# try to allocate terabytes. Larger samples are several calls with different seeds.
MAX_SAMPLES = 10_000_000


def checked_counts(
    requested: Mapping[Any, Any] | Iterable[tuple[Any, Any]],
    classes: Sequence[str] | None = None,
    *,
    nothing: str | None = None,
) -> dict[str, int]:
    """``{label: count}`` with every count a whole number >= 0 and every label a training class.

    ``requested``: a mapping, or ``(label, count)`` pairs whose repeated labels add up (one
    request row per class). ``classes``: the training classes; the result then lists each of
    them in training order (0 where not asked for). ``None`` before a model is known (a
    config): only the counts are checked. ``nothing``: who asked, when a request for no sample
    at all is an error (``"--class"`` says "--class counts add up to 0").
    """
    pairs = requested.items() if isinstance(requested, Mapping) else requested
    out: dict[str, int] = dict.fromkeys(classes, 0) if classes is not None else {}
    for label, count in pairs:
        label = str(label)
        if classes is not None and label not in out:
            raise SamplingError(
                f"class {label!r} was never seen in training; known classes: {', '.join(classes)}"
            )
        out[label] = out.get(label, 0) + _whole_count(label, count)
    if nothing is not None and sum(out.values()) == 0:
        raise SamplingError(f"{nothing} counts add up to 0: nothing to sample")
    return out


def _whole_count(label: str, count: Any) -> int:
    """A number that is whole and >= 0 (3.0 from JSON is 3); text such as ``"3"`` is refused."""
    if isinstance(count, int) and not isinstance(count, bool):
        value = count
    elif isinstance(count, (str, bytes, bool)):
        value = math.nan
    else:
        try:
            value = float(count)
        except (TypeError, ValueError):
            value = math.nan
        value = int(value) if math.isfinite(value) and value == int(value) else math.nan
    if not isinstance(value, int) or value < 0:
        raise SamplingError(f"count for class {label!r} must be a whole number >= 0, got {count!r}")
    return value


def resolve_class_counts(
    train_counts: Mapping[str, int],
    *,
    n: int | None = None,
    balance: str | None = None,
    classes: Mapping[str, int] | None = None,
) -> dict[str, int]:
    """How many samples of each class to draw.

    - ``classes={"malignant": 300}``: exactly these counts (other classes get 0).
    - ``balance="equal"``: ``n`` split evenly across classes (remainder to the first classes).
    - ``balance="fill"``: each class gets what it lacks to match the largest training class;
      with ``n`` as well, the rest of ``n`` is spread evenly so real + synthetic stays balanced.
    - neither: ``n`` split in the training proportions (largest remainder).
    """
    counts = _resolve(train_counts, n=n, balance=balance, classes=classes)
    total = sum(counts.values())
    if total > MAX_SAMPLES:
        asked = f"--class {dict(classes)}" if classes else f"--n {n}" if n is not None else "--balance fill"
        raise SamplingError(
            f"{asked} asks for {total} samples; at most {MAX_SAMPLES} per call "
            "(draw more in several calls with different --seed values)"
        )
    return counts


def _resolve(train_counts, *, n, balance, classes) -> dict[str, int]:
    labels = list(train_counts)
    if classes:
        if n is not None or balance is not None:
            raise SamplingError("--class sets exact counts: do not combine it with --n or --balance")
        return checked_counts(classes, labels, nothing="--class")
    if balance is not None and balance not in BALANCE_MODES:
        raise SamplingError(f"--balance must be one of {', '.join(BALANCE_MODES)}, got {balance!r}")
    if n is not None and n < 1:
        raise SamplingError(f"--n must be a positive number of samples, got {n}")
    if balance == "fill":
        return _fill(train_counts, n)
    if n is None:
        raise SamplingError("say how many samples: --n N, --balance fill, or --class LABEL=COUNT")
    if balance == "equal":
        return _split_evenly(n, labels)
    return _split_proportionally(n, train_counts)


def _fill(train_counts: Mapping[str, int], n: int | None) -> dict[str, int]:
    labels = list(train_counts)
    target = max(train_counts.values())
    counts = {label: target - train_counts[label] for label in labels}
    missing = sum(counts.values())
    if n is not None:
        if n < missing:
            raise SamplingError(
                f"--n {n} is less than the {missing} samples --balance fill needs to match "
                "the majority class"
            )
        extra = _split_evenly(n - missing, labels)
        counts = {label: counts[label] + extra[label] for label in labels}
    if sum(counts.values()) == 0:
        raise SamplingError("the training classes are already balanced: --balance fill has nothing to add")
    return counts


def _split_evenly(n: int, labels: list[str]) -> dict[str, int]:
    base, rest = divmod(n, len(labels))
    return {label: base + (i < rest) for i, label in enumerate(labels)}


def _split_proportionally(n: int, weights: Mapping[str, int]) -> dict[str, int]:
    total = sum(weights.values())
    exact = {label: n * w / total for label, w in weights.items()}
    counts = {label: int(x) for label, x in exact.items()}
    by_remainder = sorted(exact, key=lambda label: exact[label] - counts[label], reverse=True)
    for label in by_remainder[: n - sum(counts.values())]:
        counts[label] += 1
    return counts
