"""Synthesizer classes by ``kind``, imported lazily (imaging pulls in MONAI, which is slow)."""

from __future__ import annotations

import importlib

from synthgen.errors import ModelFileError

_BACKENDS = {
    "tabular": "synthgen.models.tabular.synthesizer:TabularSynthesizer",
    "image": "synthgen.models.imaging.synthesizer:ImageSynthesizer",
}


def synthesizer_class(kind: str):
    try:
        target = _BACKENDS[kind]
    except KeyError:
        raise ModelFileError(f"unknown synthesizer kind {kind!r}; known: {', '.join(_BACKENDS)}") from None
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)
