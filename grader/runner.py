"""Runs a grading from the process that prints the report, which never imports torch.

It starts the supervisor (``grader.supervisor``) as a fresh interpreter with a
clean environment, hands it the plan, and builds the report from the records it
sends back on a private pipe. If the supervisor itself dies or stops answering,
the exercises it did not finish are still reported, each with a message that
says what happened: the report is never lost.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from grader.course import Exercise
from grader.results import CheckResult, ExerciseResult, Report, Status

KIT_ROOT = Path(__file__).resolve().parent.parent
STARTUP_LIMIT_S = 120.0  # importing torch on a slow, busy machine
SUITE_SLACK_S = 60.0  # the longest the supervisor may stay silent beyond one check's limit

# Environment variables that would change how the supervisor's Python or pytest
# behave: never passed on.
DROPPED_ENV_PREFIXES = ("PYTHON", "PYTEST_")


class UsageError(Exception):
    """A problem with what was asked, reported as one line and exit status 2."""


@dataclass(frozen=True)
class Task:
    """One exercise to grade: which file, with which suite."""

    exercise: Exercise
    file: Path
    suite: Path

    def to_plan(self) -> dict:
        return {
            "exercise": self.exercise.name,
            "title": self.exercise.title,
            "file": str(self.file.resolve()),
            "display_file": display_path(self.file),
            "module": self.file.stem,
            "suite": str(self.suite.resolve()),
            "missing_message": (f"{display_path(self.file)} does not exist: copy it from the kit's exercises/ "
                                "folder (or check --source) and start with its first TODO"),
        }


def named_exercise(text: str, then: str = "") -> Exercise:
    """The exercise ``text`` names (``exercise_03``, ``03``, ``3``), or a UsageError listing them all."""
    from grader.course import EXERCISES, find_exercise

    exercise = find_exercise(text)
    if exercise is None:
        known = ", ".join(e.name for e in EXERCISES)
        raise UsageError(f"unknown exercise {text!r}: choose one of {known}{then}")
    return exercise


def display_path(path: Path) -> str:
    """``path`` relative to the current folder when it is inside it, else absolute."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path.resolve())


