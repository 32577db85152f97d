"""GANOversampler drops into an imbalanced-learn Pipeline like any other sampler."""

import numpy as np
from imblearn.pipeline import Pipeline
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.preprocessing import StandardScaler

from synthgen.imblearn import GANOversampler


def test_fit_resample_balances_with_synthetic_rows(breast_cancer):
    X = breast_cancer.drop(columns=["diagnosis"]).iloc[:200, :5]
    y = breast_cancer["diagnosis"].iloc[:200].to_numpy()
    sampler = GANOversampler(epochs=3, random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    values, counts = np.unique(y_res, return_counts=True)
    assert counts[0] == counts[1] and len(X_res) == len(y_res) == 200 + sampler.n_synthetic_
    assert list(X_res.columns) == list(X.columns)
    # The real rows come first, untouched.
    assert X_res.iloc[:200].equals(X.reset_index(drop=True))


def test_in_an_imblearn_pipeline_with_arrays(breast_cancer):
    X = breast_cancer.drop(columns=["diagnosis"]).iloc[:, :5].to_numpy()
    y = (breast_cancer["diagnosis"] == "malignant").astype(int).to_numpy()
    pipe = Pipeline([("gan", GANOversampler(epochs=3)), ("scale", StandardScaler()), ("clf", LogisticRegression())])
    pipe.fit(X[:200], y[:200])
    # The sampler ran inside the pipeline and added what the minority lacked...
    counts = np.bincount(y[:200])
    assert pipe.named_steps["gan"].n_synthetic_ == counts.max() - counts.min()
    # ...and the classifier is scored on 369 rows it never saw (chance: 0.5; real-only 0.91).
    assert balanced_accuracy_score(y[200:], pipe.predict(X[200:])) > 0.85


def test_synthetic_share_per_class_and_the_synthetic_mask(breast_cancer):
    X = breast_cancer.drop(columns=["diagnosis"]).iloc[:200, :5]
    y = breast_cancer["diagnosis"].iloc[:200].to_numpy()
    real = dict(zip(*np.unique(y, return_counts=True)))
    sampler = GANOversampler(epochs=3, random_state=0, synthetic_share={"malignant": 0.5})
    X_res, y_res = sampler.fit_resample(X, y)
    mask = sampler.synthetic_mask_
    assert mask.shape == (len(y_res),) and not mask[:200].any() and mask[200:].all()
    # Half of the malignant rows are synthetic now; benign rows get none.
    assert list(y_res[mask]) == ["malignant"] * real["malignant"]
    assert len(X_res) == 200 + real["malignant"] == 200 + sampler.n_synthetic_
