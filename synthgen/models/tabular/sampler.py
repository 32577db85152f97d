"""Conditions for the generator: the class label (always) plus CTGAN's training-by-sampling.

Every generator and discriminator input carries ``[class one-hot | category condition]``. The
class one-hot is what makes class-conditional sampling exact. The category condition is
CTGAN's conditional vector: one categorical column and one of its values, or nothing.

Training (``TrainingSampler.draw``): pick a column uniformly among the categorical columns and
the class column itself, a value of it with probability ~ log(1 + frequency), then a real row
holding that value; the row's class is the class condition. Picking the class column leaves the
category condition empty and samples classes by log-frequency, so minority classes are seen
more often than their share. All of it is a few tensor operations per batch (CTGAN loops over
rows in Python here).

Generation (``draw_generation_conditions``): for a given class, the same column choice and a
value drawn with its frequency within that class (``class_value_counts``, saved with the model).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from synthgen.models.tabular.spans import SpanLayout


@dataclass
class Conditions:
    classes: torch.Tensor  # (n,) class index
    column: torch.Tensor  # (n,) categorical column index; == n_columns means "none"
    value: torch.Tensor  # (n,) slot within that column's block (ignored for "none")


class ConditionCoder:
    """Turns ``Conditions`` into network inputs and loss targets."""

    def __init__(self, n_classes: int, layout: SpanLayout):
        self.n_classes = n_classes
        # categorical columns = the layout's "category" blocks
        blocks = [i for i, s in enumerate(layout.block_spans) if s.role == "category"]
        self.column_blocks = torch.tensor(blocks, dtype=torch.long)
        self.column_dims = [layout.block_spans[i].dim for i in blocks]
        dims = torch.tensor(self.column_dims + [1], dtype=torch.long)  # +1: "none" slot, unused
        self.column_offsets = torch.cumsum(dims, 0) - dims
        self.category_dim = int(sum(self.column_dims))
        self.dim = n_classes + self.category_dim

    @property
    def n_columns(self) -> int:
        return len(self.column_dims)

    def to(self, device: torch.device) -> ConditionCoder:
        self.column_offsets = self.column_offsets.to(device)
        self.column_blocks = self.column_blocks.to(device)
        return self

    def positions(self, cond: Conditions) -> torch.Tensor:
        """(n, 2) long: where ``encode`` puts its two ones (class, category slot); a "none"
        category points one past the end (``dim``), a sink that ``encode`` cuts off."""
        position = self.n_classes + self.column_offsets[cond.column] + cond.value
        position = torch.where(cond.column == self.n_columns, self.dim, position)
        return torch.stack([cond.classes, position], dim=1)

    def encode(self, cond: Conditions) -> torch.Tensor:
        """(n, n_classes + category_dim) float: class one-hot, then the category condition."""
        n = cond.classes.shape[0]
        out = torch.zeros(n, self.dim + 1, device=cond.classes.device)  # +1: sink for "none"
        out.scatter_(1, self.positions(cond), 1.0)
        return out[:, : self.dim]


class TrainingSampler:
    """Training-by-sampling over the real rows; every draw is a handful of tensor ops."""

    def __init__(self, classes: torch.Tensor, block_codes: torch.Tensor, coder: ConditionCoder):
        """``classes`` (N,) and the encoded table's block codes (N, n_blocks), same device."""
        device = classes.device
        category_codes = block_codes[:, coder.column_blocks]
        n_rows = classes.shape[0]
        codes = torch.cat([category_codes, classes[:, None]], dim=1)  # class column last
        dims = torch.tensor(coder.column_dims + [coder.n_classes], device=device)
        offsets = torch.cumsum(dims, 0) - dims
        flat = (codes + offsets).T.reshape(-1)  # global value id of every (column, row)
        counts = torch.bincount(flat, minlength=int(dims.sum()))
        self.coder = coder
        self.rows_by_value = torch.argsort(flat, stable=True) % n_rows
        self.value_start = torch.cumsum(counts, 0) - counts
        self.value_count = counts
        self.offsets = offsets
        self.classes = classes
        self.category_codes = category_codes
        # log-frequency value probabilities per column, padded to the widest column
        logp = torch.zeros(len(dims), int(dims.max()), device=device)
        for j, (o, d) in enumerate(zip(offsets.tolist(), dims.tolist())):
            logp[j, :d] = torch.log1p(counts[o : o + d].float())
        self.value_probs = logp / logp.sum(dim=1, keepdim=True)

    def draw(self, n: int, generator: torch.Generator) -> tuple[Conditions, torch.Tensor]:
        """``n`` conditions and, for each, a real row index that satisfies it."""
        device = self.classes.device
        column = torch.randint(0, len(self.offsets), (n,), generator=generator, device=device)
        # multinomial costs (n x widest column) exponentials (~10% of a step with a 1,000-slot
        # column); GroupedCategorical would be cheaper but would change every seeded model.
        value = torch.multinomial(self.value_probs[column], 1, generator=generator).squeeze(1)
        rows = self._rows_with(column, value, generator)
        # For the class column ("none") the value was a class index: Conditions wants 0 there,
        # since a class index can overflow the last category block (3 classes, boolean last).
        value = torch.where(column == self.coder.n_columns, 0, value)
        return Conditions(self.classes[rows], column, value), rows

    def rows_for(self, cond: Conditions, generator: torch.Generator) -> torch.Tensor:
        """Fresh real rows satisfying ``cond`` (its class when the column is "none")."""
        value = torch.where(cond.column == self.coder.n_columns, cond.classes, cond.value)
        return self._rows_with(cond.column, value, generator)

    def _rows_with(self, column: torch.Tensor, value: torch.Tensor, generator) -> torch.Tensor:
        g = self.offsets[column] + value
        u = torch.rand(g.shape, generator=generator, device=g.device)
        pick = (u * self.value_count[g]).long().clamp_max(self.value_count[g] - 1)
        return self.rows_by_value[self.value_start[g] + pick]

    def class_value_counts(self) -> torch.Tensor:
        """(n_classes, category_dim) counts of each category slot within each class."""
        n_rows = self.classes.shape[0]
        out = torch.zeros(self.coder.n_classes, self.coder.category_dim, device=self.classes.device)
        ones = torch.ones(n_rows, device=out.device)
        for j in range(self.coder.n_columns):
            slots = self.coder.column_offsets[j] + self.category_codes[:, j]
            out.index_put_((self.classes, slots), ones, accumulate=True)
        return out


