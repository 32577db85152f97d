"""Class counts of the evaluated sets and what they imply, checked once for every modality."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

MIN_TEST_PER_CLASS = 10  # fewer test items of a class make its recall and AUROC mostly noise


def count_labels(labels: Iterable[str], classes: Iterable[str] = ()) -> dict[str, int]:
    """Items per class as plain ints, sorted by class; ``classes`` listed even when absent."""
    out = {str(c): 0 for c in classes}
    for label in labels:
        out[str(label)] = out.get(str(label), 0) + 1
    return dict(sorted(out.items()))


def class_warnings(counts: Mapping[str, Mapping[str, int]], noun: str) -> tuple[list[str], list[str]]:
    """(warnings, notes) from ``counts`` = split -> class -> n with train, test and synthetic.

    A class the synthetic sample lacks is a warning unless it is a largest training class and the
    sample holds only smaller classes: a ``fill`` sample adds what minority classes lack, by
    design, and nothing of the majority.
    """
    train, test, synth = counts["train"], counts["test"], counts["synthetic"]
    largest = max(train.values(), default=0)
    present = [c for c, n in synth.items() if n > 0]
    only_smaller = bool(present) and all(train.get(c, 0) < largest for c in present)
    warnings, notes = [], []
    for c in train:
        if synth.get(c, 0) == 0:
            by_design = train[c] == largest and only_smaller
            if by_design:
                notes.append(f"The synthetic sample holds no '{c}' {noun}: it tops up the smaller "
                             f"classes only (as a fill sample does), so '{c}' has no per-class "
                             "results and is compared in the class mix of the sample.")
            else:
                warnings.append(f"class '{c}' has no synthetic {noun}; its per-class results are "
                                "missing")
        n_test = test.get(c, 0)
        if n_test < MIN_TEST_PER_CLASS:
            warnings.append(f"class '{c}' has {n_test} test {noun} (fewer than "
                            f"{MIN_TEST_PER_CLASS}): its recall, AUROC and per-class figures are "
                            "unreliable")
    return warnings, notes
