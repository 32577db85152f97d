"""How much of the synthetic fill to add to real training data, chosen on validation.

Adding every synthetic row is one guess among many; a user would tune the amount. The honest
way to tune it is on data the final score never sees: a stratified validation part is carved
out of the *real training* rows (the test split is not an argument here, so it cannot leak in),
a classifier is trained on the rest plus each candidate share of the synthetic fill, and the
share with the best validation balanced accuracy is chosen (ties: the smaller share, so "none"
wins a draw). The caller then scores real-only against real + that share once on the test
split, with the paired interval that decides "helps".

The same code serves tables and images: the caller hands in its own ``fit_predict``.

Caveat, stated in the report: the generator was fitted on all of real train, validation part
included, so synthetic rows may resemble validation rows; that can only favour larger shares on
validation, never the test score that decides the verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import balanced_accuracy_score

from synthgen.config import AUGMENT_SHARES, SHARE_VALIDATION

# (x_fit, y_fit, x_val, seed) -> predicted labels of x_val
FitPredict = Callable[[np.ndarray, np.ndarray, np.ndarray, int], np.ndarray]


@dataclass(frozen=True)
class ShareChoice:
    """The validation run: every share tried, its mean validation balanced accuracy, the pick."""

    shares: tuple[float, ...]
    scores: tuple[float, ...]  # mean over repeats, one per share
    chosen: float
    added: tuple[int, ...]  # synthetic rows/images each share adds (of the whole fill)
    n_fit: int  # real items the validation classifiers trained on
    n_validation: int  # real items they were scored on
    repeats: int

    def score(self, share: float) -> float:
        return self.scores[self.shares.index(share)]

    def evidence(self, noun: str = "rows") -> str:
        """The validation scores in words: what the choice rests on."""
        table = ", ".join(f"{share_label(s)} {v:.3f}" for s, v in zip(self.shares, self.scores))
        return (f"validation balanced accuracy on {self.n_validation} real training {noun} "
                f"held out from {self.n_fit + self.n_validation}: {table}")

    def describe(self, noun: str = "rows") -> str:
        """One sentence: the choice, in words that do not oversell share 0."""
        where = self.evidence(noun)
        if self.chosen == 0:
            return f"validation chose no synthetic data ({where})"
        return f"validation chose {share_label(self.chosen)} of the synthetic fill ({where})"


def share_label(share: float) -> str:
    return "none" if share == 0 else "all" if share == 1 else f"{share:.0%}"


def share_count(n: int, share: float) -> int:
    """Items of ``n`` a share takes, rounded half up (0.25 of 2 is 1, not banker's 0)."""
    return min(n, int(np.floor(share * n + 0.5)))


def share_indices(y: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """A stratified subset: ``share`` of each class's items, in a seeded order.

    With the same ``rng`` state a larger share holds every item of a smaller one (nested), so
    shares differ by the added items only.
    """
    y = np.asarray(y)
    picks = [rng.permutation(np.flatnonzero(y == c)) for c in np.unique(y)]
    out = [p[:share_count(len(p), share)] for p in picks]
    return np.sort(np.concatenate(out)).astype(np.int64) if out else np.zeros(0, np.int64)


def validation_split(y: np.ndarray, fraction: float, rng: np.random.Generator
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(fit, validation) indices, stratified; a class of two or more keeps one item on each
    side, a single item stays in fit."""
    y = np.asarray(y)
    fit, val = [], []
    for c in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == c))
        k = 0 if len(members) < 2 else min(len(members) - 1, max(1, share_count(len(members), fraction)))
        val.append(members[:k])
        fit.append(members[k:])
    return np.sort(np.concatenate(fit)), np.sort(np.concatenate(val))


def choose_share(
    real_x: np.ndarray, real_y: np.ndarray,
    synth_x: np.ndarray, synth_y: np.ndarray,
    fit_predict: FitPredict,
    *,
    shares: Sequence[float] = AUGMENT_SHARES,
    fraction: float = SHARE_VALIDATION,
    repeats: int = 1,
    seed: int = 0,
) -> ShareChoice:
    """Try each share on ``repeats`` stratified validation carvings of the real train items.

    Only real *training* items and the synthetic fill come in. Within a repeat every share uses
    the same carving, seed and nested synthetic subset, so the shares are compared paired.
    """
    shares = tuple(sorted({float(s) for s in shares}))
    real_y, synth_y = np.asarray(real_y), np.asarray(synth_y)
    per_share = {s: [] for s in shares}
    n_fit = n_val = 0
    for r in range(repeats):
        rng = np.random.default_rng([seed, r])
        fit, val = validation_split(real_y, fraction, rng)
        n_fit, n_val = len(fit), len(val)
        order_seed = int(rng.integers(2**31))
        for s in shares:
            take = share_indices(synth_y, s, np.random.default_rng(order_seed))
            x = np.concatenate([real_x[fit], synth_x[take]]) if len(take) else real_x[fit]
            y = np.concatenate([real_y[fit], synth_y[take]]) if len(take) else real_y[fit]
            pred = fit_predict(x, y, real_x[val], seed + r)
            per_share[s].append(float(balanced_accuracy_score(real_y[val], pred)))
    means = tuple(float(np.mean(per_share[s])) for s in shares)
    best = max(means)
    chosen = next(s for s, v in zip(shares, means) if v >= best - 1e-12)  # ties: smaller share
    added = tuple(len(share_indices(synth_y, s, np.random.default_rng(0))) for s in shares)
    return ShareChoice(shares, means, chosen, added, n_fit, n_val, repeats)


def share_metrics(choice: ShareChoice) -> dict[str, float]:
    """Flat metrics of a choice (the caller prefixes them): ``chosen_share`` and
    ``share_validation/<percent>``, the validation balanced accuracy of each share."""
    out = {"chosen_share": float(choice.chosen)}
    for share, score in zip(choice.shares, choice.scores):
        out[f"share_validation/{share * 100:g}"] = float(score)
    return out
