"""Read the Python code of a notebook: find graded functions by name wherever a learner put them.

The grader never trusts cell positions or metadata to find a learner's function: it parses every
code cell (after IPython's own input transformations, so ``%matplotlib inline`` is fine) and takes
the last top-level definition of the name, as running the notebook top to bottom would.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass, field

from IPython.core.inputtransformer2 import TransformerManager

_transformer = TransformerManager()


@dataclass
class NotebookCode:
    """The parts of a notebook's code the grader rebuilds a function from."""

    imports: list[str] = field(default_factory=list)  # top-level import statements, in order
    definitions: list[str] = field(default_factory=list)  # top-level classes and literal constants
    functions: dict[str, str] = field(default_factory=dict)  # name -> source of its last top-level def
    unparsable_cells: int = 0  # code cells that are not valid Python (they are skipped)

    def module_for(self, target: str, exclude: set[str] = frozenset()) -> str:
        """Source of a module defining ``target`` with the notebook's imports, helper functions, classes and
        constants (top-level assignments of literals; other top-level code, such as loading data or training,
        is not run).

        Imports are wrapped so that one that cannot run where the function is checked (a plotting
        or data module) does not stop the function itself from being checked. Functions named in
        ``exclude`` are left out: the grader supplies its own versions of them.
        """
        if target not in self.functions:
            raise KeyError(target)
        parts = [self.imports_source(), *self.definitions]
        parts += [src for name, src in self.functions.items() if name != target and name not in exclude]
        parts.append(self.functions[target])
        return "\n\n".join(parts) + "\n"


    def imports_source(self) -> str:
        """The notebook's imports, each allowed to fail (a data or plotting module may not be importable)."""
        return "\n".join(f"try:\n    {stmt}\nexcept Exception:\n    pass" for stmt in self.imports)

    def functions_source(self, names: list[str] | None = None) -> str:
        """The notebook's imports and the definitions of ``names`` (all functions by default)."""
        chosen = self.functions if names is None else {n: self.functions[n] for n in names}
        return self.imports_source() + "\n\n" + "\n\n".join(chosen.values()) + "\n"


def cell_python(source: str) -> str:
    """A code cell's source as plain Python (IPython magics and shell escapes transformed)."""
    return _transformer.transform_cell(source)


def read_code(nb: Mapping) -> NotebookCode:
    """Collect the imports and top-level function definitions of every code cell, in notebook order.

    ``nb`` is a notebook as nbformat reads it, or as ``json.load`` does (sources as lists of lines).
    """
    code = NotebookCode()
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        text = cell_python("".join(source) if isinstance(source, list) else source)
        try:
            tree = ast.parse(text)
        except SyntaxError:
            code.unparsable_cells += 1
            continue
        for node in tree.body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                code.imports.append(ast.unparse(node))
            elif isinstance(node, ast.ClassDef) or (isinstance(node, ast.Assign) and _is_literal(node.value)):
                code.definitions.append(ast.unparse(node))
            elif isinstance(node, ast.FunctionDef):
                code.functions.pop(node.name, None)  # a later definition wins, and moves to the end
                code.functions[node.name] = ast.unparse(node)
    code.imports = list(dict.fromkeys(code.imports))
    return code


def _is_literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def names_used(function_source: str) -> set[str]:
    """Every global-looking name a function's body refers to (used to find which functions it calls)."""
    tree = ast.parse(function_source)
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
