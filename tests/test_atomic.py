import os

import pytest

from synthgen import atomic
from synthgen.errors import UserError


def test_failed_file_write_leaves_nothing(tmp_path):
    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError):
        with atomic.staged_file(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []


def test_failed_dir_write_keeps_the_old_folder(tmp_path):
    target = tmp_path / "run"
    with atomic.staged_dir(target) as tmp:
        (tmp / "a").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic.staged_dir(target) as tmp:
            (tmp / "a").write_text("new")
            raise RuntimeError("boom")
    assert (target / "a").read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["run"]


def test_dir_replaces_old_completely(tmp_path):
    target = tmp_path / "run"
    with atomic.staged_dir(target) as tmp:
        (tmp / "a").write_text("old")
    with atomic.staged_dir(target) as tmp:
        (tmp / "b").write_text("new")
    assert os.listdir(target) == ["b"] and sorted(os.listdir(tmp_path)) == ["run"]


def test_unwritable_target_is_a_user_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UserError, match="cannot write"):
        atomic.write_text(blocker / "sub" / "out.txt", "x")


def test_symlink_points_relatively(tmp_path):
    (tmp_path / "runs" / "a").mkdir(parents=True)
    atomic.point_symlink(tmp_path / "runs" / "latest", tmp_path / "runs" / "a")
    assert os.readlink(tmp_path / "runs" / "latest") == "a"
