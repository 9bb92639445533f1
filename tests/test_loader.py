"""Does load_dataset() check what it loads and say clearly what is wrong?"""

from __future__ import annotations

import importlib.util
import shutil

import h5py
import numpy as np
import pytest

from autograder.course import ASSIGNMENT, DATASETS, SOLUTIONS


@pytest.fixture
def lr_utils(monkeypatch):
    monkeypatch.delenv("CATVNONCAT_DIR", raising=False)
    monkeypatch.delenv("COURSE_DATASETS_DIR", raising=False)
    spec = importlib.util.spec_from_file_location("lr_utils", SOLUTIONS / ASSIGNMENT / "lr_utils.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pins_match_the_committed_checksums(lr_utils):
    listed = dict(reversed(line.split()) for line in (DATASETS / "SHA256SUMS").read_text().splitlines())
    assert listed == lr_utils.COURSE_SHA256, "update COURSE_SHA256 in lr_utils.py after regenerating the dataset"


def test_loads_the_course_dataset_from_any_working_directory(lr_utils, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    train_x, train_y, test_x, test_y, classes = lr_utils.load_dataset()
    assert train_x.shape == (209, 64, 64, 3) and train_x.dtype == np.uint8
    assert train_y.shape == (1, 209) and test_x.shape == (50, 64, 64, 3) and test_y.shape == (1, 50)
    assert list(classes) == [b"non-cat", b"cat"]


def _copy(tmp_path):
    for name in ("train_catvnoncat.h5", "test_catvnoncat.h5"):
        shutil.copy(DATASETS / name, tmp_path / name)
    return tmp_path


def test_a_missing_file_is_named(lr_utils, tmp_path, monkeypatch):
    (_copy(tmp_path) / "test_catvnoncat.h5").unlink()
    monkeypatch.setenv("COURSE_DATASETS_DIR", str(tmp_path))
    with pytest.raises(lr_utils.DatasetError, match="test_catvnoncat.h5 is missing"):
        lr_utils.load_dataset()


def test_a_changed_file_fails_its_checksum(lr_utils, tmp_path, monkeypatch):
    with h5py.File(_copy(tmp_path) / "train_catvnoncat.h5", "a") as f:
        f["train_set_y"][0] = 1 - f["train_set_y"][0]
    monkeypatch.setenv("COURSE_DATASETS_DIR", str(tmp_path))
    with pytest.raises(lr_utils.DatasetError, match="train_catvnoncat.h5 has SHA-256 .* expected"):
        lr_utils.load_dataset()


def test_a_wrong_key_or_shape_is_explained(lr_utils, tmp_path, monkeypatch):
    folder = _copy(tmp_path)
    with h5py.File(folder / "test_catvnoncat.h5", "a") as f:
        f.move("test_set_y", "labels")
    monkeypatch.setenv("COURSE_DATASETS_DIR", str(folder))
    monkeypatch.setitem(lr_utils.COURSE_SHA256, "test_catvnoncat.h5", lr_utils._sha256(folder / "test_catvnoncat.h5"))
    with pytest.raises(lr_utils.DatasetError, match="has no key 'test_set_y'"):
        lr_utils.load_dataset()
    with h5py.File(folder / "test_catvnoncat.h5", "a") as f:
        f.move("labels", "test_set_y")
        del f["test_set_x"]
        f["test_set_x"] = np.zeros((50, 32, 32, 3), np.uint8)
    monkeypatch.setitem(lr_utils.COURSE_SHA256, "test_catvnoncat.h5", lr_utils._sha256(folder / "test_catvnoncat.h5"))
    with pytest.raises(lr_utils.DatasetError, match=r"expected uint8 of shape \(50, 64, 64, 3\)"):
        lr_utils.load_dataset()


def test_the_original_files_are_a_drop_in(lr_utils, original_dataset_dir, monkeypatch, capsys):
    monkeypatch.setenv("CATVNONCAT_DIR", str(original_dataset_dir))
    train_x, train_y, *_ = lr_utils.load_dataset(verbose=True)
    assert train_x.shape == (209, 64, 64, 3) and int(train_y.sum()) == 72
    assert "original deeplearning.ai dataset" in capsys.readouterr().out


def test_the_wrong_files_under_catvnoncat_dir_are_refused(lr_utils, tmp_path, monkeypatch):
    monkeypatch.setenv("CATVNONCAT_DIR", str(_copy(tmp_path)))  # our files are not the original ones
    with pytest.raises(lr_utils.DatasetError, match="SHA-256"):
        lr_utils.load_dataset()
