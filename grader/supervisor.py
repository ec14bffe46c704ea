"""Grading a plan's exercises: one sandboxed child after another, watched from outside the sandbox.

This runs in the process that prints the report (it never imports torch). For
each exercise it asks the zygote in the sandbox (``grader.sandbox``) for a
grading child, hands it a snapshot of the learner's file taken before any
learner code ran, and watches it from here (``grader.watchdog``): its records
arrive on a pipe made for that child alone, and its time and memory are
bounded from here. When a child dies, hangs or uses too much memory, the check
it was running gets its status and a fresh child resumes with the next check,
so one bad check never costs the rest. Should learner code take the whole
sandbox down, a fresh one is started and only that check is lost.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import secrets
import time
from pathlib import Path

from grader import records, wording
from grader.integrity import FileGuard
from grader.results import CheckResult, ExerciseResult, Status
from grader.sandbox import SandboxFailed
from grader.watchdog import ChildRun, Limits, describe_exit, watch

GRADER_PACKAGE = Path(__file__).resolve().parent


class SuiteUnusable(Exception):
    """A suite failed to import, collected no check or declared one badly (see ``grader.plugin``)."""


EXIT_WAIT_S = 5.0  # for a waiting child that is let go to end
BUDGET_CHECKS = 4  # time lost to checks that run out of time, in --timeout's, before an exercise stops
MIN_BUDGET_S = 30.0
SHORT_LIMIT_FRACTION = 4  # a function that ran out of time once gets a quarter of the limit ...
SHORT_LIMIT_MAX_S = 0.25  # ... and at most a quarter of a second, each later time it is called in the same grading


def exercise_budget(timeout: float) -> float:
    """Seconds an exercise may lose to checks that run out of time: 4 × --timeout + 10 s, at least 30 s."""
    return max(MIN_BUDGET_S, BUDGET_CHECKS * timeout + 10)


def short_limit(timeout: float) -> float:
    return min(timeout / SHORT_LIMIT_FRACTION, SHORT_LIMIT_MAX_S)


def new_check(info: records.CheckInfo) -> CheckResult:
    """A check that has not run yet, from its collected metadata."""
    return CheckResult(info.id, info.name, info.points, hints=list(info.hints))


def decided(check: CheckResult, record: records.Result) -> CheckResult:
    """``check`` with its judge's verdict."""
    return dataclasses.replace(check, status=record.status, message=record.message, traceback=record.traceback,
                               duration_s=record.duration_s)


