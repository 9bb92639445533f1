"""Tests of the shipped cat / non-cat dataset in ``datasets/``.

They check the HDF5 schema, the checksums, that ``make_dataset.py`` still
regenerates the committed files, and that plain logistic regression on the data
shows what the course teaches (see ``datasets/README.md``).
"""

import hashlib
import importlib.util
import time
from pathlib import Path

import h5py
import numpy as np
import PIL
import pytest

DATASETS = Path(__file__).resolve().parent.parent / "datasets"
SPLITS = {  # file, images, cats
    "train": ("train_catvnoncat.h5", 209, 72),
    "test": ("test_catvnoncat.h5", 50, 33),
}


def load_script(name):
    """Import ``datasets/<name>.py`` by path (``datasets/`` is not a package)."""
    spec = importlib.util.spec_from_file_location(name, DATASETS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_dataset = load_script("make_dataset")
measure_dataset = load_script("measure_dataset")


@pytest.fixture(scope="module")
def shipped():
    """The committed dataset, as arrays."""
    return measure_dataset.load_dataset(DATASETS)


@pytest.fixture(scope="module")
def figures(shipped):
    """Everything ``measure_dataset.py`` measures on the committed dataset."""
    return measure_dataset.measure(shipped)


# --------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------


@pytest.mark.parametrize("split", SPLITS)
def test_schema(split):
    filename, n, n_cats = SPLITS[split]
    with h5py.File(DATASETS / filename, "r") as f:
        assert set(f.keys()) == {f"{split}_set_x", f"{split}_set_y", "list_classes"}
        x, y, classes = f[f"{split}_set_x"], f[f"{split}_set_y"][()], f["list_classes"][()]
        assert x.dtype == np.uint8 and x.shape == (n, 64, 64, 3), f"{split}_set_x is {x.dtype} {x.shape}"
        assert y.dtype == np.int64 and y.shape == (n,), f"{split}_set_y is {y.dtype} {y.shape}"
        assert classes.dtype == np.dtype("S7") and classes.tolist() == [b"non-cat", b"cat"]
        assert set(np.unique(y).tolist()) == {0, 1}
        assert int(y.sum()) == n_cats, f"{split}: {int(y.sum())} cats of {n}, expected {n_cats}"
        assert np.count_nonzero(np.diff(y)) > 2, f"{split}_set_y is not shuffled (labels in blocks)"


def test_sha256sums_match_files():
    sums = {}
    for line in (DATASETS / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ")
        sums[name] = digest
    assert sorted(sums) == sorted(filename for filename, _, _ in SPLITS.values())
    for name, digest in sums.items():
        actual = hashlib.sha256((DATASETS / name).read_bytes()).hexdigest()
        assert actual == digest, f"{name} does not match SHA256SUMS: regenerate with python datasets/make_dataset.py"


def test_generator_regenerates_the_committed_files(shipped):
    with h5py.File(DATASETS / SPLITS["train"][0], "r") as f:
        seed = int(f.attrs["generator_seed"])
        numpy_version, pillow_version = f.attrs["generator_numpy"], f.attrs["generator_pillow"]
    default = make_dataset.DEFAULT_SEED
    assert seed == default, f"the files were made with seed {seed}, but DEFAULT_SEED is {default}"

    regenerated = make_dataset.make_dataset()
    differing = [key for key in shipped if not np.array_equal(regenerated[key], shipped[key])]
    same_versions = (numpy_version, pillow_version) == (np.__version__, PIL.__version__)
    versions = (f"files generated with numpy {numpy_version} and Pillow {pillow_version}, "
                f"this run has numpy {np.__version__} and Pillow {PIL.__version__}")
    cause = ("make_dataset.py and the committed files have drifted apart: regenerate them with "
             "`python datasets/make_dataset.py` and update datasets/README.md" if same_versions else
             "the numpy/Pillow versions differ from the ones recorded at generation, which can change the drawing")
    assert not differing, f"regenerated {differing} differ from the committed files ({versions}): {cause}"


def test_hdf5_writing_is_byte_reproducible(shipped, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    make_dataset.write_dataset(shipped, first, make_dataset.DEFAULT_SEED)
    time.sleep(1.1)  # a timestamp stored in the files would now differ
    make_dataset.write_dataset(shipped, second, make_dataset.DEFAULT_SEED)
    assert (first / "SHA256SUMS").read_text() == (second / "SHA256SUMS").read_text(), \
        "writing the same arrays twice gave different bytes (timestamps in the HDF5 files?)"


# --------------------------------------------------------------------------
# The lesson: plain logistic regression on raw pixels
# --------------------------------------------------------------------------


def test_cost_starts_at_log_2(figures):
    assert figures["costs"][0] == pytest.approx(0.693147, abs=1e-6)


def test_cost_falls_smoothly_at_learning_rate_0_005(figures):
    costs = figures["costs"]
    assert len(costs) == 20, "costs are recorded every 100 of 2000 iterations"
    assert measure_dataset.is_decreasing(costs), f"cost does not fall monotonically: {np.round(costs, 4)}"


def test_fits_the_training_set(figures):
    assert figures["train_accuracy"] >= 0.95, f"train accuracy {figures['train_accuracy']:.2%} < 95 %"


def test_generalises_only_partly(figures):
    assert 0.60 <= figures["test_accuracy"] <= 0.85, f"test accuracy {figures['test_accuracy']:.2%} not in 60-85 %"


def test_learning_rate_0_01_overshoots_early(figures):
    early = figures["rate_costs"][0.01][1:4]
    assert max(early) > 0.693147, f"lr 0.01 costs at iterations 100-300 {np.round(early, 3)} never exceed 0.693"


def test_smaller_learning_rates_fall_monotonically_and_more_slowly(figures):
    rate_costs = figures["rate_costs"]
    for rate in (0.005, 0.001, 0.0001):
        assert measure_dataset.is_decreasing(rate_costs[rate]), f"lr {rate}: {np.round(rate_costs[rate], 4)}"
    final = {rate: rate_costs[rate][-1] for rate in (0.005, 0.001, 0.0001)}
    assert final[0.0001] > final[0.001] > final[0.005], f"final costs per learning rate: {final}"


def test_colour_alone_stays_near_chance(figures):
    accuracy, majority = figures["colour_test_accuracy"], figures["test_majority_rate"]
    assert accuracy <= 0.70, (f"colour statistics alone reach {accuracy:.2%} test accuracy "
                              f"(majority class {majority:.2%}): colour gives the classes away")
