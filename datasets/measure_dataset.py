"""Measure what the cat / non-cat dataset teaches with plain logistic regression.

Prints the figures recorded in ``datasets/README.md``:

* learning rate 0.005 for 2000 iterations: the cost at iterations 0 and 1900,
  whether the recorded costs fall monotonically, train and test accuracy;
* learning rates 0.01, 0.005, 0.001 and 0.0001 for 1500 iterations: the early
  overshoot of 0.01 and the final cost of each rate;
* a colour-only baseline (logistic regression on six per-image colour
  statistics), which should stay near chance on the test set.

Usage::

    python datasets/measure_dataset.py                # the shipped dataset
    python datasets/measure_dataset.py --dir PATH     # any folder with the two .h5 files

The logistic regression is the course's own: the ``model`` of the reference solution in
``solutions/logistic_regression/03_logistic_regression_with_a_neural_network_mindset.ipynb``
(pixels flattened to a (64*64*3, m) matrix and divided by 255, w and b initialised to zeros,
batch gradient descent, a 0.5 threshold), called from :func:`train`.
"""

import argparse
from pathlib import Path

import h5py
import numpy as np

from autograder.reference import reference_function

HERE = Path(__file__).resolve().parent

INITIAL_COST = float(np.log(2.0))  # cost of w = 0, b = 0: every prediction is 0.5
MAIN_RUN = {"learning_rate": 0.005, "num_iterations": 2000}
LEARNING_RATES = (0.01, 0.005, 0.001, 0.0001)
LEARNING_RATE_ITERATIONS = 1500
COLOUR_RUN = {"learning_rate": 0.5, "num_iterations": 2000}


def load_dataset(folder=HERE):
    """Read ``train_catvnoncat.h5`` and ``test_catvnoncat.h5`` from *folder*.

    Returns a dict with the arrays ``train_set_x`` (m, 64, 64, 3) uint8,
    ``train_set_y`` (m,), ``test_set_x``, ``test_set_y`` and ``list_classes``.
    """
    folder = Path(folder)
    with h5py.File(folder / "train_catvnoncat.h5", "r") as train_file:
        data = {key: train_file[key][()] for key in ("train_set_x", "train_set_y", "list_classes")}
    with h5py.File(folder / "test_catvnoncat.h5", "r") as test_file:
        data.update({key: test_file[key][()] for key in ("test_set_x", "test_set_y")})
    return data


def train(X_train, Y_train, X_test, Y_test, num_iterations, learning_rate):
    """The course's own ``model`` (the reference solution of notebook 03), with the costs as floats.

    X_* have shape (n_features, m), Y_* have shape (1, m). Returns the dict of ``model``: ``costs``
    (iterations 0, 100, 200, ...), ``Y_prediction_train``, ``Y_prediction_test``, ``w`` and ``b``.
    """
    model = reference_function("03_logistic_regression_with_a_neural_network_mindset", "model")
    result = model(X_train, Y_train, X_test, Y_test, num_iterations=num_iterations, learning_rate=learning_rate)
    result["costs"] = [float(cost) for cost in result["costs"]]
    return result


def pixel_features(images):
    """Flatten (m, 64, 64, 3) uint8 images to a (12288, m) matrix in [0, 1]."""
    return images.reshape(images.shape[0], -1).T / 255.0


def colour_features(images):
    """Per-image mean and standard deviation of R, G and B: a (6, m) matrix."""
    pixels = images.reshape(images.shape[0], -1, 3).astype(float)
    return np.concatenate([pixels.mean(axis=1), pixels.std(axis=1)], axis=1).T


def accuracy(prediction, Y):
    """Fraction of correct 0/1 predictions."""
    return float(np.mean(prediction == Y))