class Supervisor:
    """Grades exercises one after another in children of ``sandbox``'s zygote."""

    def __init__(self, sandbox_source, device: str, timeout: float, seed: int, memory_mib: int,
                 guard_files: bool = False):
        """``sandbox_source()`` gives a started sandbox (a fresh one when the last one died).

        ``guard_files``: check the grader's files after each child and put them back. Needed only
        without bubblewrap: in the sandbox learner code cannot write them.
        """
        self.sandbox_source = sandbox_source
        self.guard_files = guard_files
        self.device = device
        self.timeout = float(timeout)
        self.seed = int(seed)
        self.memory_bytes = int(memory_mib) * 2**20

    # -- one exercise -------------------------------------------------------

    def grade(self, task: dict, on_collected=lambda checks: None, on_check=lambda check: None,
              waiting: WaitingChild | None = None) -> ExerciseResult:
        """Grade one exercise, forking a fresh child after every crash or hang.

        ``task`` holds the snapshot (``source``, bytes or None) and the suite's
        text, both read before any learner code ran. ``on_collected`` hears the
        checks once they are known; ``on_check`` hears each check (a ``CheckResult``) as it is decided.
        ``waiting``: the first child, already forked by ``prepare``.
        """
        start = time.perf_counter()
        limits = Limits(check_s=self.timeout, budget_s=exercise_budget(self.timeout), memory_bytes=self.memory_bytes)
        checks: dict[str, CheckResult] = {}
        done: set[str] = set()
        hung: dict[str, str] = {}  # learner function -> the check in which it first ran out of time
        problem = ""
        files = FileGuard(GRADER_PACKAGE, [Path(task["suite"])]) if self.guard_files else None

        def collected(infos: list[records.CheckInfo]) -> None:
            checks.update((info.id, new_check(info)) for info in infos)
            on_collected(list(checks.values()))

        def decided_one(check_id: str, record: records.Result) -> None:
            if check_id in checks:
                on_check(decided(checks[check_id], record))

        while True:
            # The first child lists the checks (``collected``); each child after a crash runs those left.
            expected = [check_id for check_id in checks if check_id not in done] if checks else None
            run = self.run_child(task, expected, limits, hung, collected if expected is None else None, decided_one,
                                 waiting)
            waiting = None
            tampered = files.restore() if files else []
            if not run.loaded and run.suite_error:
                # The instructor's suite cannot be used: a usage error (exit 2), never a learner's 0 of 0.
                raise SuiteUnusable(f"suite {task['suite']}: {run.suite_error}")
            if not run.loaded:
                problem = run.suite_error or run.child_error or wording.ended_before_suite(self.describe_end(run))
                break
            ran = list(run.results)
            for check_id, record in run.results.items():
                checks[check_id] = decided(checks[check_id], record)
                for name in record.hung_in:
                    hung.setdefault(name, checks[check_id].name)
            for check_id, text in run.outputs.items():
                if check_id in checks:
                    check = checks[check_id]
                    cut = check.output_truncated or check_id in run.cut
                    checks[check_id] = dataclasses.replace(check, output=check.output + text, output_truncated=cut)
            if tampered:
                self.fail(checks, ran + ([run.current] if run.current else []), Status.ERROR,
                          wording.tampered(tampered))
            done |= set(ran)
            left = [check_id for check_id in checks if check_id not in done]
            if not left:
                break
            if limits.budget_s <= 0:
                self.fail(checks, left, Status.TIMEOUT, wording.budget_used_up(exercise_budget(self.timeout)))
                break
            if run.phase == "import":
                self.fail_import(checks, left, run, Path(task["file"]).name)
                break
            if run.resume:
                continue  # the judge could start no other learner process: a fresh one goes on with the checks left
            if run.current is not None:
                if not tampered:
                    checks[run.current] = dataclasses.replace(checks[run.current], **self.lost_check(run))
                on_check(checks[run.current])
                done.add(run.current)
                if len(done) == len(checks):
                    break
                continue  # a fresh child for the checks left
            self.fail(checks, left, Status.ERROR, wording.ended_early(self.describe_end(run)), lost=True)
            break
        return ExerciseResult(task["exercise"], task["title"], task["display_file"], list(checks.values()),
                              duration_s=round(time.perf_counter() - start, 3), problem=problem)

    @staticmethod
    def fail(checks: dict[str, CheckResult], ids: list[str], status: Status, message: str, lost: bool = False) -> None:
        for check_id in ids:
            checks[check_id] = dataclasses.replace(checks[check_id], status=status, message=message, lost=lost)

    @staticmethod
    def describe_end(run: ChildRun) -> str:
        return run.sandbox_error or describe_exit(run.exit_status)

    def fail_import(self, checks: dict[str, CheckResult], left: list[str], run: ChildRun, filename: str) -> None:
        """The learner's file hung, ended the process or used too much memory while it was imported."""
        lost = False
        if run.ended_by == "time":
            status, message = Status.TIMEOUT, wording.import_too_long(filename, self.timeout)
        elif run.ended_by == "memory":
            status, message = Status.ERROR, wording.too_much_memory_at_import(filename, self.memory_bytes / 2**30)
        else:
            status, message, lost = Status.ERROR, wording.ended_while_imported(filename, self.describe_end(run)), True
        self.fail(checks, left, status, message, lost)
        for check_id in left:
            checks[check_id] = dataclasses.replace(checks[check_id], output=run.outputs.get("import", ""),
                                                   output_truncated="import" in run.cut)

    def lost_check(self, run: ChildRun) -> dict:
        """The verdict on the check a child was running when it was stopped (for time or memory) or died (lost)."""
        if run.ended_by == "time":
            return {"status": Status.TIMEOUT, "message": wording.check_too_long(self.timeout)}
        if run.ended_by == "memory":
            return {"status": Status.ERROR, "message": wording.too_much_memory_in_check(self.memory_bytes / 2**30)}
        return {"status": Status.ERROR, "message": wording.process_ended(self.describe_end(run)), "lost": True}

    # -- one child ----------------------------------------------------------

    def run_child(self, task: dict, expected: list[str] | None, limits: Limits, hung: dict[str, str],
                  on_collected, on_result, waiting: WaitingChild | None = None) -> ChildRun:
        """Have the zygote fork a child for the ``expected`` checks of ``task`` (None: all); watch it.

        ``waiting``: a child forked earlier for this grading (``prepare``), given the file now instead.
        """
        if waiting is not None and expected is None and waiting.start(task):
            return watch(waiting.sandbox, waiting.record_r, waiting.output_r, ChildRun(secret=waiting.secret, expected=None),
                         limits, on_collected, on_result)
        secret = secrets.token_hex(16)
        run = ChildRun(secret=secret, expected=expected)
        try:
            sandbox = self.sandbox_source()
            sandbox.limit_memory(self.memory_bytes)
            record_r, output_r = sandbox.fork(self.child_request(task, expected, hung, secret))
        except SandboxFailed as exc:
            run.sandbox_error = str(exc)
            return run
        return watch(sandbox, record_r, output_r, run, limits, on_collected, on_result)

    def prepare(self, task: dict) -> WaitingChild | None:
        """Fork the first child of ``task``'s next grading now; it loads the suite and waits for the file.

        Watch mode calls this after each grading, so that a save costs only what depends on the file.
        """
        secret = secrets.token_hex(16)
        try:
            sandbox = self.sandbox_source()
            sandbox.limit_memory(self.memory_bytes)
            record_r, output_r, source_w = sandbox.fork(self.child_request(task, None, {}, secret), source_later=True)
        except SandboxFailed:
            return None
        return WaitingChild(sandbox, secret, record_r, output_r, source_w, task["suite_source"])

    def child_request(self, task: dict, expected: list[str] | None, hung: dict[str, str], secret: str) -> dict:
        source = task["source"]
        return {
            "file": task["file"],
            "source": None if source is None else base64.b64encode(source).decode(),
            "missing_message": task["missing_message"],
            "cells": task.get("cells"),
            "module": task["module"],
            "suite_name": Path(task["suite"]).name,
            "suite_helpers": task["suite_helpers"],
            "suite_source": task["suite_source"],
            "device": self.device,
            "seed": self.seed,
            "secret": secret,
            "timeout": self.timeout,
            "only_ids": expected,
            "hung": hung,
            "short_limit": short_limit(self.timeout),
        }


