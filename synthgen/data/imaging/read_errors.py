"""A damaged image file named in one line: the innermost reader error, and the gzip check
nibabel skips."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

from synthgen.errors import DataError


def check_gzip(path: Path) -> None:
    """nibabel stops reading at the end of the voxels, before gzip's CRC: a damaged .nii.gz
    would load as silently wrong voxels. Read the stream to its end once to check it."""
    try:
        with gzip.open(path, "rb") as f:
            while f.read(1 << 22):
                pass
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path}: cannot read image (damaged gzip: {root_cause(e)})") from None


def root_cause(e: BaseException) -> str:
    while e.__cause__ is not None or e.__context__ is not None:
        e = e.__cause__ or e.__context__
    # nibabel: "Expected 65536 bytes, got 32592 ...\n - could the file be damaged?": keep both
    text = " ".join(line.strip() for line in str(e).splitlines() if line.strip())
    return f"{type(e).__name__}: {text}" if text else type(e).__name__
