"""Load the cat/non-cat dataset of the course.

    from lr_utils import load_dataset
    train_set_x_orig, train_set_y, test_set_x_orig, test_set_y, classes = load_dataset()

By default this loads the course's own dataset from the ``datasets/`` folder of the course (found from
this file's location, or from the ``COURSE_DATASETS_DIR`` environment variable). If the environment
variable ``CATVNONCAT_DIR`` names a folder holding the original ``train_catvnoncat.h5`` and
``test_catvnoncat.h5`` of the deeplearning.ai course, those are used instead. Every load checks each
file's SHA-256 against the pins below and its keys, shapes and dtypes against the canonical schema.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import h5py
import numpy as np

TRAIN_FILE, TEST_FILE = "train_catvnoncat.h5", "test_catvnoncat.h5"

# SHA-256 of the files each dataset is made of.
COURSE_SHA256 = {
    TRAIN_FILE: "816ee71d05fd8450c9e7a4273c9c1c0e3e11728e15397ff37f79cdb13c87a7cb",
    TEST_FILE: "07e0861fe4aac105459b4787f95257f07f4c0408b3d1cb3919c44df55b4e0cd7",
}
ORIGINAL_SHA256 = {
    TRAIN_FILE: "fbe56ab67c3ae28d564e3a644189117976d6b31af0a3ce9bb17dbf22908af242",
    TEST_FILE: "6a9d39ce52fa85953c5834695b8534a30ed8cfd54971fb2f080b5a24d002b951",
}

# key -> (dtype, shape) for each file of the canonical schema
SCHEMA = {
    TRAIN_FILE: {"train_set_x": ("uint8", (209, 64, 64, 3)), "train_set_y": ("int64", (209,)),
                 "list_classes": ("S7", (2,))},
    TEST_FILE: {"test_set_x": ("uint8", (50, 64, 64, 3)), "test_set_y": ("int64", (50,)),
                "list_classes": ("S7", (2,))},
}


class DatasetError(Exception):
    """A dataset file is missing, damaged, or not in the expected schema."""


def dataset_dir() -> tuple[Path, dict[str, str], str]:
    """The folder to load from, the checksums it must match, and a name for the dataset in use."""
    original = os.environ.get("CATVNONCAT_DIR")
    if original:
        return Path(original), ORIGINAL_SHA256, f"the original deeplearning.ai dataset (CATVNONCAT_DIR={original})"
    configured = os.environ.get("COURSE_DATASETS_DIR")
    if configured:
        return Path(configured), COURSE_SHA256, f"the course's own dataset ({configured})"
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "datasets"
        if (candidate / TRAIN_FILE).exists():
            return candidate, COURSE_SHA256, f"the course's own dataset ({candidate})"
    raise DatasetError(
        f"cannot find the course's datasets/ folder above {Path(__file__).resolve().parent}: "
        "set COURSE_DATASETS_DIR to the folder holding train_catvnoncat.h5 and test_catvnoncat.h5"
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read(path: Path, expected_sha256: str) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise DatasetError(f"{path} is missing: the dataset needs {TRAIN_FILE} and {TEST_FILE} in {path.parent}")
    actual = _sha256(path)
    if actual != expected_sha256:
        raise DatasetError(f"{path} has SHA-256 {actual}, expected {expected_sha256}: the file is damaged "
                           "or not the expected version (regenerate it with datasets/make_dataset.py)")
    arrays = {}
    try:
        with h5py.File(path, "r") as f:
            for key, (dtype, shape) in SCHEMA[path.name].items():
                if key not in f:
                    raise DatasetError(f"{path} has no key {key!r} (it has {sorted(f.keys())})")
                data = f[key][()]
                if data.shape != shape or not _dtype_matches(data.dtype, dtype):
                    raise DatasetError(f"{path}: {key!r} is {data.dtype} of shape {data.shape}, "
                                       f"expected {dtype} of shape {shape}")
                arrays[key] = data
    except OSError as exc:
        raise DatasetError(f"{path} is not a readable HDF5 file: {exc}") from None
    return arrays


def _dtype_matches(actual: np.dtype, expected: str) -> bool:
    if expected.startswith("S"):  # class names: any byte-string type will do
        return actual.kind == "S"
    return actual == np.dtype(expected)


def load_dataset(verbose: bool = False):
    """Return ``train_set_x_orig, train_set_y, test_set_x_orig, test_set_y, classes``.

    ``train_set_x_orig`` is uint8 of shape (209, 64, 64, 3) and ``train_set_y`` int64 of shape (1, 209);
    the test set has 50 pictures; ``classes`` is ``[b'non-cat', b'cat']``.
    """
    folder, pins, name = dataset_dir()
    train = _read(folder / TRAIN_FILE, pins[TRAIN_FILE])
    test = _read(folder / TEST_FILE, pins[TEST_FILE])
    if verbose:
        print(f"Using {name}.")
    return (
        train["train_set_x"],
        train["train_set_y"].reshape(1, -1),
        test["test_set_x"],
        test["test_set_y"].reshape(1, -1),
        test["list_classes"],
    )
