"""An exercise written as a notebook: what of it is graded, and where each graded line came from.

A notebook is graded as the ``.py`` file it stands for. From its code cells, in
order, the grader keeps what a ``.py`` file holds when it is imported, and
leaves out what a notebook runs rather than defines:

- kept: imports, ``def`` and ``class`` statements, and top-level assignments
  (``loss_fn = nn.L1Loss()``, ``X = torch.arange(0, 1, 0.02)``);
- left out: bare expressions and calls (``fit(...)``, ``plt.plot(...)``), loops,
  ``if``/``with``/``try`` blocks, magics and shell lines (``%matplotlib inline``,
  ``!pip install``), and every other statement;
- an assignment is left out too when its right-hand side calls a function or
  class the notebook itself defines (``model = LinearRegressionModel()``,
  ``history = fit(...)``: a training run, not a definition), or uses a name
  that was left out (``optimizer = SGD(model.parameters())`` after ``model``
  was). So the graded code never runs the learner's own functions at import.
  A kept assignment that still raises at import (it read a file a left-out
  call wrote) is skipped there, and the learner's output says so (``guarded``).
- the kit's own check cell (``from grader import check``, ``check("03")``) is
  how the notebook is checked, not part of the exercise: left out silently.

Everything else left out is listed in the report as not graded. Magics are
turned into Python by IPython's own input transformer before parsing. A cell
that is not valid Python is kept whole, so the grading reports its syntax error
at that cell, as a ``.py`` file's would be reported.

Lines are mapped back: ``Converted.cells[i]`` is the (cell, line) of line
``i + 1`` of the graded source, cells counted from 1 at the top of the notebook,
Markdown cells included, as a learner counts them on screen.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass

from grader import wording

MISSING_EXTRA = ("grading a notebook needs the notebook extra: pip install 'pytorch-workflow-kit[notebooks]' "
                 "(or pip install nbformat ipython)")
KIT_PACKAGE = "grader"  # imports of the kit itself belong to the check cell


class NotebookUnreadable(Exception):
    """The file is not a notebook that can be read; the message is one line for the learner."""


@dataclass(frozen=True)
class Converted:
    """The Python graded for a notebook, with the way back to its cells."""

    source: str
    cells: tuple[tuple[int, int], ...]
    """For each line of ``source``: (cell number, line within the cell), both from 1."""
    left_out: tuple[str, ...]
    """What was not graded, each as ``cell 5, line 2: history = fit(...)``."""
    definitions: dict[str, int]
    """The cell of each function and class graded: a failed check on ``train_step`` names its cell."""


def read(data: bytes, name: str):
    """The notebook in ``data`` (nbformat 4), or NotebookUnreadable saying why in one line."""
    try:
        import nbformat
    except ImportError as exc:
        raise NotebookUnreadable(MISSING_EXTRA) from exc
    try:
        # as_version=4 upgrades older notebooks; a notebook that fails validation is still read (Jupyter opens it too).
        return nbformat.reads(data.decode("utf-8-sig"), as_version=4)
    except (UnicodeDecodeError, json.JSONDecodeError, nbformat.reader.NotJSONError) as exc:
        raise NotebookUnreadable(f"{name} is not a notebook Jupyter can open (not JSON: {str(exc)[:80]})") from exc
    except Exception as exc:  # noqa: BLE001 - nbformat raises several kinds for a malformed notebook
        raise NotebookUnreadable(f"{name} is not a notebook Jupyter can open ({type(exc).__name__})") from exc


def code_cells(notebook) -> list[tuple[int, str]]:
    """``(cell number, source)`` of each code cell, numbered among all cells from 1."""
    return [(number, cell.source) for number, cell in enumerate(notebook.cells, start=1)
            if cell.cell_type == "code"]


def to_python(cell_source: str) -> str:
    """A cell's source as plain Python: magics become ``get_ipython()`` calls (IPython's own rules)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError as exc:
        raise NotebookUnreadable(MISSING_EXTRA) from exc
    return TransformerManager().transform_cell(cell_source)


