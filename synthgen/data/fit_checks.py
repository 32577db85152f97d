"""Is there enough data for an honest fit? Warnings with numbers, or one error.

A GAN conditioned on a class it saw once can only replay that patient; a split with no rows
makes the memorization or downstream checks meaningless. ``check_splits`` refuses what no
model can fit honestly (a class with a single training item) and returns a warning line for
what it can fit only poorly (few items per class, empty holdout or test splits); the workflow
prints them and the report repeats them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from synthgen.data.splits import Splits
from synthgen.errors import DataError

MIN_TRAIN_PER_CLASS = 5  # fewer training items than this per class: the class is not learnt
SHOWN = 3  # classes named in a warning


def check_splits(labels: Sequence[str], splits: Splits, *, holdout: float, test: float) -> list[str]:
    """Warnings about a poor fit; ``DataError`` where no honest model can be fitted."""
    per_class = Counter(labels[i] for i in splits.train)
    single = sorted(label for label, n in per_class.items() if n == 1)
    if single:
        more = f" (and {len(single) - 1} more)" if len(single) > 1 else ""
        raise DataError(
            f"class {single[0]!r}{more} has a single training item: a generator conditioned on it "
            "can only copy that patient; add items, merge it into another class or drop its rows"
        )
    warnings = []
    small = sorted((n, label) for label, n in per_class.items() if n < MIN_TRAIN_PER_CLASS)
    if small:
        named = ", ".join(f"{label!r} ({n})" for n, label in small[:SHOWN])
        more = f" and {len(small) - SHOWN} more" if len(small) > SHOWN else ""
        warnings.append(
            f"{len(small)} of {len(per_class)} classes have fewer than {MIN_TRAIN_PER_CLASS} "
            f"training items: {named}{more}; the model cannot learn them and may copy their patients"
        )
    sizes = splits.sizes()
    empty = [name for name, share in (("holdout", holdout), ("test", test)) if share > 0 and sizes[name] == 0]
    if empty:
        warnings.append(
            f"{len(labels)} items are too few for the splits: the {' and '.join(empty)} "
            f"split{'s are' if len(empty) > 1 else ' is'} empty (train {sizes['train']}), so the "
            "report cannot check memorization or downstream use"
        )
    return warnings
