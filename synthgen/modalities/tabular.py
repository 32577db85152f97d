"""Tables: CSV / TSV / Parquet in, the same format out."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthgen.data.tabular import (
    DISCRETE_KINDS,
    TableSchema,
    infer_schema,
    numeric_values,
    read_table,
    write_table,
)
from synthgen.modalities.base import Loaded, Modality

SYNTHETIC_FLAG = "synthetic"
PREVIEW_ROWS_PER_CLASS = 10


class TabularModality(Modality):
    name = "tabular"

    # -- data --------------------------------------------------------------------------------
    def load(self, data, model) -> Loaded:
        df = read_table(data.path)
        drop = self._drop(data, df)
        infer_schema(df, data.condition, kinds=data.kinds, drop=drop)  # validates, names culprits
        groups = df[data.patient_column].astype(str).tolist() if data.patient_column in df else None
        return Loaded(payload=df, labels=df[data.condition].map(str).tolist(), groups=groups)

    @staticmethod
    def _drop(data, df: pd.DataFrame) -> list[str]:
        # Patient ids group the splits but are never synthesized: they identify people.
        extra = [data.patient_column] if data.patient_column in df and data.patient_column not in data.drop else []
        return [*data.drop, *extra]

    def subset(self, payload: pd.DataFrame, index: np.ndarray) -> pd.DataFrame:
        return payload.iloc[np.asarray(index)].reset_index(drop=True)

    # -- model -------------------------------------------------------------------------------
    def new_synthesizer(self, model, train, data):
        from synthgen.models.tabular.synthesizer import TabularSynthesizer

        return TabularSynthesizer(model=model, train=train)

    def fit(self, synth, train_payload, condition, data, callback, *, checkpoint_dir=None, resume=False):
        return synth.fit(
            train_payload, condition, callback=callback, kinds=data.kinds,
            drop=self._drop(data, train_payload), checkpoint_dir=checkpoint_dir, resume=resume,
        )

    # -- samples -----------------------------------------------------------------------------
    def default_output(self, model_dir: Path, doc: Mapping[str, Any]) -> Path:
        suffix = Path(doc["data"]["path"]).suffix or ".csv"
        return Path(model_dir) / "samples" / f"synthetic{suffix}"

    def write_samples(self, samples: pd.DataFrame, out: Path, doc, mark_synthetic: bool) -> list[Path]:
        frame = samples.assign(**{SYNTHETIC_FLAG: True}) if mark_synthetic else samples
        return [write_table(frame, out)]

    def read_samples(self, path: Path, doc) -> pd.DataFrame:
        df = read_table(path)
        return df.drop(columns=[SYNTHETIC_FLAG]) if SYNTHETIC_FLAG in df and SYNTHETIC_FLAG not in _schema(doc).names else df

    def concat(self, parts: list[pd.DataFrame]) -> pd.DataFrame:
        return pd.concat(parts, ignore_index=True)

    def labels_of(self, samples: pd.DataFrame, doc) -> list[str]:
        return samples[doc["condition"]].map(str).tolist()

    def privacy_keep_mask(self, train, holdout, samples, doc):
        from synthgen.evaluation.memorization import privacy_filter

        schema = _schema(doc)
        cols = schema.names
        return privacy_filter(train[cols], holdout[cols], samples[cols], categorical=_categorical(schema))

    def previews(self, samples: pd.DataFrame, doc) -> dict[str, bytes]:
        condition = doc["condition"]
        head = samples.groupby(condition, sort=False, observed=True).head(PREVIEW_ROWS_PER_CLASS)
        buf = io.StringIO()
        head.to_csv(buf, index=False)
        return {"preview.csv": buf.getvalue().encode()}

    # -- evaluation --------------------------------------------------------------------------
    def evaluate(self, splits, synthetic, doc, config, progress):
        from synthgen.evaluation.tabular import evaluate_tables

        schema = _schema(doc)
        prepared = {k: _for_evaluation(splits[k], schema) for k in ("train", "holdout", "test")}
        return evaluate_tables(
            prepared["train"],
            prepared["holdout"],
            prepared["test"],
            _for_evaluation(synthetic, schema, strict=False),
            schema.condition,
            categorical=_categorical(schema),
            config=config,
            history=doc.get("history"),
            progress=progress,
            dataset=doc["data"].get("name"),
        )


def _schema(doc: Mapping[str, Any]) -> TableSchema:
    return TableSchema.from_dict(doc["metadata"]["schema"])


def _for_evaluation(frame: pd.DataFrame, schema: TableSchema, strict: bool = True) -> pd.DataFrame:
    """Schema columns only, datetimes (also text dates) as seconds so metrics see numbers.

    ``strict=False`` keeps the synthetic frame's own columns: the evaluation reports missing
    or extra ones itself.
    """
    cols = schema.names if strict else list(frame.columns)
    out = frame[cols].copy()
    for spec in schema.columns:
        if spec.kind == "datetime" and spec.name in out:
            out[spec.name] = numeric_values(out[spec.name], spec)
    return out


def _categorical(schema: TableSchema) -> list[str]:
    return [c.name for c in schema.columns if c.kind in DISCRETE_KINDS]
