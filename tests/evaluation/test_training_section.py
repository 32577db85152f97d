"""The training section draws validation-score curves beside the losses when a history has them."""

from synthgen.evaluation.findings import Note, Table
from synthgen.evaluation.training import split_history, training_section

HISTORY = {"loss_g": [2.0, 1.5, 1.2, 1.1], "loss_d": [0.9, 1.0, 1.1, 1.0],
           "val_score": [0.4, 0.55, 0.6], "val_detection_auc": [0.9, 0.8, 0.75],
           "val_tstr": [0.5, 0.7, 0.8], "val_step": [100, 200, 300]}


def test_validation_curves_are_drawn_at_their_steps():
    losses, validation, axis = split_history(HISTORY)
    assert set(losses) == {"loss_g", "loss_d"} and axis == "epoch"  # val_step is not a loss
    assert validation["score"] == ([100, 200, 300], [0.4, 0.55, 0.6])
    section = training_section(HISTORY)
    kinds = [(f.kind, f.data["x_label"]) for f in section.figures]
    assert kinds == [("curves", "epoch"), ("curves", "optimizer step")]
    assert set(section.figures[1].data["series"]) == {"score", "detection_auc", "tstr"}
    assert "best: score 0.600, detection auc 0.750" in section.figures[1].caption  # AUC: lowest
    rows = section.tables[0].rows
    assert ["validation detection auc", 3, 0.75] in rows and ["loss_g", 4, 1.1] in rows


def test_without_validation_or_history_nothing_breaks():
    assert [f.data["x_label"] for f in training_section({"loss_g": [1.0]}).figures] == ["epoch"]
    empty = training_section(None)
    assert empty.figures == [] and isinstance(empty.blocks[0], Note)
    assert not any(isinstance(b, Table) for b in empty.blocks)


def test_per_epoch_row_history_is_read_too():
    rows = [{"epoch": 1, "loss_g": 2.0}, {"epoch": 2, "loss_g": 1.0}]
    assert split_history(rows) == ({"loss_g": ([1, 2], [2.0, 1.0])}, {}, "epoch")


def test_table_rounds_put_losses_and_scores_on_the_step_axis():
    """The tabular GAN's history: one entry per round for every key, ``step`` the x axis."""
    history = {"step": [100.0, 200.0], "loss_g": [1.0, 0.8], "val_score": [0.5, 0.7],
               "val_detection_auc": [0.9, 0.8], "val_tstr": [0.7, 0.8]}
    losses, validation, axis = split_history(history)
    assert axis == "optimizer step" and losses == {"loss_g": ([100, 200], [1.0, 0.8])}
    assert validation["tstr"] == ([100, 200], [0.7, 0.8])
    assert [f.data["x_label"] for f in training_section(history).figures] == ["optimizer step"] * 2