def convert(data: bytes, name: str) -> Converted:
    """The graded Python of the notebook in ``data`` (``name`` is its file name, for messages)."""
    cells = code_cells(read(data, name))
    chunks = [(number, to_python(source)) for number, source in cells]
    defined = defined_names(chunks)
    left_names = {"get_ipython"}  # magics' calls: the grading process has no IPython
    bound: set[str] = set()  # names the graded code binds: a later left-out rebinding does not unbind them
    future, body, left_out, definitions = [], [], [], {}
    for (number, text), (_, original) in zip(chunks, cells):
        lines = text.splitlines()
        # The list names a line as the learner wrote it (a magic, not its get_ipython() translation): IPython's
        # transformer keeps line numbers, except that a cell magic becomes one statement on the magic's line.
        shown = original.splitlines()
        try:
            tree = compile(text, f"cell {number}", "exec", ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        except (SyntaxError, ValueError):
            # Kept whole, so compiling the graded source reports the error at this cell.
            body.extend((line, (number, index)) for index, line in enumerate(lines, start=1))
            continue
        for node in tree.body:
            kept, quiet = judge(node, defined, left_names - bound)
            if not kept:
                left_names |= bound_names(node) | stored_names(node)
                if not quiet:
                    left_out.append(f"cell {number}, line {node.lineno}: {first_line(shown, node)}")
                continue
            bound.update(bound_names(node))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                definitions[node.name] = number
            target = future if isinstance(node, ast.ImportFrom) and node.module == "__future__" else body
            pieces = statement_lines(lines, node, number)
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                pieces = guarded(pieces, f"cell {number}, line {node.lineno} ({first_line(shown, node)})")
            target.extend(pieces)
    pairs = future + body  # __future__ imports must come first in a module, wherever the learner put them
    source = "".join(line + "\n" for line, _ in pairs)
    return Converted(source, tuple(where for _, where in pairs), tuple(left_out), definitions)


def defined_names(chunks: list[tuple[int, str]]) -> set[str]:
    """The functions and classes the notebook defines at its top level, in any cell."""
    names = set()
    for _, text in chunks:
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        names |= {node.name for node in tree.body
                  if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    return names


def judge(node: ast.stmt, defined: set[str], left_names: set[str]) -> tuple[bool, bool]:
    """(kept, quiet): whether ``node`` is graded, and, if not, whether leaving it out goes unsaid."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        modules = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
        if any(module.split(".")[0] == KIT_PACKAGE for module in modules):
            return False, True
        return True, False
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return True, False
    loaded = {child.id for child in ast.walk(node) if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load)}
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        calls_own = any(isinstance(child, ast.Call) and root_name(child.func) in defined for child in ast.walk(node))
        return not calls_own and not (loaded & left_names), False
    # The check cell's call (check("03")) is quiet: it is how the notebook is checked.
    quiet = (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
             and root_name(node.value.func) in left_names - {"get_ipython"})
    return False, quiet


def root_name(expression: ast.expr) -> str:
    """``fit`` for ``fit(...)``, ``model`` for ``model.train(...)``; '' when there is no plain name."""
    while isinstance(expression, (ast.Attribute, ast.Subscript, ast.Call)):
        expression = expression.func if isinstance(expression, ast.Call) else expression.value
    return expression.id if isinstance(expression, ast.Name) else ""


def stored_names(node: ast.stmt) -> set[str]:
    """Every name a left-out statement would have bound (loop variables, assignment targets)."""
    return {child.id for child in ast.walk(node) if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store)}


def bound_names(node: ast.stmt) -> set[str]:
    """The names a kept statement binds at the top level."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {alias.asname or alias.name.split(".")[0] for alias in node.names}
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    return stored_names(node)


def statement_lines(lines: list[str], node: ast.stmt, number: int) -> list[tuple[str, tuple[int, int]]]:
    """The text of ``node``, line by line, each with its (cell, line); decorators included."""
    start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    start_col = node.col_offset if start == node.lineno else 0
    end, end_col = node.end_lineno, node.end_col_offset
    pieces = lines[start - 1:end]
    if len(pieces) == 1:
        pieces = [pieces[0][start_col:end_col]]
    else:
        # Only a statement after a semicolon starts mid-line; only one before a semicolon ends mid-line.
        pieces = [pieces[0][start_col:], *pieces[1:-1], pieces[-1][:end_col]]
    return [(text, (number, start + index)) for index, text in enumerate(pieces)]


def guarded(pieces: list[tuple[str, tuple[int, int]]], where: str) -> list[tuple[str, tuple[int, int]]]:
    """A kept assignment that, should it raise while the notebook is loaded, is skipped instead, and says so.

    In the notebook it ran after cells the grader leaves out, and it may need what they did: ``state =
    torch.load(path)`` reads the file that a left-out ``save_model(...)`` wrote. Loaded without them, it
    raises, and that must not fail the import of functions that are right. Its name stays unbound, and the
    learner's output says which line was skipped and why (``wording.assignment_skipped``).
    """
    (first, first_where), *rest = pieces
    notice = wording.assignment_skipped(where)
    handler = (f"except Exception as __skipped__: print({notice!r} + type(__skipped__).__name__, "
               "file=__import__('sys').stderr)", pieces[-1][1])
    return [("try: " + first, first_where), *rest, handler]


def first_line(lines: list[str], node: ast.stmt) -> str:
    """The statement's first line, shortened: how the not-graded list names it."""
    text = lines[node.lineno - 1].strip() if node.lineno <= len(lines) else ""
    return text if len(text) <= 40 else text[:39] + "…"


def summary(left_out: tuple[str, ...], limit: int = 6) -> str:
    """The report's note: what of the notebook was not graded (a notebook's runs, not its definitions)."""
    if not left_out:
        return ""
    shown = "; ".join(left_out[:limit])
    more = f"; and {len(left_out) - limit} more" if len(left_out) > limit else ""
    return f"not graded (run, not defined, see the notebook rule in docs/notebooks.md): {shown}{more}"


def name_cells(checks: list, definitions: dict[str, int]) -> None:
    """Add to each check that did not pass the cell of the function it is about, unless its message names a cell.

    A suite's verdict ("the gradients were not zeroed") names no line, in a ``.py`` file either; in a
    notebook the learner also needs to know which cell to open. The function is the first word of the
    check's name that the notebook defines (``train_step uses only this batch's gradients``).
    """
    for check in checks:
        if check.status.value in ("passed", "skipped") or "cell " in check.message:
            continue
        words = [word.strip("`'\",.:()") for word in check.name.split()]
        name = next((word for word in words if word in definitions), None)
        if name is not None:
            check.message = f"{check.message} ({name} is in cell {definitions[name]})".strip()
