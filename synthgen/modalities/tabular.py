"""Tables: CSV / TSV / Parquet in, the same format out."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from synthgen.data.notes import schema_notes
from synthgen.data.rare import PrivacyRules
from synthgen.data.schema import category_codes, restore_codes
from synthgen.data.tabular import (
    DISCRETE_KINDS,
    TableSchema,
    infer_schema,
    numeric_values,
    read_table,
    write_table,
)
from synthgen.data.sources import TABLE_SUFFIXES
from synthgen.errors import SamplingError
from synthgen.modalities.base import Loaded, Modality
from synthgen.models.run_document import RunDocument

SYNTHETIC_FLAG = "synthetic"
PREVIEW_ROWS_PER_CLASS = 10


class TabularModality(Modality):
    name = "tabular"

    # -- data --------------------------------------------------------------------------------
    def load(self, data, model) -> Loaded:
        df = read_table(data.path)
        drop = self._drop(data, df)
        # Validates and names culprits; identifier columns leave the table here, so no split,
        # sample, report or model ever holds them.
        schema = infer_schema(df, data.condition, kinds=data.kinds, drop=drop, rules=privacy_rules(data))
        df = df.drop(columns=list(schema.excluded))
        groups = df[data.patient_column].astype(str).tolist() if data.patient_column in df else None
        return Loaded(
            payload=df, labels=df[data.condition].map(str).tolist(), groups=groups,
            notes=schema_notes(schema, data.min_category_count),
            description={"excluded_columns": dict(schema.excluded)} if schema.excluded else None,
        )

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
        # The schema of the train split decides which categories are rare: only its patients
        # are in the model.
        schema = infer_schema(
            train_payload, condition, kinds=data.kinds, drop=self._drop(data, train_payload),
            rules=privacy_rules(data),
        )
        return synth.fit(
            train_payload, condition, callback=callback, schema=schema,
            checkpoint_dir=checkpoint_dir, resume=resume,
        )

    # -- cached splits -------------------------------------------------------------------------
    split_suffix = ".parquet"  # keeps every dtype: read back, a split equals the loaded one

    def write_split(self, part: pd.DataFrame, path: Path, doc) -> None:
        # The model's columns only, rare values pooled as the model pooled them: exactly what
        # the evaluation and the privacy filter look at, and no identifier or patient id.
        write_table(_pool_rare(part[_schema(doc).names], _schema(doc)), path)

    def read_split(self, path: Path, doc) -> pd.DataFrame:
        return pd.read_parquet(path)  # checked against its SHA-256 first; may have no rows

    # -- samples -----------------------------------------------------------------------------
    def default_output(self, model_dir: Path, doc: RunDocument) -> Path:
        suffix = Path(doc.data.file if doc.data else "").suffix or ".csv"
        return Path(model_dir) / "samples" / f"synthetic{suffix}"

    def check_output(self, out: Path, doc) -> None:
        if Path(out).suffix.lower() not in TABLE_SUFFIXES:
            raise SamplingError(
                f"--out {out}: this model generates table rows; name a {', '.join(TABLE_SUFFIXES)} file"
            )

    def write_samples(self, samples: pd.DataFrame, out: Path, doc, mark_synthetic: bool) -> list[Path]:
        frame = samples.assign(**{SYNTHETIC_FLAG: True}) if mark_synthetic else samples
        return [write_table(frame, out)]

    def read_samples(self, path: Path, doc) -> pd.DataFrame:
        df = read_table(path)
        return df.drop(columns=[SYNTHETIC_FLAG]) if SYNTHETIC_FLAG in df and SYNTHETIC_FLAG not in _schema(doc).names else df

    def concat(self, parts: list[pd.DataFrame]) -> pd.DataFrame:
        return pd.concat(parts, ignore_index=True)

    def labels_of(self, samples: pd.DataFrame, doc) -> list[str]:
        return samples[doc.condition].map(str).tolist()

    def privacy_keep_mask(self, train, holdout, samples, doc):
        from synthgen.evaluation.memorization import privacy_filter

        schema = _schema(doc)
        cols = schema.names
        train, holdout = (_pool_rare(frame[cols], schema) for frame in (train, holdout))
        return privacy_filter(train, holdout, samples[cols], categorical=_categorical(schema))

    def previews(self, samples: pd.DataFrame, doc) -> dict[str, bytes]:
        condition = doc.condition
        head = samples.groupby(condition, sort=False, observed=True).head(PREVIEW_ROWS_PER_CLASS)
        buf = io.StringIO()
        head.to_csv(buf, index=False)
        return {"preview.csv": buf.getvalue().encode()}

    # -- evaluation --------------------------------------------------------------------------
    def evaluate(self, splits, synthetic, doc, config, progress, cache_dir=None):
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
            history=doc.history,
            progress=progress,
            dataset=doc.dataset,
        )


def _schema(doc: RunDocument) -> TableSchema:
    return TableSchema.from_dict(doc.metadata["schema"])


def _for_evaluation(frame: pd.DataFrame, schema: TableSchema, strict: bool = True) -> pd.DataFrame:
    """Schema columns only, datetimes (also text dates) as seconds so metrics see numbers.

    ``strict=False`` keeps the synthetic frame's own columns: the evaluation reports missing
    or extra ones itself.
    """
    cols = schema.names if strict else list(frame.columns)
    out = _pool_rare(frame[cols], schema)
    for spec in schema.columns:
        if spec.kind == "datetime" and spec.name in out:
            out[spec.name] = numeric_values(out[spec.name], spec)
    return out


def privacy_rules(data) -> PrivacyRules:
    return PrivacyRules(
        exclude_identifiers=data.exclude_identifiers,
        min_category_count=data.min_category_count,
        patient_column=data.patient_column,
    )


def _pool_rare(frame: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    """A copy with rare categories pooled as the model pooled them: the report shows real rows
    and must not show a value held by too few patients."""
    out = frame.copy()
    for spec in schema.columns:
        if spec.rare_pooled and spec.name in out:
            out[spec.name] = restore_codes(category_codes(out[spec.name], spec), spec).to_numpy()
    return out


def _categorical(schema: TableSchema) -> list[str]:
    return [c.name for c in schema.columns if c.kind in DISCRETE_KINDS]
