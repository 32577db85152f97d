"""Tables in and out: one import for reading, schema inference, dtype restoration and writing.

The work is split by job: ``table_io`` (files) and ``schema`` (column kinds and dtypes).
"""

from synthgen.data.schema import (
    DISCRETE_KINDS,
    NUMERIC_KINDS,
    ColumnSpec,
    TableSchema,
    category_codes,
    infer_kind,
    infer_schema,
    numeric_values,
    restore_frame,
)
from synthgen.data.table_io import read_table, table_format, write_table

__all__ = [
    "DISCRETE_KINDS",
    "NUMERIC_KINDS",
    "ColumnSpec",
    "TableSchema",
    "category_codes",
    "infer_kind",
    "infer_schema",
    "numeric_values",
    "read_table",
    "restore_frame",
    "table_format",
    "write_table",
]
