"""The supervisor: imports torch once, then grades each exercise in a forked child.

Started by the command line (``grader.runner``) as a fresh interpreter, it reads
the grading plan as JSON on standard input and answers with one JSON line per
event on the file descriptor named by its first argument. It never runs learner
code itself: every check runs in a child it forks (``grader.child``), watches,
and kills when the check overruns its time limit. When a child dies or is
killed, the check it was running is recorded as an error or a timeout and a
fresh child resumes with the next check, so one bad check never costs the rest.
"""

from __future__ import annotations

import gc
import json
import os
import selectors
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

COLLECT_LIMIT_S = 60.0  # loading a suite is the grader's own code: generous
GRACE_S = 2.0  # pytest-timeout stops a check first; the kill is for what it cannot stop
OUTPUT_LIMIT = 4000  # characters of learner output kept per check


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

    gc.collect()
    gc.freeze()
    gc.enable()


@dataclass
class ChildRun:
    """What one child reported before it ended."""

    collected: list[dict] | None = None
    phase: str = "collect"  # then "import", then "checks"
    current: str | None = None  # the check in flight
    results: dict[str, dict] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    suite_error: str = ""
    child_error: str = ""
    finished: bool = False
    killed_for_time: bool = False
    exit_status: int = 0


def describe_exit(status: int) -> str:
    """``exit status 3`` or ``killed by SIGSEGV``, from a wait status."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            return f"killed by {signal.Signals(number).name}"
        except ValueError:
            return f"killed by signal {number}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"


class Supervisor:
    """Grades a plan's exercises one after another and reports each one."""

    def __init__(self, plan: dict, report_fd: int):
        self.plan = plan
        self.report_fd = report_fd
        self.timeout = float(plan["timeout"])
        self.seed = int(plan["seed"])
        self.scratch = Path(tempfile.mkdtemp(prefix="grader-"))

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
                self.send({"type": "exercise", "index": index, "result": self.grade(task, device)})
            self.send({"type": "done"})
        finally:
            shutil.rmtree(self.scratch, ignore_errors=True)

    # -- one exercise -------------------------------------------------------

    def grade(self, task: dict, device: str) -> dict:
        """Grade one exercise, forking a fresh child after every crash or hang."""
        from grader.learner import take_snapshot

        start = time.perf_counter()
        path = Path(task["file"])
        snapshot = take_snapshot(path) if path.is_file() else None
        checks: dict[str, dict] = {}
        decided: set[str] = set()
        problem = ""
        while True:
            run = self.run_child(task, device, snapshot, frozenset(decided))
            if run.collected is None:
                problem = run.suite_error or run.child_error or (
                    f"the grading process ended before the suite was loaded ({describe_exit(run.exit_status)})")
                break
            if not checks:
                checks = {info["id"]: new_check(info) for info in run.collected}
            for check_id, record in run.results.items():
                checks[check_id].update({key: record[key] for key in ("status", "message", "traceback", "duration_s")})
                decided.add(check_id)
            for check_id, text in run.outputs.items():
                if check_id in checks:
                    checks[check_id]["output"] += text
            undecided = [check_id for check_id in checks if check_id not in decided]
            if not undecided:
                break
            if run.phase == "import":
                self.fail_import(checks, undecided, run, Path(task["file"]).name)
                break
            if run.current is not None and run.current not in decided:
                checks[run.current].update(self.lost_check(run))
                decided.add(run.current)
                continue
            # The child ended between checks without saying why: do not loop on it.
            for check_id in undecided:
                checks[check_id].update(status="error", message=(
                    f"not run: the grading process ended early ({run.child_error or describe_exit(run.exit_status)})"))
            break
        return {
            "exercise": task["exercise"],
            "title": task["title"],
            "file": task["display_file"],
            "checks": list(checks.values()),
            "duration_s": round(time.perf_counter() - start, 3),
            "problem": problem,
        }

    def fail_import(self, checks: dict, undecided: list[str], run: ChildRun, filename: str) -> None:
        """The learner's file hung or ended the process while it was imported: no check can run."""
        if run.killed_for_time:
            status, message = "timeout", (
                f"importing {filename} took longer than {self.timeout:g} s: is there a loop or a training run "
                "at the top level of the file? Put it under `if __name__ == \"__main__\":`")
        else:
            status, message = "error", (
                f"{filename} ended the grading process while it was being imported ({describe_exit(run.exit_status)}): "
                "keep top-level code to definitions")
        for check_id in undecided:
            checks[check_id].update(status=status, message=message, output=run.outputs.get("import", ""))

    def lost_check(self, run: ChildRun) -> dict:
        """The record for the check a child was running when it was killed or died."""
        if run.killed_for_time:
            return {"status": "timeout", "message": (
                f"the check took longer than {self.timeout:g} s and was stopped: look for a loop that never ends")}
        return {"status": "error", "message": (
            f"your code ended the grading process during this check ({describe_exit(run.exit_status)}): "
            "os._exit(), a crash in native code, or the process was killed")}

    # -- one child ----------------------------------------------------------

    def run_child(self, task: dict, device: str, snapshot, skip_ids: frozenset[str]) -> ChildRun:
        """Fork a child for ``task``, watch it until it ends or overruns, and return what it said."""
        from grader import child
        from grader.plugin import Channel, GradingSettings

        record_r, record_w = os.pipe()
        output_r, output_w = os.pipe()
        workdir = Path(tempfile.mkdtemp(dir=self.scratch))
        settings = GradingSettings(
            snapshot=snapshot,
            missing_message=task["missing_message"],
            module_name=task["module"],
            device=device,
            seed=self.seed,
            channel=Channel(record_w),
            skip_ids=skip_ids,
        )
        pid = os.fork()
        if pid == 0:  # the child
            child.run(settings, Path(task["suite"]), workdir, self.timeout, output_w,
                      close_fds=[record_r, output_r, self.report_fd])
        os.close(record_w)
        os.close(output_w)
        try:
            return self.watch(pid, record_r, output_r)
        finally:
            kill_group(pid)
            os.close(record_r)
            os.close(output_r)
            shutil.rmtree(workdir, ignore_errors=True)

    def deadline(self, run: ChildRun, since: float) -> float:
        """When the current phase must be over."""
        if run.phase == "collect":
            return since + COLLECT_LIMIT_S
        if run.phase == "import":
            return since + self.timeout
        return since + self.timeout + GRACE_S

    def watch(self, pid: int, record_r: int, output_r: int) -> ChildRun:
        """Read the child's records and output until both pipes close or time runs out."""
        run = ChildRun()
        pending = b""
        selector = selectors.DefaultSelector()
        selector.register(record_r, selectors.EVENT_READ, "records")
        selector.register(output_r, selectors.EVENT_READ, "output")
        phase_start = time.monotonic()
        open_pipes = 2
        while open_pipes:
            remaining = self.deadline(run, phase_start) - time.monotonic()
            if remaining <= 0:
                run.killed_for_time = True
                kill_group(pid)
                break
            for key, _ in selector.select(timeout=remaining):
                data = os.read(key.fd, 65536)
                if not data:
                    selector.unregister(key.fd)
                    open_pipes -= 1
                elif key.data == "output":
                    keep_output(run, data.decode("utf-8", errors="replace"))
                else:
                    pending += data
                    *lines, pending = pending.split(b"\n")
                    for line in lines:
                        if handle_record(run, line):
                            phase_start = time.monotonic()
                    if run.finished:
                        kill_group(pid)  # leave nothing running; what is left in the pipes is still read
        selector.close()
        kill_group(pid)
        _, status = os.waitpid(pid, 0)
        run.exit_status = status
        return run


