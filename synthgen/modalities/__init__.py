"""One adapter per data modality: the only place the workflow learns what a table or a scan is.

Each adapter loads and validates the data, cuts splits out of it, builds the synthesizer,
writes samples in the input's own format, reads them back, and runs the matching evaluation.
Adapters are imported lazily so that a table run never imports MONAI.
"""

from __future__ import annotations

import importlib

from synthgen.modalities.base import Loaded, Modality

_ADAPTERS = {
    "tabular": "synthgen.modalities.tabular:TabularModality",
    "image": "synthgen.modalities.imaging:ImageModality",
}


def get_modality(name: str) -> Modality:
    module, _, cls = _ADAPTERS[name].partition(":")
    return getattr(importlib.import_module(module), cls)()


__all__ = ["Loaded", "Modality", "get_modality"]
