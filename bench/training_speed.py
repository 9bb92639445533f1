"""Training speed: the reference model() against the floor of its bare matrix products.

Times the reference ``model()`` of notebook 03 (the one in solutions/, 2000 iterations, learning rate
0.005) on the course's shipped dataset (datasets/) and, when CATVNONCAT_DIR is set, on the original
deeplearning.ai data. The floor is the same number of bare numpy matrix products a training step needs,
``w.T @ X`` and ``X @ dZ.T``, on arrays of the same shapes. Both are run alternately, --repeats times;
the medians and their ratio are printed (target: model() within 1.3x of the floor).

    python bench/training_speed.py [--iterations 2000] [--repeats 5] [--threads N]

--threads sets OPENBLAS_NUM_THREADS/OMP_NUM_THREADS before numpy is loaded (default: numpy's own
choice, one thread per core). Grading kernels run with cores // jobs threads (1 on a 2-core machine).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = "03_logistic_regression_with_a_neural_network_mindset"


def load(original: str | None):
    """Flattened, scaled train and test sets of one dataset: CATVNONCAT_DIR=original, or the shipped one."""
    sys.path.insert(0, str(ROOT / "solutions" / "logistic_regression"))
    import lr_utils

    saved = os.environ.pop("CATVNONCAT_DIR", None)
    if original:
        os.environ["CATVNONCAT_DIR"] = original
    try:
        x_train, y_train, x_test, y_test, _ = lr_utils.load_dataset()
    finally:
        os.environ.pop("CATVNONCAT_DIR", None)
        if saved:
            os.environ["CATVNONCAT_DIR"] = saved
    return (x_train.reshape(x_train.shape[0], -1).T / 255.0, y_train,
            x_test.reshape(x_test.shape[0], -1).T / 255.0, y_test)


def floor(X, iterations: int) -> None:
    """The matrix products of ``iterations`` training steps and nothing else."""
    import numpy as np

    w = np.zeros((X.shape[0], 1))
    dZ = np.full((1, X.shape[1]), 0.5)
    for _ in range(iterations):
        _ = w.T @ X
        _ = X @ dZ.T


def measure(name: str, data, iterations: int, repeats: int, quiet: bool = False) -> dict:
    from autograder.reference import reference_function

    model = reference_function(NOTEBOOK, "model")
    X, Y, X_test, Y_test = data
    runs = {"model()": [], "floor": []}
    for _ in range(repeats):
        started = time.perf_counter()
        model(X, Y, X_test, Y_test, num_iterations=iterations, learning_rate=0.005)
        runs["model()"].append(time.perf_counter() - started)
        started = time.perf_counter()
        floor(X, iterations)
        runs["floor"].append(time.perf_counter() - started)
    ours, base = statistics.median(runs["model()"]), statistics.median(runs["floor"])
    if not quiet:
        print(f"{name}: X {X.shape}, {iterations} iterations, median of {repeats}")
        print(f"  model()               {ours:7.2f} s  ({1000 * ours / iterations:.2f} ms/iteration)")
        print(f"  floor (2 products/it) {base:7.2f} s  ({1000 * base / iterations:.2f} ms/iteration)")
        print(f"  ratio                 {ours / base:7.2f}x  (target <= 1.3x)")
    return {"dataset": name, "iterations": iterations, "repeats": repeats, "model": runs["model()"],
            "floor": runs["floor"], "ratio": ours / base}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, help="BLAS threads (default: numpy's own choice)")
    parser.add_argument("--json", action="store_true", help="print one JSON list of the figures instead")
    args = parser.parse_args(argv)
    if args.threads:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)
    if not args.json:
        print(f"BLAS threads: {args.threads or 'numpy default'}")
    figures = []
    sources = [("shipped dataset (datasets/)", None)]
    if os.environ.get("CATVNONCAT_DIR"):
        sources.append((f"original dataset (CATVNONCAT_DIR={os.environ['CATVNONCAT_DIR']})",
                        os.environ["CATVNONCAT_DIR"]))
    for name, original in sources:
        try:
            data = load(original)
        except Exception as exc:  # a missing or unbuilt dataset is reported, not fatal
            if not args.json:
                print(f"{name}: not measured ({type(exc).__name__}: {str(exc)[:160]})")
            continue
        figures.append(measure(name, data, args.iterations, args.repeats, quiet=args.json))
    if args.json:
        import json

        print(json.dumps([{**f, "threads": args.threads or "default"} for f in figures]))


if __name__ == "__main__":
    main()