def supervisor_environment() -> dict[str, str]:
    """The environment the supervisor starts with: ours, minus what could change pytest or Python."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(DROPPED_ENV_PREFIXES)}
    env.update({
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",  # only the plugins the grader names
        "MPLBACKEND": "Agg",  # no display needed, and plt.show() never blocks
        "PYTORCH_NVML_BASED_CUDA_CHECK": "1",  # asking whether CUDA exists does not initialise it
    })
    return env


DEFAULT_MEMORY_MIB = 2048


def grade(tasks: list[Task], device: str, timeout: float, seed: int, memory_mib: int = DEFAULT_MEMORY_MIB) -> Report:
    """Grade ``tasks`` in a supervisor process and return the report.

    ``memory_mib``: how much resident memory learner code may use beyond the grader's own.
    """
    with Worker() as worker:
        return worker.grade(tasks, device, timeout, seed, memory_mib)


class Worker:
    """The supervisor process, kept warm between gradings.

    A one-off grading starts it, sends one plan and stops it; watch mode keeps
    it, so that each re-grade only forks a child from a process that has
    already imported torch. Should learner code kill the supervisor itself, that
    grading reports why, and the next one starts a fresh supervisor.
    """

    def __init__(self):
        self.process: subprocess.Popen | None = None
        self.report_r = -1
        self.stderr = tempfile.TemporaryFile()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def start(self) -> None:
        report_r, report_w = os.pipe()
        bootstrap = (f"import sys; sys.path.insert(0, {str(KIT_ROOT)!r}); "
                     "from grader.supervisor import main; main()")
        self.process = subprocess.Popen(
            # -I: no user site, no PYTHON* variables, and no current folder on sys.path;
            # -B: no bytecode written anywhere.
            [sys.executable, "-I", "-B", "-c", bootstrap, str(report_w)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self.stderr,
            pass_fds=(report_w,), env=supervisor_environment(), cwd=tempfile.gettempdir(),
            start_new_session=True,
        )
        os.close(report_w)
        self.report_r = report_r

    def grade(self, tasks: list[Task], device: str, timeout: float, seed: int,
              memory_mib: int = DEFAULT_MEMORY_MIB) -> Report:
        """Grade ``tasks`` (one plan) and return the report; the supervisor stays up for the next plan."""
        if self.process is None or self.process.poll() is not None:
            self.close_process()
            self.start()
        plan = {"device": device, "timeout": timeout, "seed": seed, "memory_mib": memory_mib,
                "exercises": [task.to_plan() for task in tasks]}
        try:
            self.process.stdin.write((json.dumps(plan) + "\n").encode())
            self.process.stdin.flush()
        except BrokenPipeError:
            pass
        records = read_records(self.report_r, timeout)
        if not records or records[-1]["type"] != "done":
            self.close_process()  # it died or hung: the next grading starts a fresh one
        return build_report(tasks, records, device, seed, self.last_words())

    def last_words(self) -> str:
        """The last line the supervisor wrote to its standard error, if any."""
        self.stderr.seek(0)
        lines = self.stderr.read().decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else ""

    def close_process(self) -> None:
        if self.process is not None:
            stop(self.process)
            os.close(self.report_r)
            self.process = None

    def close(self) -> None:
        """Stop the supervisor and everything it started."""
        self.close_process()
        self.stderr.close()


def read_records(fd: int, timeout: float) -> list[dict]:
    """The records of one grading: until its "done" record, the pipe closes, or the supervisor falls silent."""
    records: list[dict] = []
    pending = b""
    selector = selectors.DefaultSelector()
    selector.register(fd, selectors.EVENT_READ)
    limit = STARTUP_LIMIT_S
    deadline = time.monotonic() + limit
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(timeout=remaining):
                records.append({"type": "silent", "seconds": limit})
                return records
            data = os.read(fd, 65536)
            if not data:
                return records
            pending += data
            *lines, pending = pending.split(b"\n")
            for line in lines:
                records.append(json.loads(line))
                if records[-1]["type"] in ("done", "usage_error"):
                    return records
            limit = timeout + SUITE_SLACK_S
            deadline = time.monotonic() + limit
    finally:
        selector.close()


def stop(process: subprocess.Popen) -> None:
    """End the supervisor's session (it and anything left of its children)."""
    try:
        os.killpg(process.pid, 9)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def build_report(tasks: list[Task], records: list[dict], device: str, seed: int, last_words: str) -> Report:
    """The report from the supervisor's records; exercises it never finished say why."""
    for record in records:
        if record["type"] == "usage_error":
            raise UsageError(record["message"])
        if record["type"] == "ready":
            device = record["device"]
    # Keyed by position in the plan: one run may grade several files for the same exercise.
    done = {record["index"]: ExerciseResult.from_dict(record["result"])
            for record in records if record["type"] == "exercise"}
    known_checks = {record["index"]: record["checks"] for record in records if record["type"] == "collected"}
    silent = next((record for record in records if record["type"] == "silent"), None)
    if silent:
        why = f"the grader stopped answering for {silent['seconds']:g} s and was stopped"
    else:
        why = "the grader's worker process ended unexpectedly" + (f" ({last_words})" if last_words else "")
    exercises = []
    for index, task in enumerate(tasks):
        result = done.get(index)
        if result is None:
            # The supervisor died or hung in this exercise: every check it had (if it knew them) is an error.
            checks = [CheckResult.from_dict({**check, "status": "error", "message": f"not graded: {why}"})
                      for check in known_checks.get(index, [])]
            result = ExerciseResult(task.exercise.name, task.exercise.title, display_path(task.file),
                                    checks=checks, problem=f"not graded: {why}")
        exercises.append(result)
    return Report(exercises=exercises, seed=seed, device=device)


__all__ = ["CheckResult", "ExerciseResult", "Report", "Status", "Task", "UsageError", "Worker", "grade"]
