"""The generator logged as an MLflow pyfunc model: ``serving.py`` as a model from code (no
pickle) carrying the whole model folder, with its request signature and pinned requirements."""

from __future__ import annotations

import json
import re
import warnings
from importlib import metadata as _pkg
from pathlib import Path
from typing import Any

from synthgen.errors import TrackingError

MODEL_ARTIFACT = "generator"  # name of the logged pyfunc model inside a run
SERVING_FILE = Path(__file__).resolve().parent.parent / "serving.py"


def log_pyfunc_model(mlflow, model_dir: Path, registered_name: str | None, input_example: Any = None):
    """Log ``model_dir`` as a pyfunc in the active run; registered as ``registered_name`` if
    given. Returns MLflow's ``ModelInfo``. The default input example asks for one sample of
    each class."""
    from synthgen.serving_contract import request_signature

    if input_example is None:
        input_example = default_input_example(model_dir)
    with warnings.catch_warnings():
        # `count` is an integer column on purpose (it is never missing): skip that hint.
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
        return mlflow.pyfunc.log_model(
            name=MODEL_ARTIFACT,
            python_model=str(SERVING_FILE),
            artifacts={"model": str(model_dir)},
            input_example=(input_example, {"seed": 0}),
            # Declared, not inferred: optional columns and a double count let bad requests
            # reach serving.py, which answers them with one line (see serving_contract).
            signature=request_signature(),
            pip_requirements=serving_requirements(),  # skips MLflow's slow inference
            registered_model_name=registered_name,
        )


def default_input_example(model_dir: Path):
    """One sample of each class named in ``model.json`` (read as JSON: no model code runs)."""
    import pandas as pd

    try:
        classes = list(json.loads((Path(model_dir) / "model.json").read_text())["class_counts"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise TrackingError(f"{model_dir}: cannot read the classes from model.json ({e})") from None
    return pd.DataFrame({"class": [str(c) for c in classes], "count": [1] * len(classes)})


def serving_requirements() -> list[str]:
    """synthgen and its installed dependencies, pinned, for the logged model's environment."""
    out = []
    try:
        out.append(f"synthgen=={_pkg.version('synthgen')}")
        specs = _pkg.requires("synthgen") or []
    except _pkg.PackageNotFoundError:
        specs = ["torch", "pandas", "numpy", "safetensors", "mlflow"]
    for spec in specs:
        if "extra ==" in spec or "extra==" in spec:
            continue
        name = re.split(r"[\s<>=!~;\[]", spec, maxsplit=1)[0]
        try:
            out.append(f"{name}=={_pkg.version(name)}")
        except _pkg.PackageNotFoundError:
            out.append(spec.split(";")[0].strip())
    return out
