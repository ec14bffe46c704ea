"""Watch mode, run for real: a learner saves, the grader grades again, Ctrl-C leaves cleanly.

The grader runs with its output on a pipe (so each screen starts with a rule
instead of clearing a terminal); the test reads screens as they come and edits
the learner's file between them, as a learner would. How fast a re-grade
appears is measured by ``scripts/benchmark.py``, not here.
"""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.helpers import KIT, survivors_after

SCREEN_END = "Graded at "  # the last line of every watch screen


class Watcher:
    """``python -m grader ARGS --watch`` in the background, read one screen at a time."""

    def __init__(self, *args: str, cwd: Path):
        self.marker = f"WATCH_MARKER_{uuid.uuid4().hex}"
        env = {**os.environ, "PYTHONPATH": str(KIT), self.marker: "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "grader", *args, "--watch"], cwd=cwd, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            # A background job has Ctrl-C ignored; a learner's terminal does not.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        self.pending = ""

    def screen(self, timeout: float = 60) -> str:
        """Everything up to and including the next line that ends a screen."""
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while SCREEN_END not in self.pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                pytest.fail(f"no new screen within {timeout} s; so far: {self.pending[-2000:]}")
            data = os.read(self.process.stdout.fileno(), 65536).decode(errors="replace")
            if not data:
                pytest.fail(f"the grader ended (exit {self.process.wait()}): {self.pending[-2000:]}")
            self.pending += data
        end = self.pending.index("\n", self.pending.index(SCREEN_END)) + 1
        screen, self.pending = self.pending[:end], self.pending[end:]
        return screen

    def stop(self) -> tuple[int, str]:
        """Ctrl-C, as a learner presses it; the exit status and the last words."""
        self.process.send_signal(signal.SIGINT)
        rest, _ = self.process.communicate(timeout=30)
        return self.process.returncode, self.pending + rest.decode(errors="replace")


def save(path: Path, text: str) -> None:
    """Save as many editors do: write a new file beside it, then rename it over the old one."""
    temporary = path.with_name(f".{path.name}.swp")
    temporary.write_text(text)
    os.replace(temporary, path)


@pytest.fixture
def learner_folder(tmp_path):
    folder = tmp_path / "exercises"
    folder.mkdir()
    shutil.copy(KIT / "exercises" / "exercise_02_models.py", folder)
    return folder


def test_a_save_is_graded_again_and_ctrl_c_leaves_nothing_behind(learner_folder, tmp_path):
    learner = learner_folder / "exercise_02_models.py"
    # --timeout 5: the hang at import below waits for it (the default, 15 s, would only make the test slower).
    watcher = Watcher("02", "--source", str(learner_folder), "--seed", "11", "--timeout", "5", cwd=tmp_path)
    try:
        first = watcher.screen()
        assert "exercise_02 · Building models  0/12" in first
        assert "not started" in first and "hint:" in first
        assert first.count("not started") == 1, "only the first check that does not pass is shown"

        save(learner, (KIT / "solutions" / "exercise_02_models.py").read_text())
        done = watcher.screen()
        assert "12/12" in done and "exercise_02 is done" in done
        assert "Next: exercise_03" in done and "lessons/03_training.md" in done

        # A hang at import costs one grading, not the watch.
        save(learner, "while True:\n    pass\n")
        hung = watcher.screen()
        assert "took longer than" in hung and "0/12" in hung

        # Code that kills the grader's own worker costs one grading too: the next save is graded again.
        save(learner, "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n")
        killed = watcher.screen()
        assert "0/12" in killed

        final = (KIT / "solutions" / "exercise_02_models.py").read_text() + "\n# my notes\n"
        save(learner, final)
        again = watcher.screen()
        assert "12/12" in again
    finally:
        status, last_words = watcher.stop()
    assert status == 0, last_words
    assert "Stopped watching" in last_words and "Traceback" not in last_words
    assert learner.read_text() == final, "the learner's file must be exactly as they saved it"
    assert survivors_after(watcher.marker, within_s=1) == []


def test_a_file_that_goes_missing_is_waited_for(learner_folder, tmp_path):
    learner = learner_folder / "exercise_02_models.py"
    watcher = Watcher("02", "--source", str(learner_folder), "--seed", "11", cwd=tmp_path)
    try:
        watcher.screen()
        stub = learner.read_text()
        learner.unlink()
        deadline = time.monotonic() + 30
        while "is missing" not in watcher.pending and time.monotonic() < deadline:
            time.sleep(0.1)
            watcher.pending += _read_available(watcher)
        assert "is missing" in watcher.pending and "--reset" in watcher.pending
        save(learner, stub)
        assert "0/12" in watcher.screen()
    finally:
        status, _ = watcher.stop()
    assert status == 0


def _read_available(watcher: Watcher) -> str:
    selector = selectors.DefaultSelector()
    selector.register(watcher.process.stdout, selectors.EVENT_READ)
    if selector.select(0):
        return os.read(watcher.process.stdout.fileno(), 65536).decode(errors="replace")
    return ""


def test_watch_without_an_exercise_follows_the_first_unfinished_one(tmp_path):
    folder = tmp_path / "exercises"
    shutil.copytree(KIT / "exercises", folder)
    shutil.copy(KIT / "solutions" / "exercise_00_tensors.py", folder)  # 00 is done, so 01 comes next
    watcher = Watcher("--source", str(folder), cwd=tmp_path)
    try:
        assert "exercise_01 · Data preparation" in watcher.screen(timeout=120)
    finally:
        status, _ = watcher.stop()
    assert status == 0


@pytest.mark.parametrize("arguments, words", [
    (["--all"], "one exercise at a time"),
    (["02", "03"], "one exercise at a time"),
    (["02", "--format", "json"], "leave out --format"),
    (["02", "--reset"], "reset first"),
])
def test_watch_usage_errors(arguments, words, tmp_path):
    process = subprocess.run([sys.executable, "-m", "grader", *arguments, "--watch"], cwd=KIT,
                             env={**os.environ, "PYTHONPATH": str(KIT)},
                             capture_output=True, text=True, timeout=60)
    assert process.returncode == 2 and words in process.stderr, process.stderr
    assert len(process.stderr.strip().splitlines()) == 1


def test_an_edit_saved_during_a_grading_is_kept_and_graded_next(learner_folder, tmp_path):
    learner = learner_folder / "exercise_02_models.py"
    solution = (KIT / "solutions" / "exercise_02_models.py").read_text()
    # Every check builds a model: a pause in __init__ keeps the grading running while the learner saves.
    slow = solution.replace("import torch\n", "import time\nimport torch\n", 1)
    slow = slow.replace("        super().__init__()\n", "        super().__init__()\n        time.sleep(0.2)\n", 1)
    learner.write_text(slow)
    watcher = Watcher("02", "--source", str(learner_folder), "--seed", "11", cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while "grading" not in watcher.pending and time.monotonic() < deadline:
            time.sleep(0.05)
            watcher.pending += _read_available(watcher)
        assert "Watching" in watcher.pending, "the header comes at once, before the first grading ends"
        time.sleep(1.5)
        edited = slow + "\n# saved while the grader was running\n"
        save(learner, edited)
        first = watcher.screen()
        assert "changed while it was being graded" in first
        second = watcher.screen()
        assert "12/12" in second and "changed while" not in second
    finally:
        status, _ = watcher.stop()
    assert status == 0
    assert learner.read_text() == edited, "the learner's edit was undone"


def test_a_child_forked_before_the_save_grades_the_file_as_saved(tmp_path):
    """Watch mode forks the next grading's child ahead of the save (``Worker.prepare``): it must grade the
    file as saved afterwards, and a child forked for other settings is let go, not used."""
    from grader import course
    from grader.runner import KIT_ROOT, Task, Worker

    exercise = course.find_exercise("00")
    learner = tmp_path / exercise.filename
    solution = (KIT_ROOT / "solutions" / exercise.filename).read_text()
    learner.write_text(solution)
    task = Task(exercise, learner, KIT_ROOT / "grader" / "suites" / exercise.suite_filename)
    settings = {"device": "cpu", "timeout": 15, "seed": 3}
    with Worker() as worker:
        full = worker.grade([task], **settings).exercises[0]
        assert full.score == full.max_score
        worker.prepare(task, **settings)
        assert worker.waiting is not None
        learner.write_text(solution.replace("requires_grad=True", "requires_grad=False"))
        broken = worker.grade([task], **settings).exercises[0]
        assert worker.waiting is None
        assert broken.score < full.score, "the waiting child graded the file as it was before the save"
        worker.prepare(task, **settings)
        learner.write_text(solution)
        again = worker.grade([task], **{**settings, "seed": 4}).exercises[0]  # other settings: a fresh child
        assert again.score == full.score
        assert worker.waiting is None
