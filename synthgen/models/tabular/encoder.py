"""Table <-> network rows: mode-specific normalization and one-hot categories (CTGAN's encoding).

- Numeric columns (continuous, integer, datetime in seconds): a variational Gaussian mixture
  is fitted on a seeded subsample of at most ``gmm_max_rows`` values; a value becomes its
  mode (drawn from the posterior, as CTGAN does) and ``(x - mean) / (4 std)`` of that mode.
  Values held by at least ``spike_share`` of the rows are exact modes of their own (spikes).
- Categorical / boolean columns: one block over the categories; beyond ``max_categories``
  the rarest are pooled into one ``__other__`` slot, decoded back by drawing one of them in
  proportion to its training frequency (so category sets stay exact).
- Missing values: a numeric column with NaN gets a 2-way present/missing block (missing rows
  borrow a random observed value for their scalar and mode); a categorical column gets a
  "missing" slot.

The encoded table is kept compact — float32 scalars and int64 block codes per row, never a
dense rows x categories matrix; ``SpanLayout.dense`` builds one-hot rows per batch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthgen.data.schema import (
    DISCRETE_KINDS,
    ColumnSpec,
    TableSchema,
    category_codes,
    numeric_values,
)
from synthgen.models.tabular.gmm import Mixture, fit_mixture
from synthgen.models.tabular.spans import Span, SpanLayout

OTHER = "__other__"


@dataclass
class NumericColumn:
    """``spikes``: values that hold at least ``spike_share`` of the column's rows (zeros of
    capital gain, 40 hours a week), each an exact mode of its own before the mixture's modes
    (CTAB-GAN's mixed type): a Gaussian mode at a point mass has a width of its variance floor,
    and decoding through it turned Adult's 91% zero capital gains into 46% small positive ones."""

    name: str
    weights: list[float]
    means: list[float]
    stds: list[float]
    has_missing: bool
    spikes: list[float] = field(default_factory=list)

    @property
    def mixture(self) -> Mixture:
        return Mixture(np.array(self.weights), np.array(self.means), np.array(self.stds))

    def spans(self) -> list[Span]:
        modes = len(self.spikes) + len(self.means)
        spans = [Span(self.name, "value", 1, "tanh"), Span(self.name, "mode", modes, "softmax")]
        if self.has_missing:
            spans.append(Span(self.name, "missing", 2, "softmax"))
        return spans

    @classmethod
    def fit(cls, x: np.ndarray, spec: ColumnSpec, max_modes: int, max_rows: int, rng,
            spike_share: float = 0.0) -> NumericColumn:
        observed = x[~np.isnan(x)]
        if len(observed) > max_rows:
            observed = rng.choice(observed, size=max_rows, replace=False)
        spikes: list[float] = []
        if spike_share > 0 and len(observed):
            values, counts = np.unique(observed, return_counts=True)
            spikes = values[counts >= spike_share * len(observed)].tolist()
            observed = observed[~np.isin(observed, spikes)]
        if spikes and len(observed) == 0:  # every value is a spike: no mixture
            return cls(spec.name, [], [], [], spec.has_missing, spikes)
        m = fit_mixture(observed, max_modes)
        return cls(spec.name, m.weights.tolist(), m.means.tolist(), m.stds.tolist(), spec.has_missing, spikes)

    def encode(self, x: np.ndarray, rng) -> tuple[np.ndarray, list[np.ndarray]]:
        missing = np.isnan(x)
        if missing.any():
            x = x.copy()
            x[missing] = rng.choice(x[~missing], size=int(missing.sum()))
        spikes = np.asarray(self.spikes, dtype=np.float64)
        mode = np.zeros(len(x), dtype=np.int64)
        scalar = np.zeros(len(x), dtype=np.float64)
        at_spike = np.isin(x, spikes)
        mode[at_spike] = np.searchsorted(spikes, x[at_spike])
        rest = ~at_spike
        if rest.any():
            mix = self.mixture
            if len(mix.means) == 0:  # a value the fit never saw as a non-spike: the nearest spike
                mode[rest] = np.abs(x[rest, None] - spikes).argmin(axis=1)
            else:
                # Draw each value's mode from its posterior (vectorized inverse-CDF draw).
                drawn = mix.draw_modes(x[rest], rng.random(int(rest.sum())))
                mode[rest] = len(spikes) + drawn
                scalar[rest] = (x[rest] - mix.means[drawn]) / (4 * mix.stds[drawn])
        codes = [mode] + ([missing.astype(np.int64)] if self.has_missing else [])
        return scalar, codes

    def decode(self, scalar: np.ndarray, codes: list[np.ndarray]) -> np.ndarray:
        n_spikes = len(self.spikes)
        mode = codes[0]
        gmm = np.clip(mode - n_spikes, 0, max(len(self.means) - 1, 0))
        if self.means:
            x = scalar * 4 * np.asarray(self.stds)[gmm] + np.asarray(self.means)[gmm]
        else:
            x = np.zeros(len(mode))
        if n_spikes:
            x = np.where(mode < n_spikes, np.asarray(self.spikes)[np.minimum(mode, n_spikes - 1)], x)
        if self.has_missing:
            x = np.where(codes[1] == 1, np.nan, x)
        return x


@dataclass
class CategoryColumn:
    name: str
    kept: list[int]  # indices into spec.categories, one slot each
    pooled: list[int] = field(default_factory=list)  # indices sharing the __other__ slot
    pooled_counts: list[int] = field(default_factory=list)
    has_missing: bool = False

    @property
    def other_slot(self) -> int | None:
        return len(self.kept) if self.pooled else None

    @property
    def missing_slot(self) -> int | None:
        return len(self.kept) + bool(self.pooled) if self.has_missing else None

    @property
    def dim(self) -> int:
        return len(self.kept) + bool(self.pooled) + self.has_missing

    def spans(self) -> list[Span]:
        return [Span(self.name, "category", self.dim, "softmax")]

    @classmethod
    def fit(cls, codes: np.ndarray, spec: ColumnSpec, max_categories: int) -> CategoryColumn:
        counts = np.bincount(codes[codes >= 0], minlength=len(spec.categories))
        if len(counts) <= max_categories:
            return cls(spec.name, list(range(len(counts))), has_missing=spec.has_missing)
        by_freq = np.argsort(-counts, kind="stable")
        kept = sorted(by_freq[: max_categories - 1].tolist())
        pooled = sorted(by_freq[max_categories - 1 :].tolist())
        return cls(spec.name, kept, pooled, counts[pooled].tolist(), spec.has_missing)

    def encode(self, codes: np.ndarray) -> np.ndarray:
        """Category indices (-1: missing) -> slots of this column's block."""
        lookup = np.empty(len(self.kept) + len(self.pooled) + 1, dtype=np.int64)
        lookup[self.kept] = np.arange(len(self.kept))
        lookup[self.pooled] = self.other_slot if self.pooled else 0
        lookup[-1] = self.missing_slot if self.has_missing else 0  # codes == -1 index this slot
        return lookup[codes]

    def decode(self, slots: np.ndarray, rng) -> np.ndarray:
        """Indices into spec.categories, -1 for missing."""
        out = np.full(len(slots), -1, dtype=np.int64)
        is_kept = slots < len(self.kept)
        out[is_kept] = np.asarray(self.kept, dtype=np.int64)[slots[is_kept]]
        if self.pooled:
            is_other = slots == self.other_slot
            p = np.asarray(self.pooled_counts, dtype=np.float64)
            out[is_other] = rng.choice(self.pooled, size=int(is_other.sum()), p=p / p.sum())
        return out


class TableEncoder:
    """Encodes the schema's feature columns (everything but the condition)."""

    def __init__(self, columns: list[NumericColumn | CategoryColumn]):
        self.columns = columns
        self.layout = SpanLayout([s for c in columns for s in c.spans()])

    @classmethod
    def fit(
        cls,
        df: pd.DataFrame,
        schema: TableSchema,
        *,
        max_modes: int,
        gmm_max_rows: int,
        max_categories: int,
        spike_share: float = 0.0,
        seed: int = 0,
    ) -> TableEncoder:
        rng = np.random.default_rng(seed)
        columns: list[NumericColumn | CategoryColumn] = []
        for spec in schema.features:
            if spec.kind in DISCRETE_KINDS:
                columns.append(CategoryColumn.fit(category_codes(df[spec.name], spec), spec, max_categories))
            else:
                x = numeric_values(df[spec.name], spec)
                columns.append(NumericColumn.fit(x, spec, max_modes, gmm_max_rows, rng, spike_share))
        return cls(columns)

    def transform(self, df: pd.DataFrame, schema: TableSchema, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(scalars float32 (N, n_scalars), block codes int64 (N, n_blocks)) in layout order."""
        rng = np.random.default_rng(seed)
        scalars, codes = [], []
        for col in self.columns:
            spec = schema[col.name]
            if isinstance(col, CategoryColumn):
                codes.append(col.encode(category_codes(df[col.name], spec)))
            else:
                scalar, col_codes = col.encode(numeric_values(df[col.name], spec), rng)
                scalars.append(scalar)
                codes.extend(col_codes)
        n = len(df)
        return (
            np.stack(scalars, axis=1).astype(np.float32) if scalars else np.zeros((n, 0), np.float32),
            np.stack(codes, axis=1).astype(np.int64) if codes else np.zeros((n, 0), np.int64),
        )

    def decode(self, scalars: np.ndarray, codes: np.ndarray, seed: int = 0) -> dict[str, np.ndarray]:
        """Model values per feature column: float64 for numeric kinds (NaN: missing), indices
        into ``spec.categories`` for discrete kinds (-1: missing). Vectorized per column."""
        rng = np.random.default_rng(seed)
        out: dict[str, np.ndarray] = {}
        s = b = 0
        for col in self.columns:
            if isinstance(col, CategoryColumn):
                out[col.name] = col.decode(codes[:, b], rng)
                b += 1
            else:
                k = 1 + col.has_missing
                out[col.name] = col.decode(scalars[:, s].astype(np.float64), [codes[:, b + j] for j in range(k)])
                s += 1
                b += k
        return out

    def inverse(self, scalars: np.ndarray, codes: np.ndarray, schema: TableSchema, seed: int = 0) -> pd.DataFrame:
        """Model values per feature column: floats for numeric kinds, original values otherwise."""
        out: dict[str, Any] = {}
        for name, values in self.decode(scalars, codes, seed).items():
            categories = schema[name].categories
            if schema[name].kind in DISCRETE_KINDS:
                table = np.empty(len(categories) + 1, dtype=object)
                table[:-1] = categories
                table[-1] = None  # index -1
                values = table[values]
            out[name] = values
        return pd.DataFrame(out)

    def to_dict(self) -> list[dict[str, Any]]:
        return [{"type": type(c).__name__, **asdict(c)} for c in self.columns]

    @classmethod
    def from_dict(cls, items: list[dict[str, Any]]) -> TableEncoder:
        types = {"NumericColumn": NumericColumn, "CategoryColumn": CategoryColumn}
        return cls([types[item["type"]](**{k: v for k, v in item.items() if k != "type"}) for item in items])
