"""One line per thing the schema did to the user's table that they should know about.

Left-out identifier columns, pooled rare categories and words read as missing values are
changes to what the user gave: each is said once, with what to pass to decide otherwise.
The lines name columns and counts, never a left-out or pooled value.
"""

from __future__ import annotations

from synthgen.data.rare import RARE
from synthgen.data.schema import TableSchema


def schema_notes(schema: TableSchema, min_category_count: int) -> list[str]:
    notes = [
        f"column {name!r} left out: it looks like an identifier ({reason}); "
        f"to model it anyway pass --kind {name}=KIND"
        for name, reason in schema.excluded.items()
    ]
    for spec in schema.columns:
        if spec.rare_pooled:
            into = repr(RARE) if RARE in (spec.categories or []) else "missing values"
            notes.append(
                f"column {spec.name!r}: {spec.rare_pooled} value(s) held by fewer than "
                f"{min_category_count} patients pooled into {into} (data.min_category_count)"
            )
        if spec.na_tokens:
            words = ", ".join(repr(t) for t in spec.na_tokens)
            notes.append(
                f"column {spec.name!r} read as {spec.kind} numbers; the words {words} read as "
                f"missing values (--kind {spec.name}=categorical keeps them as text)"
            )
    return notes
