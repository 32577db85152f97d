"""``evaluate_tables``: fidelity, memorization and downstream gains of a synthetic table.

Checks the inputs first (missing columns stop the evaluation with a ``DataError``; lesser
problems become warnings shown at the top of the report), then runs each stage and assembles an
``EvaluationResult`` with report sections.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from synthgen.config import EvalConfig
from synthgen.errors import DataError
from synthgen.evaluation.distance import category_strings, resolve_categorical
from synthgen.evaluation.fidelity import fidelity
from synthgen.evaluation.memorization import memorization
from synthgen.evaluation.result import EvaluationResult
from synthgen.evaluation.utility import utility
from synthgen.report.fragments import note

MIN_TEST_ROWS = 10  # fewer test rows of a class make its recall and AUROC mostly noise

HEADLINE = [
    "fidelity/column_shapes",
    "fidelity/pair_trends",
    "fidelity/detection_auc",
    "fidelity/precision",
    "fidelity/recall",
    "memorization/dcr_share",
    "memorization/exact_copy_share",
    "memorization/membership_auc",
    "utility/gbm/balanced_accuracy/real",
    "utility/gbm/balanced_accuracy/gain_real_plus_synth",
    "utility/gbm/minority_recall/gain_real_plus_synth",
    "utility/gbm/balanced_accuracy/gain_smote",
    "utility/logreg/balanced_accuracy/gain_real_plus_synth",
]


# -- input checks ----------------------------------------------------------------------------
def _check_columns(train: pd.DataFrame, frames: dict[str, pd.DataFrame], condition: str,
                   warnings: list[str]) -> dict[str, pd.DataFrame]:
    if condition not in train.columns:
        raise DataError(f"condition column '{condition}' is not in the training data "
                        f"(columns: {', '.join(map(str, train.columns))})")
    out = {}
    for name, df in frames.items():
        missing = [c for c in train.columns if c not in df.columns]
        if missing:
            raise DataError(f"{name} data lacks column(s) {', '.join(map(repr, missing))} "
                            "present in the training data")
        extra = [c for c in df.columns if c not in train.columns]
        if extra:
            warnings.append(f"{name} data has column(s) not in the training data, ignored: "
                            f"{', '.join(map(repr, extra))}")
        out[name] = df[list(train.columns)].reset_index(drop=True)
    if len(out["synthetic"]) == 0:
        raise DataError("the synthetic data has no rows")
    return out


def _align_numeric(train: pd.DataFrame, df: pd.DataFrame, name: str, cats: set[str]) -> pd.DataFrame:
    """Numeric/datetime columns read back as text are converted; unparseable values stop us."""
    df = df.copy()
    for c in train.columns:
        if c in cats or df[c].dtype == train[c].dtype:
            continue
        if pd.api.types.is_datetime64_any_dtype(train[c].dtype):
            conv = pd.to_datetime(df[c], errors="coerce")
        elif pd.api.types.is_numeric_dtype(train[c].dtype) or pd.api.types.is_bool_dtype(train[c]):
            conv = pd.to_numeric(df[c], errors="coerce") if not pd.api.types.is_numeric_dtype(
                df[c].dtype) else df[c]
        else:
            continue
        bad = conv.isna() & df[c].notna()
        if bad.any():
            raise DataError(f"{name} column '{c}' should be numeric like the real data but holds "
                            f"{df[c][bad].iloc[0]!r} ({int(bad.sum())} rows)")
        df[c] = conv
    return df


def _value_warnings(real: pd.DataFrame, synthetic: pd.DataFrame, test: pd.DataFrame,
                    condition: str, cats: set[str], warnings: list[str]) -> None:
    for c in real.columns:
        if c not in cats:
            continue
        seen = set(category_strings(real[c]))
        syn = category_strings(synthetic[c])
        new = syn[~syn.isin(seen)]
        if len(new):
            vals = ", ".join(repr(v) for v in new.value_counts().index[:5])
            warnings.append(f"synthetic column '{c}' has values never seen in the real data: "
                            f"{vals} ({len(new)} rows)")
    classes = sorted(set(category_strings(real[condition])))
    syn_classes = set(category_strings(synthetic[condition]))
    for k in classes:
        if k not in syn_classes:
            warnings.append(f"class '{k}' of '{condition}' is absent from the synthetic sample; "
                            "its per-class results are missing")
    test_counts = category_strings(test[condition]).value_counts()
    for k in classes:
        n = int(test_counts.get(k, 0))
        if n < MIN_TEST_ROWS:
            warnings.append(f"only {n} test row(s) of class '{k}' (fewer than {MIN_TEST_ROWS}): "
                            "its recall and AUROC are unreliable")


# -- the evaluation --------------------------------------------------------------------------
def evaluate_tables(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    test: pd.DataFrame,
    synthetic: pd.DataFrame,
    condition: str,
    *,
    categorical: Sequence[str] | None = None,
    config: EvalConfig | None = None,
    history: dict[str, list[float]] | None = None,
    progress: Callable[[str], None] | None = None,
    dataset: str | None = None,
    figures: bool = True,
) -> EvaluationResult:
    """Evaluate a synthetic table against the real train / holdout / test splits.

    ``figures=False`` skips the plots (the slowest part on small tables) when only the numbers
    are wanted, e.g. in tests or sweeps; the sections then hold tables only.
    """
    from synthgen.report import sections

    config = config or EvalConfig()
    say = progress or (lambda _msg: None)
    result = EvaluationResult(meta={"dataset": dataset or "table", "condition": condition})
    warnings = result.warnings
    frames = _check_columns(train, {"holdout": holdout, "test": test, "synthetic": synthetic},
                            condition, warnings)
    train = train.reset_index(drop=True)
    cats = set(resolve_categorical(train, categorical)) | {condition}
    holdout, test, synthetic = (_align_numeric(train, frames[n], n, cats)
                                for n in ("holdout", "test", "synthetic"))
    unlabeled = synthetic[condition].isna()
    if unlabeled.any():
        warnings.append(f"{int(unlabeled.sum())} synthetic rows have no '{condition}' value; "
                        "dropped")
        synthetic = synthetic[~unlabeled].reset_index(drop=True)
        if len(synthetic) == 0:
            raise DataError(f"no synthetic row has a '{condition}' value")
    real_all = pd.concat([train, holdout, test], ignore_index=True)
    _value_warnings(real_all, synthetic, test, condition, cats, warnings)
    cat_list = [c for c in train.columns if c in cats]
    result.meta.update(_describe(train, holdout, test, synthetic, condition))

    timings = {}  # per stage, report figures included
    # A "fill" sample holds only minority rows and a balanced one over-represents them: compare
    # it with real rows of the same classes in the same proportions, or the class column alone
    # would give it away and every marginal would mix in the other classes.
    train_ref, holdout_ref = (class_matched(df, synthetic, condition) for df in (train, holdout))
    if len(train_ref) < len(train):
        result.meta["class_matched_rows"] = {"train": len(train_ref), "holdout": len(holdout_ref)}
    t = time.perf_counter()
    say("fidelity: column shapes and pair trends")
    fid = fidelity(train_ref, synthetic, cat_list, condition,
                   holdout_ref if len(holdout_ref) else None,
                   folds=config.detection_folds, max_rows=config.max_rows, progress=say)
    result.metrics.update(fid.metrics)
    result.verdicts["fidelity"] = fid.verdict
    result.sections.append(sections.fidelity_section(fid, train_ref, synthetic, cat_list,
                                                            figures))
    if len(train_ref) < len(train):
        result.sections[-1].html = note(
            f"The synthetic sample's class mix differs from the training data's, so it is "
            f"compared with {len(train_ref)} real training rows drawn in its class proportions "
            f"(and {len(holdout_ref)} holdout rows for the real-vs-real column)."
        ) + result.sections[-1].html
    timings["fidelity"] = time.perf_counter() - t

    t = time.perf_counter()
    if len(holdout) >= 2:
        say("memorization: nearest-neighbour distances")
        mem = memorization(*(_same_classes(df, synthetic, condition) for df in (train, holdout)),
                           synthetic, cat_list, condition, max_rows=config.max_rows)
        result.metrics.update(mem.metrics)
        result.verdicts["memorization"] = mem.verdict
        result.sections.append(sections.memorization_section(mem, figures))
    else:
        warnings.append("the holdout split is empty: memorization was not assessed")
    timings["memorization"] = time.perf_counter() - t

    t = time.perf_counter()
    if category_strings(test[condition]).nunique() >= 2:
        util = utility(train, test, synthetic, condition, cat_list, seeds=config.seeds,
                       progress=say)
        result.metrics.update(util.metrics)
        result.verdicts["utility"] = util.verdict
        result.sections.append(sections.utility_section(util, figures))
    else:
        warnings.append(f"the test split has fewer than two classes of '{condition}': "
                        "downstream gains were not assessed")
    timings["utility"] = time.perf_counter() - t

    result.sections.append(sections.training_section(history, figures))
    result.headline = [k for k in HEADLINE if k in result.metrics]
    result.meta["timings_s"] = {k: round(v, 2) for k, v in timings.items()}
    return result


def _same_classes(real: pd.DataFrame, synthetic: pd.DataFrame, condition: str) -> pd.DataFrame:
    """Real rows of the classes the synthetic sample has (train and holdout keep equal mixes)."""
    keep = category_strings(real[condition]).isin(set(category_strings(synthetic[condition])))
    return real[keep.to_numpy()].reset_index(drop=True)


def class_matched(real: pd.DataFrame, synthetic: pd.DataFrame, condition: str,
                  seed: int = 0) -> pd.DataFrame:
    """The largest seeded subsample of ``real`` whose class mix is the synthetic sample's."""
    want = category_strings(synthetic[condition]).value_counts(normalize=True)
    labels = category_strings(real[condition])
    have = labels.value_counts()
    if want.empty or not set(want.index) & set(have.index):
        return real.iloc[:0]
    total = min(have.get(c, 0) / p for c, p in want.items())
    rng = np.random.default_rng(seed)
    picks = []
    for c, p in want.items():
        members = np.flatnonzero((labels == c).to_numpy())
        k = min(len(members), int(round(total * p)))
        picks.append(rng.choice(members, size=k, replace=False))
    return real.iloc[np.sort(np.concatenate(picks))].reset_index(drop=True)


def _describe(train, holdout, test, synthetic, condition) -> dict:
    def counts(df):
        return {str(k): int(v) for k, v in category_strings(df[condition]).value_counts()
                .sort_index().items()}

    return {
        "rows_train": len(train), "rows_holdout": len(holdout), "rows_test": len(test),
        "rows_synthetic": len(synthetic), "columns": train.shape[1],
        "class_counts": {"train": counts(train), "holdout": counts(holdout),
                         "test": counts(test), "synthetic": counts(synthetic)},
    }

