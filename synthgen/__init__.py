"""synthgen: class-conditional synthetic data for medical tables and scans.

Public API (the CLI does the same steps): ``fit``, ``load``, ``evaluate``, ``write_report``, and the
``Synthesizer`` contract every backend honours.
"""

from synthgen.api import evaluate, fit, load, write_report
from synthgen.class_counts import resolve_class_counts
from synthgen.models.base import Synthesizer

__version__ = "0.1.0"

__all__ = ["Synthesizer", "evaluate", "fit", "load", "resolve_class_counts", "write_report",
           "__version__"]
