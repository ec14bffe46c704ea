"""Make the kit's notebooks from their one source: the lessons from ``lessons/*.md``, the stubs from ``exercises/*.py``.

Nobody edits a notebook of the kit by hand: change the Markdown lesson or the
``.py`` stub, then run this script (and ``scripts/freeze_stubs.py``, which
copies the stubs, notebooks included, into the grader). The kit's tests fail
when a committed notebook differs from what this script makes.

- A lesson becomes a notebook through jupytext's Markdown format. A block
  fenced as ```` ```python raises=RuntimeError ```` keeps that mark as cell
  metadata (``"raises": "RuntimeError"``) and gets Jupyter's
  ``raises-exception`` tag, so "Run all" goes on past it. Pictures are attached
  to their cells, so they show inline in Colab too, where ``images/`` is not there.
- A stub becomes a notebook of one cell per definition: the docstring as the
  title, the imports, each function or class with its TODOs, the file's
  ``__main__`` demonstration as a "try it" cell, and a last cell that checks it.

Cell ids are numbered, not random, so making a notebook twice gives the same bytes.

    python scripts/make_notebooks.py        # after changing a lesson or a stub
"""

from __future__ import annotations

import ast
import base64
import re
import sys
import textwrap
from pathlib import Path

import jupytext
import nbformat

KIT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(KIT_ROOT))

from grader import course  # noqa: E402  (needs the path above when run as a script)

IMAGE = re.compile(r"\]\(images/(?P<name>[^)/]+\.png)\)")
KERNEL = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
          "language_info": {"name": "python"}}


def finish(notebook, kind: str) -> str:
    """The notebook as committed: the kit's metadata, numbered cell ids, nbformat's own JSON layout."""
    notebook.metadata = nbformat.from_dict(KERNEL)
    for number, cell in enumerate(notebook.cells, start=1):
        cell.id = f"{kind}-{number}"
    nbformat.validate(notebook)
    return nbformat.writes(notebook) + "\n"


def lesson_notebook(lesson: Path) -> str:
    """The notebook of one Markdown lesson."""
    notebook = jupytext.reads(lesson.read_text(encoding="utf-8"), fmt="md")
    for cell in notebook.cells:
        if cell.cell_type == "code":
            # jupytext keeps the fence's words after "python" as they were written; the mark is ours to read.
            mark = cell.metadata.pop("incorrectly_encoded_metadata", "")
            raises = re.fullmatch(r"raises=(\w+)", mark.strip())
            if raises:
                cell.metadata["raises"] = raises.group(1)
                cell.metadata["tags"] = ["raises-exception"]
        elif cell.cell_type == "markdown":
            names = IMAGE.findall(cell.source)
            if names:
                cell.source = IMAGE.sub(lambda match: f"](attachment:{match.group('name')})", cell.source)
                cell.attachments = {name: {"image/png": base64.b64encode(
                    (lesson.parent / "images" / name).read_bytes()).decode()} for name in sorted(set(names))}
    return finish(notebook, "lesson")


def stub_notebook(exercise: course.Exercise, source: str) -> str:
    """The notebook of an exercise file (``source``: its Python), one cell per top-level definition."""
    tree = ast.parse(source)
    lines = source.splitlines()
    docstring = ast.get_docstring(tree) or ""
    cells = [nbformat.v4.new_markdown_cell(
        f"# {exercise.name} · {exercise.title}\n\n{docstring}\n\n"
        "Write each function in its cell and run it; the last cell checks your work "
        f"(so does `python -m grader {exercise.number:02d}` in a terminal). Only definitions are graded: "
        "imports, functions, classes and assignments. Cells that run things (a training run, a plot) are yours "
        "to experiment in.")]
    body = [node for node in tree.body if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))]
    demo = [node for node in body if is_main_block(node)]
    imports = [node for node in body if isinstance(node, (ast.Import, ast.ImportFrom))]
    if imports:
        cells.append(nbformat.v4.new_code_cell("\n".join(lines[imports[0].lineno - 1:imports[-1].end_lineno])))
    previous_end = imports[-1].end_lineno if imports else 0
    for node in body:
        if node in imports or node in demo:
            continue
        start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        # Comment lines just above a definition belong to it.
        while start - 1 > previous_end and lines[start - 2].lstrip().startswith("#"):
            start -= 1
        cells.append(nbformat.v4.new_code_cell("\n".join(lines[start - 1:node.end_lineno])))
        previous_end = node.end_lineno
    for node in demo:
        inside = "\n".join(lines[node.body[0].lineno - 1:node.end_lineno])
        cells.append(nbformat.v4.new_markdown_cell("## Try it\n\nOnce your functions work, run this cell."))
        cells.append(nbformat.v4.new_code_cell(textwrap.dedent(inside).strip("\n")))
    cells.append(nbformat.v4.new_markdown_cell("## Check your work\n\nGrades this notebook's definitions "
                                               "with the hidden checks, as the command line does."))
    cells.append(nbformat.v4.new_code_cell(f'from grader import check\n\ncheck("{exercise.number:02d}")'))
    return finish(nbformat.v4.new_notebook(cells=cells), "cell")


def is_main_block(node: ast.stmt) -> bool:
    """``if __name__ == "__main__":``."""
    return (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
            and isinstance(node.test.left, ast.Name) and node.test.left.id == "__name__")


def expected_notebooks() -> dict[Path, str]:
    """Every notebook of the kit, by path, as this script makes it."""
    made = {}
    for exercise in course.EXERCISES:
        lesson = KIT_ROOT / exercise.lesson
        made[lesson.with_suffix(".ipynb")] = lesson_notebook(lesson)
        stub = (KIT_ROOT / "exercises" / exercise.filename).read_text(encoding="utf-8")
        made[KIT_ROOT / "exercises" / exercise.notebook] = stub_notebook(exercise, stub)
    return made


def main() -> int:
    for path, text in expected_notebooks().items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(KIT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
