"""The documented Python API, used the way a pipeline uses it: several calls in one process."""

import synthgen
from synthgen.config import EvalConfig

FAST = EvalConfig(seeds=2, detection_folds=3)


def test_evaluate_can_be_called_twice_in_one_process(breast_cancer):
    """The first call loads the evaluation package; that must not replace the function."""
    shuffled = breast_cancer.sample(frac=1, random_state=0).reset_index(drop=True)
    train, holdout, test = shuffled.iloc[:150], shuffled.iloc[150:300], shuffled.iloc[300:450]
    results = [
        synthgen.evaluate(train=train, holdout=holdout, test=test, synthetic=synthetic,
                          condition="diagnosis", config=FAST, figures=False)
        for synthetic in (test, shuffled.iloc[450:])
    ]
    assert callable(synthgen.evaluate)
    # Real unseen rows are hard to tell from real training rows, in both calls.
    assert all(r.metrics["fidelity/detection_auc"] < 0.75 for r in results)
    assert results[0].meta["rows_synthetic"] == 150 and results[1].meta["rows_synthetic"] == 119
