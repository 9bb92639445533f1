"""Does the course reproduce the published results on the original data, and do its notebooks run?"""

from __future__ import annotations

import importlib.util
import os

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from autograder.course import ASSIGNMENT, NOTEBOOK_NAMES, SOLUTIONS
from autograder.reference import reference_function

NB03 = "03_logistic_regression_with_a_neural_network_mindset"


def _load(folder):
    spec = importlib.util.spec_from_file_location("lr_utils", SOLUTIONS / ASSIGNMENT / "lr_utils.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.load_dataset()


def test_published_results_on_the_original_data(original_dataset_dir):
    train_x, train_y, test_x, test_y, _ = _load(original_dataset_dir)
    X = train_x.reshape(train_x.shape[0], -1).T / 255.0
    X_test = test_x.reshape(test_x.shape[0], -1).T / 255.0
    d = reference_function(NB03, "model")(X, train_y, X_test, test_y, num_iterations=2000, learning_rate=0.005)
    assert float(d["costs"][0]) == pytest.approx(0.693147, abs=5e-7)
    assert float(d["costs"][19]) == pytest.approx(0.140872, abs=5e-7)
    assert 100 - np.mean(np.abs(d["Y_prediction_train"] - train_y)) * 100 == pytest.approx(99.04306220095694)
    assert 100 - np.mean(np.abs(d["Y_prediction_test"] - test_y)) * 100 == pytest.approx(70.0)


def test_published_propagate_example():
    w, b = np.array([[1.0], [2.0]]), 1.5
    X, Y = np.array([[1.0, -2.0, -1.0], [3.0, 0.5, -3.2]]), np.array([[1, 1, 0]])
    grads, cost = reference_function(NB03, "propagate")(w, b, X, Y)
    np.testing.assert_allclose(grads["dw"], [[0.25071532], [-0.06604096]], rtol=1e-7)
    assert grads["db"] == pytest.approx(-0.12500404500439652, rel=1e-12)
    assert float(cost) == pytest.approx(0.15900537707692405, rel=1e-12)


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_solution_notebook_runs_top_to_bottom_without_an_error(name):
    nb = nbformat.read(SOLUTIONS / ASSIGNMENT / f"{name}.ipynb", as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(SOLUTIONS / ASSIGNMENT)}})
    client.execute(env=dict(os.environ, MPLBACKEND="module://matplotlib_inline.backend_inline"))
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{name}: {errors[0].ename}: {errors[0].evalue}"
