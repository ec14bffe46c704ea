"""Every code block in every lesson runs as written, and every picture can be made again.

A lesson's Python blocks run top to bottom in one namespace, as a learner would
run them in one session. A block fenced as ```` ```python raises=RuntimeError ````
is meant to fail: it must raise that exception (the lesson shows the error a
learner will meet). Pictures are made by ``lessons/pictures/NN_<topic>.py OUT_DIR``;
every image a lesson shows must be one that its script makes.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import KIT

LESSONS = sorted((KIT / "lessons").glob("[0-9][0-9]_*.md"))
FENCE = re.compile(r"^```python(?P<info>[^\n]*)\n(?P<code>.*?)^```", re.MULTILINE | re.DOTALL)
IMAGE = re.compile(r"!\[[^\]]*\]\((?P<path>images/[^)]+\.png)\)")

# Runs the blocks in one namespace; a block marked raises=NAME must raise NAME.
RUNNER = r"""
import json, sys, traceback
blocks = json.load(open(sys.argv[1]))
namespace = {"__name__": "__lesson__"}
for block in blocks:
    code = compile("\n" * (block["line"] - 1) + block["code"], block["lesson"], "exec")
    try:
        exec(code, namespace)
    except BaseException as exc:
        names = [kind.__name__ for kind in type(exc).__mro__]
        if block["raises"] and block["raises"] in names:
            continue
        traceback.print_exc()
        sys.exit(f"the block at line {block['line']} raised {type(exc).__name__}")
    else:
        if block["raises"]:
            sys.exit(f"the block at line {block['line']} was meant to raise {block['raises']} but did not")
"""


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
def test_every_code_block_runs(lesson, tmp_path):
    indented = re.findall(r"^[ \t]+```python", lesson.read_text(), re.MULTILINE)
    assert not indented, f"{lesson.name} has code blocks indented inside a list: move them out so they are run"
    blocks = code_blocks(lesson)
    assert blocks, f"{lesson.name} has no Python code blocks"
    (tmp_path / "blocks.json").write_text(json.dumps(blocks))
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(KIT)}
    process = subprocess.run([sys.executable, "-c", RUNNER, str(tmp_path / "blocks.json")], cwd=tmp_path,
                             env=env, capture_output=True, text=True, timeout=240)
    assert process.returncode == 0, process.stderr[-3000:]


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.stem)
def test_pictures_are_made_by_code_in_the_repo(lesson, tmp_path):
    shown = sorted(set(IMAGE.findall(lesson.read_text())))
    if not shown:
        pytest.skip(f"{lesson.name} shows no pictures")
    for image in shown:
        assert (KIT / "lessons" / image).is_file(), f"{lesson.name} shows {image}, which is not committed"
    script = picture_script(lesson)
    assert script.is_file(), f"{lesson.name} shows pictures but there is no {script.relative_to(KIT)} to make them"
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(KIT)}
    process = subprocess.run([sys.executable, str(script), str(tmp_path)], env=env, capture_output=True,
                             text=True, timeout=240)
    assert process.returncode == 0, process.stderr[-3000:]
    made = {f"images/{path.name}" for path in tmp_path.glob("*.png")}
    assert set(shown) <= made, f"{script.name} did not make {sorted(set(shown) - made)}"


def test_every_exercise_has_a_lesson():
    from grader.course import EXERCISES

    missing = [exercise.lesson for exercise in EXERCISES if not (KIT / exercise.lesson).is_file()]
    assert not missing, f"lessons missing: {missing}"
