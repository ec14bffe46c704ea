"""Every code block of every lesson is run, and every picture can be made again.

A lesson's Python blocks are run by ``tests/test_notebooks.py``, which executes
each lesson's notebook top to bottom in one kernel, as a learner would: a
block fenced as ```` ```python raises=RuntimeError ```` is meant to fail and
must raise that exception there (the lesson shows the error a learner will
meet). Here, on the Markdown side: no block is hidden from that run (indented
in a list, or missing from the notebook), and pictures are made by
``lessons/pictures/NN_<topic>.py OUT_DIR``: every image a lesson shows must be
one that its script makes.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import KIT

LESSONS = sorted((KIT / "lessons").glob("[0-9][0-9]_*.md"))
FENCE = re.compile(r"^```python(?P<info>[^\n]*)\n(?P<code>.*?)^```", re.MULTILINE | re.DOTALL)
IMAGE = re.compile(r"!\[[^\]]*\]\((?P<path>images/[^)]+\.png)\)")


def code_blocks(lesson: Path) -> list[dict]:
    """The lesson's Python blocks, each with its first line number and what it must raise (if anything)."""
    text = lesson.read_text()
    blocks = []
    for match in FENCE.finditer(text):
        raises = re.search(r"raises=(\w+)", match.group("info"))
        line = text.count("\n", 0, match.start("code")) + 1
        blocks.append({"code": match.group("code"), "line": line, "lesson": str(lesson),
                       "raises": raises.group(1) if raises else ""})
    return blocks


def picture_script(lesson: Path) -> Path:
    return KIT / "lessons" / "pictures" / f"{lesson.stem}.py"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.stem)
def test_every_code_block_is_a_cell_of_the_notebook_that_is_run(lesson):
    indented = re.findall(r"^[ \t]+```python", lesson.read_text(), re.MULTILINE)
    assert not indented, f"{lesson.name} has code blocks indented inside a list: move them out so they are run"
    blocks = code_blocks(lesson)
    assert blocks, f"{lesson.name} has no Python code blocks"
    # test_notebooks runs the notebook's cells (and test_committed_notebooks_are_what_make_notebooks_makes keeps
    # it made from this lesson): each block must be one of them, as written, with what it must raise.
    notebook = json.loads(lesson.with_suffix(".ipynb").read_text(encoding="utf-8"))
    cells = [("".join(cell["source"]).rstrip("\n"), cell["metadata"].get("raises", ""))
             for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert [(block["code"].rstrip("\n"), block["raises"]) for block in blocks] == cells, (
        f"{lesson.name}'s blocks are not the code cells of {lesson.with_suffix('.ipynb').name}: "
        "run python scripts/make_notebooks.py")


# Runs every picture script in one process (one torch import instead of one per script), each as
# ``python SCRIPT OUT_DIR`` runs it: its own folder first on sys.path, its own argv, its exit status.
RUN_SCRIPTS = r"""
import json, runpy, sys, traceback
results = {}
for script, out in json.loads(sys.argv[1]):
    sys.argv, sys.path[0] = [script, out], script.rsplit("/", 1)[0]
    try:
        runpy.run_path(script, run_name="__main__")
        results[script] = ""
    except SystemExit as exc:
        results[script] = "" if exc.code in (0, None) else f"exit status {exc.code}"
    except BaseException:
        results[script] = traceback.format_exc()[-3000:]
print(json.dumps(results))
"""


@pytest.fixture(scope="session")
def pictures_made(tmp_path_factory, once_per_run):
    """``{script: (folder, problem)}``: each lesson's picture script, run once for the whole test run."""
    def make():
        out = tmp_path_factory.mktemp("pictures")
        jobs = [(str(picture_script(lesson)), str(out / lesson.stem)) for lesson in LESSONS
                if picture_script(lesson).is_file()]
        env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(KIT)}
        process = subprocess.run([sys.executable, "-c", RUN_SCRIPTS, json.dumps(jobs)], env=env,
                                 capture_output=True, text=True, timeout=600)
        assert process.returncode == 0, process.stderr[-3000:]
        problems = json.loads(process.stdout.strip().splitlines()[-1])
        return {script: (Path(folder), problems[script]) for script, folder in jobs}

    return once_per_run("pictures_made", make)


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.stem)
def test_pictures_are_made_by_code_in_the_repo(lesson, pictures_made):
    shown = sorted(set(IMAGE.findall(lesson.read_text())))
    if not shown:
        pytest.skip(f"{lesson.name} shows no pictures")
    for image in shown:
        assert (KIT / "lessons" / image).is_file(), f"{lesson.name} shows {image}, which is not committed"
    script = picture_script(lesson)
    assert script.is_file(), f"{lesson.name} shows pictures but there is no {script.relative_to(KIT)} to make them"
    folder, problem = pictures_made[str(script)]
    assert not problem, f"{script.name} failed: {problem}"
    made = {f"images/{path.name}" for path in folder.glob("*.png")}
    assert set(shown) <= made, f"{script.name} did not make {sorted(set(shown) - made)}"


def test_every_exercise_has_a_lesson():
    from grader.course import EXERCISES

    missing = [exercise.lesson for exercise in EXERCISES if not (KIT / exercise.lesson).is_file()]
    assert not missing, f"lessons missing: {missing}"
