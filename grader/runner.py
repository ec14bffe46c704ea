"""Runs a grading from the process that prints the report, which never imports torch.

It reads each learner file and suite once, starts the sandbox
(``grader.sandbox``) and has ``grader.supervisor`` grade each exercise in it,
then builds the report. The learner's file is never written: it is graded from
the snapshot read here, and only a file that disappeared meanwhile is put back.
If the sandbox dies or stops answering, the exercises it did not finish are
still reported, each with a message that says what happened.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from grader import wording
from grader.commands import BUILT_IN_SUITES, DEFAULT_MEMORY_MIB, UsageError
from grader.course import WARM_UPS, Exercise
from grader.files import display_path, read_or_none
from grader.results import CheckResult, ExerciseResult, Report, Status
from grader.sandbox import Sandbox, SandboxFailed, probe
from grader.supervisor import SuiteUnusable, Supervisor

KIT_ROOT = Path(__file__).resolve().parent.parent
# torch.optim or torch.func in code (not "an optimizer" in a comment): either imports torch._dynamo when used.
USES_OPTIMIZER_OR_FUNC = re.compile(rb"\boptim\.|torch\.optim\b|import optim\b|torch\.func\b")
# An import of matplotlib (not the word in a comment: exercise 04's solution says where matplotlib lives).
IMPORTS_MATPLOTLIB = re.compile(rb"\b(?:import|from)\s+matplotlib\b")


@dataclass(frozen=True)
class Task:
    """One exercise to grade: which file, with which suite."""

    exercise: Exercise
    file: Path
    suite: Path

    def to_plan(self) -> dict:
        """What the sandbox needs: the learner's file and the suite, both read now, before any learner code runs."""
        raw = read_or_none(self.file)
        missing = wording.file_missing(display_path(self.file), self.exercise.name)
        source, cells, not_graded, definitions = raw, None, "", {}
        if raw is not None and self.file.suffix == ".ipynb":
            # A notebook is graded as the Python its cells define (grader.notebook); the file itself is never written.
            from grader import notebook

            try:
                converted = notebook.convert(raw, self.file.name)
            except notebook.NotebookUnreadable as exc:
                source, missing = None, str(exc)
            else:
                source, cells = converted.source.encode("utf-8"), [list(where) for where in converted.cells]
                not_graded = notebook.summary(converted.left_out)
                definitions = converted.definitions
        try:
            suite_source = self.suite.read_text(encoding="utf-8")
            # Helper modules an instructor keeps beside the suite travel with it (the folder itself is not
            # bound into the sandbox: the other hidden suites in it stay out of learner code's reach).
            helpers = {path.name: path.read_text(encoding="utf-8") for path in sorted(self.suite.parent.glob("*.py"))
                       if not path.name.startswith("test_") and path.name != "__init__.py"}
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read the suite {self.suite}: {exc}") from exc
        return {
            "exercise": self.exercise.name,
            "title": self.exercise.title,
            "file": str(self.file.resolve()),
            "display_file": display_path(self.file),
            "module": self.file.stem,
            "suite": str(self.suite.resolve()),
            "suite_source": suite_source,
            "suite_helpers": helpers,
            "source": source,
            "file_bytes": raw,
            "cells": cells,
            "not_graded": not_graded,
            "definitions": definitions,
            "read_at": time.time(),
            "missing_message": missing,
            "warm_up": sorted(self.warm_up(source)),
        }

    def warm_up(self, source: bytes | None) -> set[str]:
        """What a sandbox imports ahead to grade this (``Exercise.warm_up``): the course's word for its built-in
        suite, everything for an instructor's own, and what a learner file's code uses: matplotlib, or an
        optimizer or ``torch.func`` (both import ``torch._dynamo``)."""
        built_in = self.suite.resolve().parent == BUILT_IN_SUITES
        names = set(self.exercise.warm_up if built_in else WARM_UPS)
        if source is not None and IMPORTS_MATPLOTLIB.search(source):
            names.add("plotting")
        if source is not None and USES_OPTIMIZER_OR_FUNC.search(source):
            names.add("training")
        return names

    def check_file_after(self, graded: bytes | None) -> str:
        """After grading: say so when the file changed meanwhile; put it back only if it has disappeared.

        The grader never writes over a learner's file. Only a file that was
        there when grading began and is gone now is restored (from the
        snapshot that was graded), and a copy is kept among the backups.
        """
        from grader.files import keep_backup

        try:
            now = self.file.read_bytes()
        except OSError:
            now = None
        if graded is None or now == graded:
            return ""
        name = self.file.name
        if now is not None:
            return wording.changed_while_graded(name)
        backup = keep_backup(graded, name)
        try:
            self.file.write_bytes(graded)
        except OSError:
            return wording.disappeared_kept(name, str(backup))
        return wording.disappeared_put_back(name, str(backup))


def grade(tasks: list[Task], device: str, timeout: float, seed: int, memory_mib: int = DEFAULT_MEMORY_MIB,
          on_progress=None, lanes: int = 1, expected: list[float | None] | None = None) -> Report:
    """Grade ``tasks`` in a sandbox and return the report.

    ``memory_mib``: how much memory learner code may use beyond the grader's own.
    ``on_progress(event, data)`` hears each exercise and check as it starts and ends (the live display).
    ``lanes``: how many exercises to grade at once, each in a sandbox of its own (``grader.lanes``);
    ``expected``: how long each took last time, which decides the order lanes take them in.
    """
    if lanes > 1 and len(tasks) > 1:
        from grader.lanes import grade_in_lanes

        settings = {"device": device, "timeout": timeout, "seed": seed, "memory_mib": memory_mib}
        return grade_in_lanes(tasks, min(lanes, len(tasks)), settings, on_progress, expected)
    with Worker() as worker:
        return worker.grade(tasks, device, timeout, seed, memory_mib, on_progress)


