"""A tabular fit's checkpoint fingerprint: the table's schema and values, on top of the
settings every backend checks (``synthgen.models.checkpoints.run_settings``).

What a checkpoint holds is the engine's business (``synthgen.models.training.state``); a
tabular fit adds the fitted encoder to its JSON, so a resumed fit does not refit the mixtures.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pandas as pd

from synthgen.config import TabularModelConfig, TrainConfig
from synthgen.data.schema import TableSchema
from synthgen.distributed import DistInfo
from synthgen.models.checkpoints import run_settings
from synthgen.models.tabular.trainer import training_autocast

# -- fingerprint ------------------------------------------------------------------------------


def run_fingerprint(df: pd.DataFrame, schema: TableSchema, model: TabularModelConfig,
                    train: TrainConfig, dist: DistInfo) -> dict[str, Any]:
    """What must match for a checkpoint to continue this run exactly."""
    schema_doc = json.dumps(schema.to_dict(), sort_keys=True, default=str)
    return {
        "model": model.model_dump(mode="json"),
        **run_settings(train, dist, training_autocast(train, dist.device)),
        "schema": hashlib.sha256(schema_doc.encode()).hexdigest(),  # kinds, drops, categories
        "data": frame_digest(df, schema.names),
    }


def frame_digest(df: pd.DataFrame, columns: list[str]) -> str:
    """A stable digest of the training table's values, names and dtypes (row order matters)."""
    h = hashlib.sha256()
    frame = df[columns]
    h.update(json.dumps([[c, str(t)] for c, t in frame.dtypes.items()]).encode())
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()
