"""Notebooks: the lessons run as notebooks, an exercise written in one is graded, and check() works from a cell.

These need the notebook extra (part of ``dev``); without it they are skipped.
One kernel runs every lesson notebook in turn (starting a kernel and importing
torch once instead of eleven times), its namespace cleared between lessons.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import shutil
from pathlib import Path

import pytest

from grader import course
from tests.helpers import KIT, fresh_cache, run_grader

jupytext = pytest.importorskip("jupytext")
nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from grader import notebook  # noqa: E402  (needs nbformat, checked above)

EXERCISE_03 = course.find_exercise("03")


def make_notebooks_script():
    spec = importlib.util.spec_from_file_location("make_notebooks", KIT / "scripts" / "make_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_notebook(path: Path, cells: list) -> Path:
    """A notebook of ``cells``: strings are code cells, ("md", text) Markdown ones."""
    made = [nbformat.v4.new_markdown_cell(c[1]) if isinstance(c, tuple) else nbformat.v4.new_code_cell(c) for c in cells]
    path.write_text(nbformat.writes(nbformat.v4.new_notebook(cells=made)))
    return path


def solution_cells(exercise: course.Exercise, change=lambda source: source) -> list[str]:
    """The reference solution split into cells (as make_notebooks splits a stub), ``change`` applied to its text."""
    source = change((KIT / "solutions" / exercise.filename).read_text())
    made = nbformat.reads(make_notebooks_script().stub_notebook(exercise, source), as_version=4)
    return [cell.source if cell.cell_type == "code" else ("md", cell.source) for cell in made.cells]


def learner_notebook(exercise: course.Exercise, source: str) -> str:
    """``source`` (the exercise's Python) as a learner's notebook, for the platforms' tests: in cells as the kit's
    stubs are, with a loop and a plot after the first code cell (left out of the grading)."""
    made = nbformat.reads(make_notebooks_script().stub_notebook(exercise, source), as_version=4)
    made.cells.insert(2, nbformat.v4.new_code_cell("%matplotlib inline\nfor i in range(2):\n    print(i)\n"
                                                   "import matplotlib.pyplot as plt\nplt.plot([1, 2])"))
    return nbformat.writes(made)


MODEL_CLASS = """\
class LinearRegressionModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.weights = nn.Parameter(torch.randn(1))
        self.bias = nn.Parameter(torch.randn(1))

    def forward(self, x):
        return self.weights * x + self.bias
"""
TRAINING_RUN = MODEL_CLASS + """
X = torch.arange(0.0, 1.0, 0.02).unsqueeze(1)
y = 0.7 * X + 0.3
torch.manual_seed(42)
model = LinearRegressionModel()
loss_fn = nn.L1Loss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
history = fit(model, (X[:40], y[:40]), (X[40:], y[40:]), loss_fn, optimizer, epochs=100)"""
PLOT = "%matplotlib inline\nfor key in history:\n    print(key, history[key][-1])\nplot_loss_curves(history)\nplt.show()"


def notebook_03(folder: Path, change=lambda source: source) -> Path:
    """Exercise 03's solution in cells, with a training run and a plot between its definitions."""
    cells = solution_cells(EXERCISE_03, change)
    cells[6:6] = [TRAINING_RUN, PLOT]  # after the definitions it runs, before the "try it" and check cells
    return write_notebook(folder / EXERCISE_03.notebook, cells)


def cell_holding(path: Path, text: str) -> int:
    cells = nbformat.read(path, as_version=4).cells
    return next(number for number, cell in enumerate(cells, start=1) if text in cell.source)


# -- the kit's notebooks are made from their one source -----------------------------------------------------


def test_committed_notebooks_are_what_make_notebooks_makes():
    stale = [str(path.relative_to(KIT)) for path, text in make_notebooks_script().expected_notebooks().items()
             if not path.is_file() or path.read_text(encoding="utf-8") != text]
    assert not stale, f"out of date (run python scripts/make_notebooks.py, then scripts/freeze_stubs.py): {stale}"


def test_lesson_pictures_are_attached_so_they_show_in_colab():
    lesson = nbformat.read(KIT / "lessons" / "03_training.ipynb", as_version=4)
    markdown = "".join(cell.source for cell in lesson.cells if cell.cell_type == "markdown")
    assert "](images/" not in markdown
    attached = {name for cell in lesson.cells for name in cell.get("attachments", {})}
    assert "03_loss_curves.png" in attached


def test_stub_notebooks_are_graded_as_not_started(grade_json_here):
    report, process = grade_json_here("03", "--source", str(KIT / "exercises"), env={"HOME": "/nonexistent"})
    statuses = {check["status"] for check in report["exercises"][0]["checks"]}
    assert statuses == {"not_started"}, process.stderr


# -- every lesson notebook runs -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    """One kernel for every lesson notebook, started in a scratch folder."""
    folder = tmp_path_factory.mktemp("lessons")
    client = nbclient.NotebookClient(nbformat.v4.new_notebook(), timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(folder)}})
    with client.setup_kernel(env={**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(KIT)}):
        yield client


