"""The output path fails under a real ``python -m synthgen`` process: disk full, a file-size
limit, a read-only or permission-denied folder.

Each case must end as a user mistake does: exit 2, one ``error:`` line naming the path and the
reason, no traceback, and nothing half-written (no temporary, no partial file or folder).

Disk full is a real, tiny tmpfs mounted for the test (skipped where mounting is not allowed);
the file-size limit (``RLIMIT_FSIZE``, EFBIG) needs no privileges and always runs.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from test_bad_input_corpus import (
    FIT,
    IMAGE_FIT,
    assert_one_line_error,
    csv,
    listing,
    patients,
    scans,
)


def synthgen(args, cwd: Path, fsize_limit: int | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "SYNTHGEN_THREADS": "1", "MLFLOW_DISABLE_TELEMETRY": "true"}
    env.pop("MLFLOW_TRACKING_URI", None)

    def limit() -> None:  # in the child, before exec: writes past the limit fail with EFBIG
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize_limit, fsize_limit))

    return subprocess.run(
        [sys.executable, "-m", "synthgen", *map(str, args)], cwd=cwd, env=env, capture_output=True,
        text=True, timeout=180, preexec_fn=limit if fsize_limit else None,
    )


@contextlib.contextmanager
def tmpfs(path: Path, size: str, read_only: bool = False) -> Iterator[Path]:
    """A real, tiny file system at ``path`` for the block (skips the test where not allowed)."""
    path.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command here")
    options = f"size={size}" + (",ro" if read_only else "")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield path
    finally:  # lazily if busy; a failed unmount must not hide the test's own failure
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("model")
    data = csv(folder, "patients.csv", patients())
    done = synthgen([*FIT, "--data", data, "--condition", "diagnosis", "--runs-dir", folder / "runs",
                     "--name", "tiny"], folder)
    assert done.returncode == 0, done.stderr
    return folder / "runs" / "tiny"


def test_disk_full_while_writing_samples(tmp_path, model):
    with tmpfs(tmp_path / "small", "64k") as disk:
        (disk / "kept.txt").write_text("an earlier file stays")
        before = listing(disk, model)
        done = synthgen(["sample", "--no-tracking", "--model", model, "--n", "20000",
                         "--out", disk / "synthetic.csv"], tmp_path)
        line = assert_one_line_error(done.returncode, done.stdout, done.stderr,
                                     (str(disk / "synthetic.csv"), "No space left on device"))
        assert listing(disk, model) == before, line  # no partial file, no temporary


def test_disk_full_while_writing_the_model_folder(tmp_path):
    data = csv(tmp_path, "patients.csv", patients())
    with tmpfs(tmp_path / "small", "16k") as disk:
        done = synthgen([*FIT, "--data", data, "--condition", "diagnosis", "--runs-dir", disk / "runs",
                         "--name", "tiny"], tmp_path)
        assert_one_line_error(done.returncode, done.stdout, done.stderr,
                              (str(disk / "runs"), "No space left on device"))
        # no model folder, no staged temporary, no `latest` link to a model that is not there
        assert [p for p in listing(disk) if not p.endswith("/runs")] == []


def test_file_size_limit_while_writing_samples(tmp_path, model):
    out = tmp_path / "out"
    out.mkdir()
    before = listing(out, model)
    done = synthgen(["sample", "--no-tracking", "--model", model, "--n", "20000",
                     "--out", out / "synthetic.csv"], tmp_path, fsize_limit=50_000)
    assert_one_line_error(done.returncode, done.stdout, done.stderr,
                          (str(out / "synthetic.csv"), "File too large"))
    assert listing(out, model) == before


def test_read_only_output_folder(tmp_path, model):
    """Not writable: by permissions for an ordinary user; root ignores those, so for root the
    folder is a read-only file system."""
    if os.geteuid() != 0:
        target = tmp_path / "locked"
        target.mkdir()
        target.chmod(0o555)
        context, reason = contextlib.nullcontext(target), "Permission denied"
    else:
        context, reason = tmpfs(tmp_path / "locked", "1m", read_only=True), "Read-only file system"
    with context as locked:
        done = synthgen(["sample", "--no-tracking", "--model", model, "--n", "10",
                         "--out", locked / "synthetic.csv"], tmp_path)
        assert_one_line_error(done.returncode, done.stdout, done.stderr,
                              (str(locked / "synthetic.csv"), reason))
        assert os.listdir(locked) == []
        if os.geteuid() != 0:
            locked.chmod(0o755)


def test_an_ordinary_write_still_works_after_a_failed_one(tmp_path, model):
    """The failure left nothing that blocks the next attempt."""
    out = tmp_path / "out"
    out.mkdir()
    synthgen(["sample", "--no-tracking", "--model", model, "--n", "20000",
              "--out", out / "synthetic.csv"], tmp_path, fsize_limit=50_000)
    done = synthgen(["sample", "--no-tracking", "--model", model, "--n", "200",
                     "--out", out / "synthetic.csv"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(pd.read_csv(out / "synthetic.csv")) == 200


def test_disk_full_while_writing_synthetic_scans(tmp_path):
    """NIfTI outputs (a folder of volumes + a manifest) go through the same staging."""
    folder = tmp_path / "scans"
    folder.mkdir()
    scans(folder)
    runs = tmp_path / "runs"
    done = synthgen([*IMAGE_FIT, "--data", folder, "--runs-dir", runs, "--name", "tiny"], tmp_path)
    assert done.returncode == 0, done.stderr
    with tmpfs(tmp_path / "small", "64k") as disk:
        done = synthgen(["sample", "--no-tracking", "--model", runs / "tiny", "--n", "400",
                         "--out", disk / "synthetic"], tmp_path)
        assert_one_line_error(done.returncode, done.stdout, done.stderr,
                              (str(disk / "synthetic"), "No space left on device"))
        assert os.listdir(disk) == []
