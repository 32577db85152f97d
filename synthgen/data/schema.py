"""What each column of a table is, and how to turn model values back into the input's dtypes.

One import for the four parts, each its own module:

- ``columns``: ``ColumnSpec`` / ``TableSchema``, stored in ``model.json`` as plain JSON;
- ``schema_inference``: ``infer_schema`` looks at the training table once (kinds, dtypes,
  categories, ranges; identifiers left out, rare categories pooled);
- ``model_values``: ``numeric_values`` (numeric kinds as float64, datetimes in seconds since
  the epoch, UTC) and ``category_codes`` (indices into ``spec.categories``, -1 where missing),
  so the model never has to know about pandas dtypes;
- ``restore``: ``restore_frame`` / ``restore_decoded`` / ``restore_codes`` go the other way,
  from model values to the input's columns and dtypes.
"""

from synthgen.data.columns import DISCRETE_KINDS, KINDS, NUMERIC_KINDS, ColumnSpec, TableSchema
from synthgen.data.model_values import category_codes, numeric_values
from synthgen.data.restore import restore_codes, restore_column, restore_decoded, restore_frame
from synthgen.data.schema_inference import column_spec, infer_kind, infer_schema

__all__ = [
    "DISCRETE_KINDS", "KINDS", "NUMERIC_KINDS", "ColumnSpec", "TableSchema", "category_codes",
    "column_spec", "infer_kind", "infer_schema", "numeric_values", "restore_codes", "restore_column",
    "restore_decoded", "restore_frame",
]
