"""What the workflow may ask of a tracker, whichever store is behind it (or none)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ContextManager, Protocol


@dataclass(frozen=True)
class RunHandle:
    """What the caller gets from ``start_run``: ids to print, link or nest under."""

    run_id: str
    experiment_id: str
    name: str


class Tracker(Protocol):
    enabled: bool

    def check_reachable(self) -> None: ...

    def start_run(
        self,
        run_name: str,
        *,
        experiment: str,
        run_type: str,
        parent_run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> ContextManager[RunHandle]: ...

    def log_params(self, params: Mapping[str, Any]) -> None: ...

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None: ...

    def set_tags(self, tags: Mapping[str, Any]) -> None: ...

    def log_artifact(self, path: str | os.PathLike, artifact_path: str | None = None) -> None: ...

    def log_artifacts(
        self, folder: str | os.PathLike, artifact_path: str | None = None
    ) -> None: ...

    def log_model(
        self,
        model_dir: str | os.PathLike,
        *,
        registered_name: str | None = None,
        input_example: Any = None,
    ) -> str | None: ...
