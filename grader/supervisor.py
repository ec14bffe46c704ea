"""The supervisor: imports torch once, then grades each exercise in forked children.

Started by the command line (``grader.runner``) as a fresh interpreter, it reads
the grading plan as JSON on standard input and answers with one JSON record a
line on the file descriptor named by its first argument. It never runs learner
code itself: every check runs in a child it forks (``grader.child``) and watches
(``grader.watchdog``). When a child dies, hangs or uses too much memory, the
check it was running gets its status and a fresh child resumes with the next
check, so one bad check never costs the rest. Each exercise also has a time
budget, so a file whose every check hangs still ends in bounded time.
"""

from __future__ import annotations

import gc
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

from grader import processes
from grader.watchdog import ChildRun, Limits, describe_exit, watch

class SuiteUnusable(Exception):
    """A suite failed to import, collected no check or declared one badly (see ``grader.plugin``)."""


BUDGET_CHECKS = 4  # an exercise may take as long as this many checks running out of time


def warm_imports() -> None:
    """Import everything a check may need, once, with the garbage collector paused.

    Pausing the collector during large imports saves about a third of torch's
    import time; freezing what was imported keeps later collections (and every
    forked child's memory) from touching it again. Building one optimizer
    imports ``torch._dynamo``, which every training check would pay otherwise.
    No tensor operation runs here: a child forked after a multi-threaded op
    can deadlock, and CUDA is never initialised here, so a child can use it.
    """
    gc.disable()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    import numpy  # noqa: F401
    import pytest  # noqa: F401
    import pytest_timeout  # noqa: F401
    import torch
    from _pytest.config import default_plugins

    for name in default_plugins:
        __import__(f"_pytest.{name}")
    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    import grader.child  # noqa: F401
    import grader.integrity  # noqa: F401

    gc.collect()
    gc.freeze()
    gc.enable()


def new_check(info: dict) -> dict:
    """A check that has not run yet, from its collected metadata."""
    return {"id": info["id"], "name": info["name"], "max_points": info["points"], "status": "not_started",
            "message": "", "hints": info["hints"], "traceback": "", "output": "", "duration_s": 0.0}


