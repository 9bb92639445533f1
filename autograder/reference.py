"""The reference solution: the functions of the solution notebooks in ``solutions/``, loaded by name.

The solution notebooks are the only place a reference implementation is written. The grader (a
trusted process) loads them from there to compute expected results; they never enter a learner's
kernel or the sandbox a learner's function is checked in. The judge (:mod:`autograder.verify`) also
lends it to the checks' hints (:func:`autograder.checks.use_reference`).
"""

from __future__ import annotations

import functools
import json
import types

from .course import solution_notebook
from .notebook_code import NotebookCode, read_code


@functools.cache
def reference_code(notebook: str) -> NotebookCode:
    """Imports and function definitions of the solution notebook ``notebook``.

    Read as plain JSON: importing nbformat would cost seconds (its jsonschema builds a grammar on import).
    """
    with open(solution_notebook(notebook), encoding="utf-8") as file:
        code = read_code(json.load(file))
    code.functions = types.MappingProxyType(code.functions)  # shared by every caller: nobody may change it
    return code


@functools.cache
def reference_module(notebook: str) -> types.ModuleType:
    """The solution notebook's functions as a module (imports and definitions only, no other cells)."""
    code = reference_code(notebook)
    module = types.ModuleType(f"reference_{notebook}")
    exec(compile(code.functions_source(), f"<reference {notebook}>", "exec"), module.__dict__)
    return module


def reference_function(notebook: str, name: str):
    """The reference implementation of the graded function ``name`` of ``notebook``."""
    module = reference_module(notebook)
    try:
        return getattr(module, name)
    except AttributeError:
        raise LookupError(f"the solution notebook {notebook} defines no function {name!r}") from None
