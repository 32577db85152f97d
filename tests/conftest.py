"""Shared fixtures: an isolated working folder and small real tables made on the fly."""

from __future__ import annotations

import pytest

from mlflow_server import mlflow_server_fixture

# One real `mlflow server` for the whole session, started only by tests that ask for it.
mlflow_server = mlflow_server_fixture(scope="session")


@pytest.fixture(autouse=True)
def _quiet_env(monkeypatch):
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """Run in an empty folder: runs/, mlflow.db and reports/ land there."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def breast_cancer():
    """The real Wisconsin breast-cancer table with a text diagnosis (569 rows)."""
    from synthgen.examples import breast_cancer_frame

    return breast_cancer_frame()


@pytest.fixture
def breast_csv(workdir, breast_cancer):
    path = workdir / "patients.csv"
    breast_cancer.to_csv(path, index=False)
    return path