class Supervisor:
    """Grades a plan's exercises one after another and reports each one."""

    def __init__(self, plan: dict, report_fd: int):
        from grader.integrity import FileGuard

        self.plan = plan
        self.report_fd = report_fd
        self.timeout = float(plan["timeout"])
        self.seed = int(plan["seed"])
        self.memory_bytes = int(plan["memory_mib"]) * 2**20
        self.scratch = Path(tempfile.mkdtemp(prefix="grader-"))
        suites = {Path(task["suite"]) for task in plan["exercises"]}
        # Read before any learner code runs: the suites every child uses, and the grader's files to guard.
        self.suite_sources = {path: path.read_bytes() for path in suites}
        self.files = FileGuard(Path(__file__).resolve().parent, sorted(suites))

    def send(self, record: dict) -> None:
        data = (json.dumps(record) + "\n").encode()
        while data:
            data = data[os.write(self.report_fd, data):]

    def resolve_device(self) -> str | None:
        """The device checks run on, or None (after saying why) when the one asked for is missing."""
        import torch

        asked = self.plan["device"]
        has_cuda = torch.cuda.is_available()  # with PYTORCH_NVML_BASED_CUDA_CHECK=1: does not initialise CUDA
        if asked == "cuda" and not has_cuda:
            self.send({"type": "usage_error",
                       "message": "--device cuda: this machine has no CUDA GPU that torch can use; grade with --device cpu (or auto)"})
            return None
        return "cuda" if asked == "cuda" or (asked == "auto" and has_cuda) else "cpu"

    def run(self) -> None:
        try:
            device = self.resolve_device()
            if device is None:
                return
            import torch

            self.send({"type": "ready", "device": device, "torch": torch.__version__})
            for index, task in enumerate(self.plan["exercises"]):
                self.send({"type": "exercise", "index": index, "result": self.grade(index, task, device)})
        except SuiteUnusable as exc:
            self.send({"type": "usage_error", "message": f"{exc}; fix the suite (see docs/writing-suites.md)"})
            return
        finally:
            shutil.rmtree(self.scratch, ignore_errors=True)
        self.send({"type": "done"})

    # -- one exercise -------------------------------------------------------

    def grade(self, index: int, task: dict, device: str) -> dict:
        """Grade one exercise, forking a fresh child after every crash or hang."""
        from grader.integrity import restore_learner_file
        from grader.learner import take_snapshot

        start = time.perf_counter()
        path = Path(task["file"])
        snapshot = take_snapshot(path) if path.is_file() else None
        limits = Limits(check_s=self.timeout, deadline=time.monotonic() + BUDGET_CHECKS * (self.timeout + 5),
                        memory_bytes=self.memory_bytes)
        checks: dict[str, dict] = {}
        decided: set[str] = set()
        notes: list[str] = []
        problem = ""
        while True:
            expected = [check_id for check_id in checks if check_id not in decided] if checks else None
            run = self.run_child(task, device, snapshot, expected, limits, index)
            tampered = self.files.restore()
            if snapshot is not None:
                notes.append(restore_learner_file(path, snapshot.source))
            if run.collected is None and run.suite_error:
                # The instructor's suite cannot be used: a usage error (exit 2), never a learner's 0 of 0.
                raise SuiteUnusable(f"suite {task['suite']}: {run.suite_error}")
            if run.collected is None:
                problem = run.suite_error or run.child_error or (
                    f"the grading process ended before the suite was loaded ({describe_exit(run.exit_status)})")
                break
            if not checks:
                checks = {info["id"]: new_check(info) for info in run.collected}
                self.send({"type": "collected", "index": index, "checks": list(checks.values())})
            ran = [check_id for check_id in run.results]
            for check_id, record in run.results.items():
                checks[check_id].update({key: record[key] for key in ("status", "message", "traceback", "duration_s")})
            for check_id, text in run.outputs.items():
                if check_id in checks:
                    checks[check_id]["output"] += text
            if tampered:
                self.fail(checks, ran + ([run.current] if run.current else []), "error",
                          f"the grader's own files were changed while your code ran ({', '.join(tampered)}): "
                          "that is tampering, so these checks do not count; the files have been put back")
            decided |= set(ran)
            left = [check_id for check_id in checks if check_id not in decided]
            if not left:
                break
            if run.ended_by == "budget":
                self.fail(checks, left, "timeout", (
                    f"not run: this exercise used up its time ({BUDGET_CHECKS} checks' worth of --timeout) "
                    "because earlier checks did not finish; fix those first"))
                break
            if run.phase == "import":
                self.fail_import(checks, left, run, path.name)
                break
            if run.current is not None:
                if not tampered:
                    checks[run.current].update(self.lost_check(run))
                decided.add(run.current)
                continue
            self.fail(checks, left, "error",
                      f"not run: the grading process ended early ({run.child_error or describe_exit(run.exit_status)})")
            break
        return {
            "exercise": task["exercise"],
            "title": task["title"],
            "file": task["display_file"],
            "checks": list(checks.values()),
            "duration_s": round(time.perf_counter() - start, 3),
            "problem": problem or "; ".join(note for note in notes if note),
        }

    @staticmethod
    def fail(checks: dict, ids: list[str], status: str, message: str) -> None:
        for check_id in ids:
            checks[check_id].update(status=status, message=message)

    def fail_import(self, checks: dict, left: list[str], run: ChildRun, filename: str) -> None:
        """The learner's file hung, ended the process or used too much memory while it was imported."""
        if run.ended_by in ("time", "budget"):
            status, message = "timeout", (
                f"importing {filename} took longer than {self.timeout:g} s: is there a loop or a training run "
                "at the top level of the file? Put it under `if __name__ == \"__main__\":`")
        elif run.ended_by == "memory":
            status, message = "error", f"{filename} {self.memory_message()} while it was being imported"
        else:
            status, message = "error", (
                f"{filename} ended the grading process while it was being imported ({describe_exit(run.exit_status)}): "
                "keep top-level code to definitions")
        self.fail(checks, left, status, message)
        for check_id in left:
            checks[check_id]["output"] = run.outputs.get("import", "")

    def memory_message(self) -> str:
        return (f"used too much memory (more than {self.memory_bytes / 2**30:g} GiB beyond the grader's own) "
                "and was stopped")

    def lost_check(self, run: ChildRun) -> dict:
        """The record for the check a child was running when it was stopped or died."""
        if run.ended_by == "time":
            return {"status": "timeout", "message": (
                f"the check took longer than {self.timeout:g} s and was stopped: look for a loop that never ends")}
        if run.ended_by == "memory":
            return {"status": "error", "message": f"your code {self.memory_message()}"}
        return {"status": "error", "message": (
            f"your code ended the grading process during this check ({describe_exit(run.exit_status)}): "
            "os._exit(), a crash in native code, or the process was killed")}

    # -- one child ----------------------------------------------------------

    def run_child(self, task: dict, device: str, snapshot, expected: list[str] | None, limits: Limits,
                  index: int) -> ChildRun:
        """Fork a child for the ``expected`` checks of ``task`` (None: all of them), watch it, return what it said."""
        from grader import child
        from grader.plugin import Channel, GradingSettings

        secret = secrets.token_hex(16)
        run = ChildRun(secret=secret, expected=expected)
        record_r, record_w = os.pipe()
        output_r, output_w = os.pipe()
        workdir = Path(tempfile.mkdtemp(dir=self.scratch))
        suite = workdir / Path(task["suite"]).name  # a fresh copy from memory: what is on disk may have changed
        suite.write_bytes(self.suite_sources[Path(task["suite"])])
        settings = GradingSettings(
            snapshot=snapshot,
            missing_message=task["missing_message"],
            module_name=task["module"],
            device=device,
            seed=self.seed,
            channel=Channel(record_w, secret),
            only_ids=None if expected is None else frozenset(expected),
            suite_dir=str(Path(task["suite"]).parent),
        )
        pid = os.fork()
        if pid == 0:  # the child
            child.run(settings, suite, workdir, self.timeout, output_w,
                      close_fds=[record_r, output_r, self.report_fd])
        os.close(record_w)
        os.close(output_w)
        try:
            # The report process learns the checks at once: should this process die, it can still list them.
            announce = lambda infos: self.send({"type": "collected", "index": index,
                                                "checks": [new_check(info) for info in infos]})
            return watch(pid, record_r, output_r, run, limits, announce if expected is None else lambda infos: None)
        finally:
            os.close(record_r)
            os.close(output_r)
            shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    """Entry point: ``python -m grader.supervisor REPORT_FD``, with plans on standard input, one JSON a line.

    Each plan is graded in turn and ends with a "done" record; the supervisor
    stays warm for the next plan (watch mode) until its standard input closes.
    """
    report_fd = int(sys.argv[1])
    sys.dont_write_bytecode = True  # nothing of the grader's is written next to a learner's (or a suite's) file
    processes.die_with_parent()
    processes.become_subreaper()
    warm_imports()
    for line in sys.stdin:
        Supervisor(json.loads(line), report_fd).run()


if __name__ == "__main__":
    main()
