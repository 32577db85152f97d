"""The one GAN training engine both backends run on (DESIGN.md section 2).

``loop.train`` owns the budget (rounds of optimizer steps), the cross-process stop signal, loss
sums, checkpoint cadence, validation-score snapshot selection with early stopping, history,
callbacks and the progress output. A backend (``backend.GanBackend``) supplies its networks,
optimizers and ``step()``; ``state.TrainingCheckpoints`` writes its ``state_dict`` with the loop's.
"""