class WaitingChild:
    """A grading child forked ahead of the learner's save, waiting for the file (``Supervisor.prepare``)."""

    def __init__(self, sandbox, secret: str, record_r: int, output_r: int, source_w: int, suite_source: str):
        self.sandbox, self.secret = sandbox, secret
        self.record_r, self.output_r, self.source_w = record_r, output_r, source_w
        self.suite_source = suite_source

    def start(self, task: dict) -> bool:
        """Send the file the child is to grade; False when it can no longer take it (then it is dropped)."""
        if task["suite_source"] != self.suite_source or not self.sandbox.alive():
            self.drop()
            return False
        source = task["source"]
        message = {"file": task["file"], "source": None if source is None else base64.b64encode(source).decode(),
                   "cells": task.get("cells")}
        try:
            with os.fdopen(self.source_w, "wb") as pipe:
                pipe.write(json.dumps(message).encode())
        except OSError:
            self.drop(closed=True)
            return False
        return True

    def close_pipes(self, closed: bool = False) -> None:
        for fd in (self.record_r, self.output_r) + (() if closed else (self.source_w,)):
            try:
                os.close(fd)
            except OSError:
                pass

    def drop(self, closed: bool = False) -> None:
        """Let the child go (it ends when its pipe closes) and take the zygote's word that it has ended."""
        self.close_pipes(closed)
        try:
            self.sandbox.wait_for_message(EXIT_WAIT_S)
        except SandboxFailed:
            pass