def measure(data):
    """Run every experiment on *data* (as returned by :func:`load_dataset`).

    Returns a dict of plain numbers and lists; :func:`report` formats it.
    """
    X_train, X_test = pixel_features(data["train_set_x"]), pixel_features(data["test_set_x"])
    Y_train = data["train_set_y"].reshape(1, -1).astype(float)
    Y_test = data["test_set_y"].reshape(1, -1).astype(float)

    main = train(X_train, Y_train, X_test, Y_test, **MAIN_RUN)
    rate_costs = {}
    for rate in LEARNING_RATES:
        if rate == MAIN_RUN["learning_rate"]:  # the first 1500 iterations of the main run: no need to repeat them
            rate_costs[rate] = main["costs"][: LEARNING_RATE_ITERATIONS // 100]
        else:
            rate_costs[rate] = train(X_train, Y_train, X_test, Y_test, LEARNING_RATE_ITERATIONS, rate)["costs"]

    F_train, F_test = colour_features(data["train_set_x"]), colour_features(data["test_set_x"])
    mean, std = F_train.mean(axis=1, keepdims=True), F_train.std(axis=1, keepdims=True)
    colour = train((F_train - mean) / std, Y_train, (F_test - mean) / std, Y_test, **COLOUR_RUN)

    test_cat_rate = float(Y_test.mean())
    return {
        "n_train": Y_train.size,
        "n_train_cats": int(Y_train.sum()),
        "n_test": Y_test.size,
        "n_test_cats": int(Y_test.sum()),
        "costs": main["costs"],
        "train_accuracy": accuracy(main["Y_prediction_train"], Y_train),
        "test_accuracy": accuracy(main["Y_prediction_test"], Y_test),
        "rate_costs": rate_costs,
        "colour_train_accuracy": accuracy(colour["Y_prediction_train"], Y_train),
        "colour_test_accuracy": accuracy(colour["Y_prediction_test"], Y_test),
        "test_majority_rate": max(test_cat_rate, 1.0 - test_cat_rate),
    }


def is_decreasing(costs):
    """True if every recorded cost is lower than the one before."""
    return bool(np.all(np.diff(costs) < 0))


def report(figures):
    """Format the figures of :func:`measure` as the text printed by this script."""
    costs = figures["costs"]
    lines = [
        f"train: {figures['n_train']} images ({figures['n_train_cats']} cats), "
        f"test: {figures['n_test']} images ({figures['n_test_cats']} cats)",
        f"lr {MAIN_RUN['learning_rate']}, {MAIN_RUN['num_iterations']} iterations: "
        f"cost {costs[0]:.6f} (iteration 0) -> {costs[-1]:.6f} (iteration {100 * (len(costs) - 1)}), "
        f"monotone: {'yes' if is_decreasing(costs) else 'NO'}",
        f"  train accuracy {100 * figures['train_accuracy']:.2f} %, "
        f"test accuracy {100 * figures['test_accuracy']:.2f} %",
        f"learning rates, {LEARNING_RATE_ITERATIONS} iterations (costs at 0, 100, 200, 300 ... final):",
    ]
    for rate, rate_costs in figures["rate_costs"].items():
        early = " ".join(f"{c:.3f}" for c in rate_costs[:4])
        lines.append(
            f"  lr {rate:<6}: {early} ... {rate_costs[-1]:.4f}   peak after start {max(rate_costs[1:]):.3f}, "
            f"monotone: {'yes' if is_decreasing(rate_costs) else 'NO'}"
        )
    lines.append(
        f"colour baseline (mean and std of R, G, B): train accuracy "
        f"{100 * figures['colour_train_accuracy']:.2f} %, test accuracy "
        f"{100 * figures['colour_test_accuracy']:.2f} % (majority class {100 * figures['test_majority_rate']:.2f} %)"
    )
    return "\n".join(lines)


def main():
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", default=HERE, type=Path, help="folder with the two .h5 files (default: %(default)s)")
    args = parser.parse_args()
    print(f"data: {args.dir}")
    print(report(measure(load_dataset(args.dir))))


if __name__ == "__main__":
    main()
