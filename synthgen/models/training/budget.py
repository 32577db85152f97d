"""How long a fit trains: a number of optimizer steps cut into rounds (DESIGN.md section 8).

After each round the generator is scored, the round's mean losses are logged and checkpoints
fall due; about ``ROUNDS`` rounds per budget, or whole epochs when the user asked for epochs.
"""

from __future__ import annotations

from dataclasses import dataclass

from synthgen.config import TrainConfig

ROUNDS = 30  # rounds a step budget is cut into


@dataclass(frozen=True)
class Budget:
    batch: int  # rows or images per step on each process
    steps_per_epoch: int
    total_steps: int | None  # None: until max_minutes or early stopping end it
    round_steps: int
    deadline_s: float | None

    @property
    def rounds(self) -> int | None:
        return None if self.total_steps is None else -(-self.total_steps // self.round_steps)

    def steps_in_round(self, round_index: int) -> int:
        """Steps of the 1-based ``round_index`` (the last round takes what is left)."""
        if self.total_steps is None:
            return self.round_steps
        return min(self.round_steps, self.total_steps - (round_index - 1) * self.round_steps)

    def epochs(self) -> float | None:
        return None if self.total_steps is None else self.total_steps / self.steps_per_epoch


def plan_rounds(batch: int, steps_per_epoch: int, train: TrainConfig) -> Budget:
    """``train.max_steps`` steps, or ``train.epochs`` passes (capped by ``max_steps`` when both
    are set), in rounds of ``train.validate_every`` steps or about 1/``ROUNDS`` of the budget."""
    if train.epochs is not None:  # rounds of whole epochs, about ROUNDS of them
        total = train.epochs * steps_per_epoch
        total = min(total, train.max_steps) if train.max_steps else total
        round_steps = steps_per_epoch * -(-train.epochs // ROUNDS)
    else:
        total = train.max_steps
        round_steps = -(-total // ROUNDS) if total else 100
    round_steps = train.validate_every or round_steps
    deadline = train.max_minutes * 60.0 if train.max_minutes else None
    return Budget(batch, steps_per_epoch, total, round_steps, deadline)