LESSON_NOTEBOOKS = sorted((KIT / "lessons").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("lesson", LESSON_NOTEBOOKS, ids=lambda path: path.stem)
def test_every_lesson_notebook_runs(kernel, lesson):
    kernel.nb = nbformat.read(lesson, as_version=4)
    kernel.reset_execution_trackers()
    kernel.execute_cell(nbformat.v4.new_code_cell("%reset -f"), 0)  # the last lesson's names are gone
    for index, cell in enumerate(kernel.nb.cells):
        if cell.cell_type != "code":
            continue
        kernel.execute_cell(cell, index)  # raises CellExecutionError unless the cell is tagged raises-exception
        errors = [output for output in cell.outputs if output.output_type == "error"]
        expected = cell.metadata.get("raises")
        if expected:
            # nbclient's tag lets any error through: the lesson promises this one.
            assert [error.ename for error in errors] == [expected], (
                f"{lesson.name}, cell {index + 1} was meant to raise {expected}, raised {[e.ename for e in errors]}")
        else:
            assert not errors


def test_raises_marks_become_tagged_metadata():
    cells = nbformat.read(KIT / "lessons" / "03_training.ipynb", as_version=4).cells
    marked = [cell for cell in cells if cell.metadata.get("raises")]
    assert marked and all(cell.metadata["tags"] == ["raises-exception"] for cell in marked)
    assert marked[0].metadata["raises"] == "RuntimeError"


# -- what of a notebook is graded ---------------------------------------------------------------------------


def convert(*cells) -> notebook.Converted:
    made = [nbformat.v4.new_code_cell(cell) for cell in cells]
    return notebook.convert(nbformat.writes(nbformat.v4.new_notebook(cells=made)).encode(), "n.ipynb")


def test_definitions_imports_and_plain_assignments_are_kept():
    converted = convert("import torch\nfrom torch import nn", "loss_fn = nn.L1Loss()\nX = torch.zeros(3)",
                        "def f(x):\n    return x\n\nclass M(nn.Module):\n    pass")
    tree = ast.parse(converted.source)
    # Each assignment is kept inside a try: should it raise at import, it is skipped (see the test below).
    assert [type(node).__name__ for node in tree.body] == ["Import", "ImportFrom", "Try", "Try",
                                                           "FunctionDef", "ClassDef"]
    assert [type(node.body[0]).__name__ for node in tree.body[2:4]] == ["Assign", "Assign"]
    assert converted.left_out == ()


def test_assignments_that_call_the_notebooks_own_code_are_left_out():
    converted = convert("def fit(m):\n    return m", "class Model:\n    pass",
                        "model = Model()\noptimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
                        "history = fit(model)\nloss_fn = nn.L1Loss()")
    assert "model =" not in converted.source and "history" not in converted.source
    # Uses a name that was left out, so it would fail where model does not exist:
    assert "optimizer" not in converted.source
    assert "loss_fn = nn.L1Loss()" in converted.source  # calls torch, not the notebook: a definition
    assert [item.split(":")[0] for item in converted.left_out] == ["cell 3, line 1", "cell 3, line 2", "cell 3, line 3"]


def test_runs_loops_plots_and_magics_are_left_out_and_listed():
    converted = convert("%matplotlib inline\n!pip install nothing\nimport torch", "for i in range(3):\n    print(i)",
                        "plt.plot([1, 2])\nfiles = !ls", "%%time\ndef slow():\n    pass")
    assert converted.source == "import torch\n"
    listed = "\n".join(converted.left_out)
    for shown in ("cell 1, line 1: %matplotlib inline", "cell 1, line 2: !pip install nothing",
                  "cell 2, line 1: for i in range(3):", "cell 3, line 1: plt.plot", "cell 3, line 2: files = !ls",
                  "cell 4, line 1: %%time"):
        assert shown in listed


def test_a_rebinding_that_is_left_out_does_not_hide_the_kept_name():
    converted = convert("X = torch.zeros(3)", "for X in range(2):\n    pass", "n = len(X)")
    assert "n = len(X)" in converted.source


def test_the_check_cell_is_left_out_without_being_listed():
    converted = convert("import torch", 'from grader import check\ncheck("03")')
    assert converted.source == "import torch\n" and converted.left_out == ()


def test_future_imports_come_first_and_lines_map_back_to_cells():
    converted = convert("import torch", "from __future__ import annotations\nx = 1")
    assert converted.source.splitlines()[:3] == ["from __future__ import annotations", "import torch", "try: x = 1"]
    assert converted.cells == ((2, 1), (1, 1), (2, 2), (2, 2))  # x = 1, and the line that would skip it


def test_a_cell_that_is_not_python_is_kept_whole_so_its_error_is_reported():
    converted = convert("import torch", "def broken(:\n    pass")
    assert "def broken(:" in converted.source
    assert converted.cells[-2:] == ((2, 1), (2, 2))


# -- grading a notebook -------------------------------------------------------------------------------------


def test_solution_notebook_with_a_training_run_and_plots_gets_full_marks(tmp_path, grade_warm):
    before = notebook_03(tmp_path).read_bytes()
    report, returncode = grade_warm("03", tmp_path / EXERCISE_03.notebook)
    exercise = report["exercises"][0]
    assert returncode == 0, exercise
    assert exercise["score"] == exercise["max_score"] > 0
    assert "history = fit(model" in exercise["note"] and "not graded" in exercise["note"]
    assert (tmp_path / EXERCISE_03.notebook).read_bytes() == before  # the learner's file is never rewritten
    assert sorted(path.name for path in tmp_path.iterdir()) == [EXERCISE_03.notebook]


SAVE_THEN_LOAD = MODEL_CLASS + """
path = Path("models") / "linear.pth"
save_model(LinearRegressionModel(), path)
state = torch.load(path)
weights = state["weights"]"""


def test_a_kept_assignment_that_needs_a_left_out_run_is_skipped_not_an_import_failure(tmp_path, grade_warm):
    # torch.load(path) reads the file that the left-out save_model(...) wrote when the notebook ran: loaded
    # without it, it raises. The functions are right, and get full marks.
    exercise = course.EXERCISES[5]
    path = write_notebook(tmp_path / exercise.notebook, [*solution_cells(exercise), SAVE_THEN_LOAD])
    report, returncode = grade_warm("05", path)
    graded = report["exercises"][0]
    assert returncode == 0, graded
    assert graded["score"] == graded["max_score"] > 0
    assert "not graded" in graded["note"]


def test_a_skipped_assignment_says_which_line_and_why(capsys):
    converted = convert("import torch", "path = 'nowhere.pth'\nsave(path)\nstate = torch.load(path)\n"
                        "w = state['w']\nn = 3")
    assert "save(path)" not in converted.source
    names: dict = {}
    exec(compile(converted.source, "n.py", "exec"), names)
    assert "state" not in names and "w" not in names and names["n"] == 3
    said = capsys.readouterr().err.splitlines()
    assert said == ["cell 2, line 3 (state = torch.load(path)) was not graded: without the cells the grader leaves "
                    "out, it raised FileNotFoundError",
                    "cell 2, line 4 (w = state['w']) was not graded: without the cells the grader leaves out, "
                    "it raised NameError"]
    assert len(converted.cells) == len(converted.source.splitlines())  # every line still maps to its cell


def test_a_bug_in_one_cell_is_reported_with_that_cell(tmp_path, grade_warm):
    path = notebook_03(tmp_path, lambda source: source.replace("\n    optimizer.zero_grad()", "\n    pass", 1))
    report, _ = grade_warm("03", path)
    failed = {c["id"]: c for c in report["exercises"][0]["checks"] if c["status"] == "failed"}
    assert "zero_grad_order" in failed
    assert f"train_step is in cell {cell_holding(path, 'def train_step')}" in failed["zero_grad_order"]["message"]


def test_an_error_points_at_the_cell_and_the_line_within_it(tmp_path, grade_warm):
    path = notebook_03(tmp_path, lambda source: source.replace("\n    model.eval()", "\n    model.eval()\n    no_such_name", 1))
    report, _ = grade_warm("03", path)
    cell = cell_holding(path, "no_such_name")
    line = nbformat.read(path, as_version=4).cells[cell - 1].source.splitlines().index("    no_such_name") + 1
    errors = [c["message"] for c in report["exercises"][0]["checks"] if c["status"] == "error"]
    assert errors and f"exercise_03_training.ipynb, cell {cell}, line {line}, in test_step: NameError" in errors[0]


def test_a_syntax_error_points_at_its_cell(tmp_path, grade_warm):
    path = write_notebook(tmp_path / EXERCISE_03.notebook, [("md", "# mine"), "import torch", "def train_step(:\n    pass"])
    report, _ = grade_warm("03", path)
    messages = {c["message"] for c in report["exercises"][0]["checks"]}
    assert any("exercise_03_training.ipynb, cell 3, line 1" in message for message in messages), messages


def test_a_file_that_is_not_a_notebook_is_one_clear_line(tmp_path, grade_json_here):
    (tmp_path / EXERCISE_03.notebook).write_text("{ this is not json")
    report, process = grade_json_here("03", "--source", str(tmp_path))
    messages = {c["message"] for c in report["exercises"][0]["checks"]}
    assert len(messages) == 1 and "not a notebook Jupyter can open" in messages.pop()
    assert "Traceback" not in process.stderr


def test_the_notebook_is_graded_when_the_py_file_is_still_the_stub(tmp_path, grade_json_here):
    shutil.copy(KIT / "exercises" / EXERCISE_03.filename, tmp_path)
    notebook_03(tmp_path)
    report, _ = grade_json_here("03", "--source", str(tmp_path))
    assert report["exercises"][0]["score"] == report["exercises"][0]["max_score"]


def test_the_py_file_is_graded_when_the_notebook_is_still_the_stub(tmp_path, grade_json_here):
    shutil.copy(KIT / "solutions" / EXERCISE_03.filename, tmp_path)
    stub = nbformat.read(KIT / "exercises" / EXERCISE_03.notebook, as_version=4)
    stub.cells[1].outputs = [nbformat.v4.new_output("stream", text="ran it\n")]  # run and saved: still the stub
    nbformat.write(stub, tmp_path / EXERCISE_03.notebook)
    report, _ = grade_json_here("03", "--source", str(tmp_path))
    assert report["exercises"][0]["score"] == report["exercises"][0]["max_score"]


def test_both_files_changed_is_a_usage_error_naming_both(tmp_path, grader_here):
    shutil.copy(KIT / "solutions" / EXERCISE_03.filename, tmp_path)
    notebook_03(tmp_path)
    process = grader_here("03", "--source", str(tmp_path))
    assert process.returncode == 2
    line, = process.stderr.strip().splitlines()
    assert EXERCISE_03.filename in line and EXERCISE_03.notebook in line


def test_reset_puts_the_notebook_stub_back_and_keeps_a_backup(tmp_path):
    mine = notebook_03(tmp_path).read_bytes()
    cache = tmp_path / "cache"
    process = run_grader("03", "--reset", "--source", str(tmp_path), env={"XDG_CACHE_HOME": str(cache)})
    assert process.returncode == 0, process.stderr
    assert (tmp_path / EXERCISE_03.notebook).read_bytes() == (KIT / "exercises" / EXERCISE_03.notebook).read_bytes()
    backups = list(cache.rglob(f"*{EXERCISE_03.notebook}"))
    assert [backup.read_bytes() for backup in backups] == [mine]
    assert not (tmp_path / EXERCISE_03.filename).exists()  # a notebook learner gets no .py file


# -- check() from a running kernel --------------------------------------------------------------------------


def run_in_kernel(path: Path, env: dict) -> list:
    """Execute the notebook at ``path`` with a real kernel, as Jupyter would; its cells with outputs."""
    book = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(book, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    with client.setup_kernel(env={**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(KIT), **env}):
        for index, cell in enumerate(book.cells):
            if cell.cell_type == "code":
                client.execute_cell(cell, index)
    return book.cells


def test_check_from_a_cell_shows_the_failure_and_hint_as_the_command_line_grades_it(tmp_path, grade_json_here):
    path = notebook_03(tmp_path, lambda source: source.replace("\n    optimizer.zero_grad()", "\n    pass", 1))
    book = nbformat.read(path, as_version=4)
    book.cells[-1].source = 'from grader import check\nresult = check("03", seed=7)'
    book.cells.append(nbformat.v4.new_code_cell('import json; print(json.dumps(result))'))
    nbformat.write(book, path)
    # Jupyter's server names the notebook to its kernel through JPY_SESSION_NAME.
    cells = run_in_kernel(path, {"JPY_SESSION_NAME": str(path), "XDG_CACHE_HOME": str(fresh_cache(tmp_path / "cache"))})
    shown = [output for output in cells[-2].outputs if output.output_type == "display_data"]
    assert shown, cells[-2].outputs
    page = shown[0].data["text/html"]
    assert "✗" in page and "train_step uses only this batch" in page
    assert "hint: Gradients add up" in page and "train_step is in cell" in page
    from_cell = json.loads("".join(output.text for output in cells[-1].outputs if output.output_type == "stream"))
    from_command_line, _ = grade_json_here("03", "--source", str(tmp_path), "--seed", "7")
    status = lambda report: {c["id"]: c["status"] for c in report["exercises"][0]["checks"]}  # noqa: E731
    assert status(from_cell) == status(from_command_line)
    assert "failed" in status(from_cell).values()


def test_check_without_the_notebook_file_grades_the_history_with_a_warning(tmp_path):
    path = write_notebook(tmp_path / "scratch.ipynb", ["import torch", 'from grader import check\ncheck("00")'])
    cells = run_in_kernel(path, {"JPY_SESSION_NAME": "", "XDG_CACHE_HOME": str(fresh_cache(tmp_path / "cache"))})
    page = "".join(output.data.get("text/html", "") for output in cells[-1].outputs if "data" in output)
    assert "input history" in page and "re-runs and deleted cells" in page


def test_watch_follows_a_notebook_and_grades_each_save(tmp_path):
    from tests.test_watch import Watcher, save

    exercise = course.find_exercise("02")
    folder = tmp_path / "exercises"
    folder.mkdir()
    learner = folder / exercise.notebook
    learner.write_text(learner_notebook(exercise, (KIT / "exercises" / exercise.filename).read_text()))
    watcher = Watcher("02", "--source", str(folder), "--seed", "11", cwd=tmp_path)
    try:
        first = watcher.screen()
        assert "0/12" in first and exercise.notebook in first
        solved = learner_notebook(exercise, (KIT / "solutions" / exercise.filename).read_text())
        save(learner, solved)
        assert "12/12" in watcher.screen()
    finally:
        status, last_words = watcher.stop()
    assert status == 0, last_words
    assert learner.read_text() == solved, "the learner's notebook must be exactly as they saved it"
