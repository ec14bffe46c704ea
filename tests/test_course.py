"""The course checks itself, as rustlings' ``dev check`` does.

For every exercise in the course table: its lesson, stub, solution and suite
exist; the stub and the solution export the same names with the same signatures
and docstrings; every stub still raises ``NotImplementedError`` and carries a
``# TODO``; the files import only what the contract allows and run nothing at
import time. (That solutions get full marks and stubs are all "not started" is
proven by grading them, in ``test_golden_cases.py``.)
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from grader import course
from tests.helpers import KIT

ALLOWED_IMPORTS = {"torch", "numpy", "matplotlib"} | set(sys.stdlib_module_names)


def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def public_api(module: ast.Module) -> dict[str, tuple]:
    """Each top-level function and class: its signature (for classes, their methods') and docstring."""
    api = {}
    for node in module.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
            if isinstance(node, ast.FunctionDef):
                shape = ast.unparse(node.args), ast.unparse(node.returns) if node.returns else ""
            else:
                shape = tuple(sorted((item.name, ast.unparse(item.args)) for item in node.body
                                     if isinstance(item, ast.FunctionDef)))
            api[node.name] = (shape, ast.get_docstring(node))
    return api


@pytest.mark.parametrize("exercise", course.EXERCISES, ids=lambda exercise: exercise.name)
def test_every_part_of_the_exercise_exists(exercise):
    for path in (KIT / "exercises" / exercise.filename, KIT / "solutions" / exercise.filename,
                 KIT / "grader" / "suites" / exercise.suite_filename, KIT / exercise.lesson):
        assert path.is_file(), f"missing: {path.relative_to(KIT)}"


@pytest.mark.parametrize("exercise", course.EXERCISES, ids=lambda exercise: exercise.name)
def test_stub_and_solution_export_the_same_names_signatures_and_docstrings(exercise):
    stub = public_api(tree(KIT / "exercises" / exercise.filename))
    solution = public_api(tree(KIT / "solutions" / exercise.filename))
    assert stub.keys() == solution.keys()
    for name in stub:
        assert stub[name] == solution[name], f"{name} differs between the stub and the solution"
    assert ast.get_docstring(tree(KIT / "exercises" / exercise.filename)), "the stub has no module docstring"


@pytest.mark.parametrize("exercise", course.EXERCISES, ids=lambda exercise: exercise.name)
def test_every_stub_raises_not_implemented_and_has_a_todo(exercise):
    path = KIT / "exercises" / exercise.filename
    lines = path.read_text().splitlines()
    stubs = [node for node in ast.walk(tree(path)) if isinstance(node, ast.FunctionDef)
             and any(isinstance(inner, ast.Raise) and "NotImplementedError" in ast.unparse(inner)
                     for inner in ast.walk(node))]
    assert stubs, "the stub file raises NotImplementedError nowhere"
    for node in stubs:
        body = "\n".join(lines[node.lineno - 1:node.end_lineno])
        assert "# TODO" in body, f"{node.name} raises NotImplementedError without a # TODO saying what to write"
    solution = (KIT / "solutions" / exercise.filename).read_text()
    assert "NotImplementedError" not in solution and "# TODO" not in solution


@pytest.mark.parametrize("kind", ["exercises", "solutions"])
@pytest.mark.parametrize("exercise", course.EXERCISES, ids=lambda exercise: exercise.name)
def test_files_import_only_allowed_modules_and_run_nothing_at_import(exercise, kind):
    module = tree(KIT / kind / exercise.filename)
    for node in ast.walk(module):
        if isinstance(node, ast.Import):
            roots = {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            roots = {(node.module or "").split(".")[0]} if node.level == 0 else {"<relative>"}
        else:
            continue
        assert roots <= ALLOWED_IMPORTS, f"imports {roots - ALLOWED_IMPORTS}: only the standard library, torch, numpy, matplotlib"
    definitions = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign)
    for node in module.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # a docstring
        if isinstance(node, ast.If) and "__name__" in ast.unparse(node.test):
            continue  # the demonstration block
        assert isinstance(node, definitions), f"line {node.lineno} runs at import time: {ast.unparse(node)[:80]}"
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            assert not any(isinstance(inner, ast.Call) for inner in ast.walk(node)), \
                f"line {node.lineno} calls something at import time"
