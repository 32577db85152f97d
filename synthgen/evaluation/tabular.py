"""``evaluate_tables``: fidelity, memorization and downstream gains of a synthetic table.

Checks the inputs first (missing columns stop the evaluation with a ``DataError``; lesser
problems become warnings shown at the top of the report), then runs each stage and assembles an
``Findings`` with report sections as data.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from synthgen.config import EvalConfig
from synthgen.errors import DataError
from synthgen.evaluation import tabular_sections as sections
from synthgen.evaluation.classes import class_warnings, count_labels
from synthgen.evaluation.distance import category_strings, resolve_categorical
from synthgen.evaluation.fidelity import fidelity
from synthgen.evaluation.findings import Findings, Note
from synthgen.evaluation.memorization import memorization
from synthgen.evaluation.names import headline
from synthgen.evaluation.training import training_section
from synthgen.evaluation.utility import utility

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
    "utility/gbm/chosen_share",
    "utility/gbm/balanced_accuracy/gain_real_plus_chosen",
    "utility/gbm/balanced_accuracy/gain_real_plus_synth",
    "utility/gbm/minority_recall/gain_real_plus_chosen",
    "utility/gbm/balanced_accuracy/gain_smote",
    "utility/logreg/chosen_share",
    "utility/logreg/balanced_accuracy/gain_real_plus_chosen",
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


def _value_warnings(real: pd.DataFrame, synthetic: pd.DataFrame, cats: set[str],
                    warnings: list[str]) -> None:
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


# -- the evaluation --------------------------------------------------------------------------
def _prepare(train, holdout, test, synthetic, condition, categorical, warnings):
    """Columns aligned, text read back as numbers, unlabeled synthetic rows dropped."""
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
    _value_warnings(pd.concat([train, holdout, test], ignore_index=True), synthetic, cats,
                    warnings)
    return train, holdout, test, synthetic, [c for c in train.columns if c in cats]


def _fidelity_stage(result, train, holdout, synthetic, condition, cat_list, config, figures,
                    notes, say) -> None:
    # A "fill" sample holds only minority rows and a balanced one over-represents them: compare
    # it with real rows of the same classes in the same proportions, or the class column alone
    # would give it away and every marginal would mix in the other classes.
    train_ref, holdout_ref = (class_matched(df, synthetic, condition) for df in (train, holdout))
    say("fidelity: column shapes and pair trends")
    fid = fidelity(train_ref, synthetic, cat_list, condition,
                   holdout_ref if len(holdout_ref) else None,
                   folds=config.detection_folds, max_rows=config.max_rows, progress=say)
    result.metrics.update(fid.metrics)
    result.verdicts["fidelity"] = fid.verdict
    section = sections.fidelity_section(fid, train_ref, synthetic, cat_list, figures)
    section.blocks[:0] = [Note(n) for n in notes]
    if len(train_ref) < len(train):
        result.meta["class_matched_rows"] = {"train": len(train_ref), "holdout": len(holdout_ref)}
        section.blocks.insert(0, Note(
            f"The synthetic sample's class mix differs from the training data's, so it is "
            f"compared with {len(train_ref)} real training rows drawn in its class proportions "
            f"(and {len(holdout_ref)} holdout rows for the real-vs-real column)."))
    result.sections.append(section)


def _memorization_stage(result, train, holdout, synthetic, condition, cat_list, config, figures,
                        say) -> None:
    if len(holdout) < 2:
        result.warn("the holdout split is empty: memorization was not assessed")
        return
    say("memorization: nearest-neighbour distances")
    mem = memorization(*(_same_classes(df, synthetic, condition) for df in (train, holdout)),
                       synthetic, cat_list, condition, max_rows=config.max_rows)
    result.metrics.update(mem.metrics)
    result.verdicts["memorization"] = mem.verdict
    result.sections.append(sections.memorization_section(mem, figures))


def _utility_stage(result, train, test, synthetic, condition, cat_list, config, figures,
                   say) -> None:
    if category_strings(test[condition]).nunique() < 2:
        result.warn(f"the test split has fewer than two classes of '{condition}': "
                    "downstream gains were not assessed")
        return
    util = utility(train, test, synthetic, condition, cat_list, seeds=config.seeds, progress=say,
                   shares=config.augment_shares, share_validation=config.share_validation)
    result.metrics.update(util.metrics)
    result.verdicts["utility"] = util.verdict
    result.sections.append(sections.utility_section(util, figures))


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
) -> Findings:
    """Evaluate a synthetic table against the real train / holdout / test splits.

    ``figures=False`` leaves the figure specs out (drawing them is the slowest part on small
    tables) when only the numbers are wanted, e.g. in tests or sweeps.
    """
    config = config or EvalConfig()
    say = progress or (lambda _msg: None)
    result = Findings(meta={"dataset": dataset or "table", "condition": condition})
    train, holdout, test, synthetic, cat_list = _prepare(
        train, holdout, test, synthetic, condition, categorical, result.warnings)
    result.class_counts = {name: count_labels(category_strings(df[condition]))
                           for name, df in (("train", train), ("holdout", holdout),
                                            ("test", test), ("synthetic", synthetic))}
    warnings, notes = class_warnings(result.class_counts, "rows")
    for w in warnings:
        result.warn(w)
    result.meta.update(_describe(train, holdout, test, synthetic))

    timings, t = {}, time.perf_counter()  # per stage, figure data included
    _fidelity_stage(result, train, holdout, synthetic, condition, cat_list, config, figures,
                    notes, say)
    timings["fidelity"], t = time.perf_counter() - t, time.perf_counter()
    _memorization_stage(result, train, holdout, synthetic, condition, cat_list, config, figures,
                        say)
    timings["memorization"], t = time.perf_counter() - t, time.perf_counter()
    _utility_stage(result, train, test, synthetic, condition, cat_list, config, figures, say)
    timings["utility"] = time.perf_counter() - t

    result.sections.append(training_section(history))
    result.headline = headline(HEADLINE, result.metrics)
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


def _describe(train, holdout, test, synthetic) -> dict:
    return {"rows_train": len(train), "rows_holdout": len(holdout), "rows_test": len(test),
            "rows_synthetic": len(synthetic), "columns": train.shape[1]}
