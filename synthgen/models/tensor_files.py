"""Writing safetensors files so that a failed write is an ``OSError`` like any other.

safetensors reports the operating system's errors (disk full, file too large, read-only file
system) as its own ``SafetensorError`` with the errno only in the message. Turned back into
``OSError`` here, the atomic writers (``synthgen.atomic``) catch it like any failed write: the
staged temporary is removed and the user gets one line naming the path and the reason.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Mapping
from pathlib import Path

import torch

_OS_ERROR = re.compile(r"os error (\d+)")


def save_tensors(tensors: Mapping[str, torch.Tensor], path: str | os.PathLike) -> None:
    from safetensors import SafetensorError
    from safetensors.torch import save_file

    try:
        save_file(dict(tensors), str(path))
    except SafetensorError as e:
        found = _OS_ERROR.search(str(e))
        if found is None:
            raise
        code = int(found.group(1))
        raise OSError(code, os.strerror(code) if code in errno.errorcode else str(e), str(Path(path))) from None