class Worker:
    """The sandbox, kept warm between gradings.

    A one-off grading starts it, grades and stops it; watch mode keeps it, so
    that each re-grade only forks a child from a zygote that has already
    imported torch. Should learner code bring the sandbox down, that check
    reports why and the next one starts a fresh sandbox.
    """

    def __init__(self, warm_up=()):
        self.warm_up = set(warm_up)
        """What its sandbox imports ahead (``Exercise.warm_up``): these, and what the first grading's tasks need."""
        self.sandbox: Sandbox | None = None
        self.device_asked = ""
        self.closed = False  # once closed from another thread, no fresh sandbox is started
        self.waiting = None  # (what it was forked for, the WaitingChild) in watch mode, see ``prepare``

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def started_sandbox(self) -> Sandbox:
        """The running sandbox, or a freshly started one."""
        if self.sandbox is None or not self.sandbox.alive():
            if self.closed:
                raise SandboxFailed("the grading was stopped")
            self.stop_sandbox()
            self.sandbox = Sandbox(self.device_asked, self.warm_up)
            self.sandbox.start()
        return self.sandbox

    def resolve_device(self, asked: str) -> str:
        """The device checks run on; a UsageError when CUDA is asked for and missing."""
        self.device_asked = asked
        has_cuda = bool(self.started_sandbox().ready.get("cuda"))
        if asked == "cuda" and not has_cuda:
            raise UsageError("--device cuda: this machine has no CUDA GPU that torch can use; "
                             "grade with --device cpu (or auto)")
        return "cuda" if asked == "cuda" or (asked == "auto" and has_cuda) else "cpu"

    def grade(self, tasks: list[Task], device: str, timeout: float, seed: int,
              memory_mib: int = DEFAULT_MEMORY_MIB, on_progress=None) -> Report:
        """Grade ``tasks`` and return the report; the sandbox stays up for the next grading."""
        progress = on_progress or (lambda event, data: None)
        plans = [task.to_plan() for task in tasks]  # the snapshots, taken before anything else happens
        self.warm_up.update(*(plan["warm_up"] for plan in plans))  # for a sandbox started from now on
        waiting = self.take_waiting(([*tasks], device, timeout, seed, memory_mib))
        try:
            device = self.resolve_device(device)
            failed = ""
        except SandboxFailed as exc:
            failed = str(exc)
        state = probe()
        report = Report(exercises=[], seed=seed, device=device, sandbox=state.reason if not state.on else "")
        supervisor = Supervisor(self.started_sandbox if not failed else self.failed_sandbox(failed),
                                device, timeout, seed, memory_mib, guard_files=not state.on)
        for task, plan in zip(tasks, plans):
            progress("exercise", plan)
            if failed:
                result = ExerciseResult(task.exercise.name, task.exercise.title, display_path(task.file),
                                        problem=wording.not_graded(failed), lost=True)
            else:
                try:
                    result = supervisor.grade(plan, on_collected=lambda checks: progress("collected", checks),
                                              on_check=lambda check: progress("check", check), waiting=waiting)
                except SuiteUnusable as exc:
                    raise UsageError(f"{exc}; fix the suite (see docs/writing-suites.md)") from exc
            result.note = "; ".join(filter(None, [task.check_file_after(plan["file_bytes"]), plan["not_graded"]]))
            result.missing = plan["file_bytes"] is None
            if plan["definitions"]:
                from grader.notebook import name_cells

                name_cells(result.checks, plan["definitions"])
            report.exercises.append(result)
            progress("done", result)
        return report

    def prepare(self, task: Task, device: str, timeout: float, seed: int, memory_mib: int = DEFAULT_MEMORY_MIB) -> None:
        """Fork the child of ``task``'s next grading now (watch mode, between saves).

        It starts pytest and loads the suite, then waits: the next ``grade`` of this task with these
        settings hands it the file, so a save costs only what depends on the file.
        """
        self.drop_waiting()
        try:
            resolved = self.resolve_device(device)
            plan = {**task.to_plan(), "source": None, "cells": None}  # the file itself goes when it is graded
        except (SandboxFailed, UsageError):
            return
        supervisor = Supervisor(self.started_sandbox, resolved, timeout, seed, memory_mib, guard_files=not probe().on)
        waiting = supervisor.prepare(plan)
        if waiting is not None:
            self.waiting = (([task], device, timeout, seed, memory_mib), waiting)

    def take_waiting(self, wanted: tuple):
        """The waiting child if it was forked for exactly this grading; any other is let go."""
        if self.waiting is not None and self.waiting[0] == wanted:
            waiting, self.waiting = self.waiting[1], None
            return waiting
        self.drop_waiting()
        return None

    def drop_waiting(self) -> None:
        if self.waiting is not None:
            self.waiting[1].drop()
            self.waiting = None

    @staticmethod
    def failed_sandbox(reason: str):
        def fail():
            raise SandboxFailed(reason)
        return fail

    def close(self) -> None:
        """Stop the sandbox and everything in it, for good."""
        self.closed = True
        if self.waiting is not None:
            self.waiting[1].close_pipes()
            self.waiting = None
        self.stop_sandbox()

    def stop_sandbox(self) -> None:
        if self.sandbox is not None:
            self.sandbox.close()
            self.sandbox = None


__all__ = ["CheckResult", "ExerciseResult", "Report", "Status", "Task", "UsageError", "Worker", "grade"]