class GroupedCategorical:
    """Draws a value from one of G categorical distributions per sample, one uniform each.

    ``torch.multinomial`` over gathered rows draws (samples x widest distribution) exponentials
    (12 ms for 500 draws from 1,000 slots). Here a draw is an inverse-CDF
    binary search in one flat float64 table where distribution g's cumulative probabilities
    are shifted to [g, g + 1], so the search for ``g + u`` lands inside row g.
    """

    def __init__(self, weights: torch.Tensor):
        """``weights`` (G, W) >= 0; a row of zeros always draws 0."""
        w = weights.double()
        groups, width = w.shape
        cdf = w.cumsum(1) / w.sum(1, keepdim=True).clamp_min(1e-300)
        positive = w > 0
        last = width - 1 - positive.flip(1).int().argmax(1)  # last slot with any weight
        self.last = torch.where(positive.any(1), last, 0)
        # From the last weighted slot on, exactly 1: rounding cannot push a draw past it.
        cdf[torch.arange(width, device=w.device) >= self.last[:, None]] = 1.0
        self.table = (cdf + torch.arange(groups, device=w.device, dtype=w.dtype)[:, None]).reshape(-1)
        self.width = width

    def draw(self, groups: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        u = torch.rand(groups.shape, generator=generator, device=groups.device, dtype=torch.float64)
        found = torch.searchsorted(self.table, groups + u, right=True) - groups * self.width
        return torch.minimum(found, self.last[groups])


class GenerationConditions:
    """Category conditions for generating rows of given classes (frequencies within the class).

    Built once per ``generate`` call; ``draw`` is then three tensor operations per batch.
    """

    def __init__(self, class_value_counts: torch.Tensor, coder: ConditionCoder):
        self.coder = coder
        width = max(coder.column_dims, default=1)
        table = torch.zeros(coder.n_classes, coder.n_columns + 1, width, device=class_value_counts.device)
        for j, d in enumerate(coder.column_dims):
            o = int(coder.column_offsets[j])
            table[:, j, :d] = class_value_counts[:, o : o + d]
        table[:, -1, 0] = 1.0  # "none": any value, ignored
        self.values = GroupedCategorical(table.reshape(-1, width))

    def draw(self, classes: torch.Tensor, generator: torch.Generator) -> Conditions:
        n_columns = self.coder.n_columns
        column = torch.randint(0, n_columns + 1, classes.shape, generator=generator, device=classes.device)
        if n_columns == 0:
            return Conditions(classes, column, torch.zeros_like(column))
        value = self.values.draw(classes * (n_columns + 1) + column, generator)
        return Conditions(classes, column, value)


def draw_generation_conditions(
    classes: torch.Tensor,
    class_value_counts: torch.Tensor,
    coder: ConditionCoder,
    generator: torch.Generator,
) -> Conditions:
    """Category conditions for generating rows of the given classes (frequencies per class)."""
    return GenerationConditions(class_value_counts, coder).draw(classes, generator)