def handle_record(run: ChildRun, line: bytes) -> bool:
    """Apply one record from the child; True when a new phase or check began (its clock restarts)."""
    try:
        record = json.loads(line)
    except ValueError:
        return False
    kind = record.get("type")
    if kind == "collected" and run.collected is None:
        run.collected = record["checks"]
    elif kind == "phase":
        run.phase = record["phase"]
        return True
    elif kind == "start":
        run.phase, run.current = "checks", record["id"]
        return True
    elif kind == "result":
        run.results[record["id"]] = record
        run.current = None
        return True
    elif kind == "suite_error":
        run.suite_error = record["message"]
    elif kind == "child_error":
        run.child_error = record["message"]
    elif kind == "finished":
        run.finished = True
    return False


def keep_output(run: ChildRun, text: str) -> None:
    """Attribute learner output to the check (or import) in flight, keeping at most OUTPUT_LIMIT characters."""
    key = run.current or ("import" if run.phase == "import" else "")
    if not key:
        return
    kept = run.outputs.get(key, "")
    marker = "\n[… more output not shown]"
    if kept.endswith(marker):
        return
    kept += text
    if len(kept) > OUTPUT_LIMIT:
        kept = kept[:OUTPUT_LIMIT] + marker
    run.outputs[key] = kept


def new_check(info: dict) -> dict:
    """A check that has not run yet, from its collected metadata."""
    return {"id": info["id"], "name": info["name"], "max_points": info["points"], "status": "not_started",
            "message": "", "hints": info["hints"], "traceback": "", "output": "", "duration_s": 0.0}


def kill_group(pid: int) -> None:
    """Kill the child's process group (the child and whatever it started)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def main() -> None:
    """Entry point: ``python -m grader.supervisor REPORT_FD`` with the plan on standard input."""
    report_fd = int(sys.argv[1])
    plan = json.loads(sys.stdin.read())
    sys.dont_write_bytecode = True  # nothing of the grader's is written next to a learner's (or a suite's) file
    warm_imports()
    Supervisor(plan, report_fd).run()


if __name__ == "__main__":
    main()
