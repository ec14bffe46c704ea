"""Watching one grading child: its records, its output, its time and its memory.

The child reports over a pipe of its own, one JSON record a line (see
``grader.plugin``). A record counts only if it carries the child's secret and
fits the order the checks must run in: a ``start`` for the next check due, a
``result`` for the check in flight, once. Whatever the learner's code prints
goes to a second pipe and is kept, truncated, with the check it belongs to;
it is never read for a verdict.

The watchdog ends the child's whole process tree when a phase overruns its
time, when the learner's processes together use more memory than allowed, or
when the child is done.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import time
from dataclasses import dataclass, field

from grader import processes

COLLECT_LIMIT_S = 60.0  # loading a suite is the grader's own code: generous
GRACE_S = 2.0  # pytest-timeout stops a check first; the kill is for what it cannot stop
EXIT_DRAIN_S = 0.2  # after the child has ended, how long its last words may take to arrive
POLL_S = 0.1  # how often memory is measured
OUTPUT_LIMIT = 4000  # characters of learner output kept per check
TRUNCATED = "\n[… more output not shown]"


@dataclass
class Limits:
    """How long each phase may take, and how much memory learner code may use."""

    check_s: float
    deadline: float
    """The moment (``time.monotonic()``) the whole exercise must be over."""
    memory_bytes: int
    """Resident memory the learner's processes may use beyond what the child had when it started."""


@dataclass
class ChildRun:
    """What one child reported before it ended, and how it ended."""

    secret: str
    expected: list[str] | None
    """The checks this child must run, in order; None for an exercise's first child, which learns them."""
    collected: list[dict] | None = None
    phase: str = "collect"  # then "import", then "checks"
    current: str | None = None  # the check in flight
    results: dict[str, dict] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    suite_error: str = ""
    child_error: str = ""
    finished: bool = False
    ended_by: str = ""  # "", "time", "budget" (the exercise's time ran out) or "memory"
    exit_status: int = 0

    def accept(self, line: bytes) -> bool:
        """Apply one record; True when a new phase or check began (its clock restarts)."""
        try:
            record = json.loads(line)
        except ValueError:
            return False
        if not isinstance(record, dict) or record.get("secret") != self.secret:
            return False  # not from the grading machinery
        kind = record.get("type")
        if kind == "collected" and self.collected is None:
            self.collected = record["checks"]
            if self.expected is None:
                self.expected = [info["id"] for info in self.collected]
        elif kind == "phase" and record.get("phase") in ("import", "checks"):
            self.phase = record["phase"]
            return True
        elif kind == "start" and self.current is None and self.expected_next() == record.get("id"):
            self.phase, self.current = "checks", record["id"]
            return True
        elif kind == "result" and self.current is not None and record.get("id") == self.current:
            self.results[self.current] = record
            self.current = None
            return True
        elif kind == "suite_error":
            self.suite_error = str(record.get("message", ""))
        elif kind == "child_error":
            self.child_error = str(record.get("message", ""))
        elif kind == "finished":
            self.finished = True
        return False

    def expected_next(self) -> str | None:
        """The id of the next check due, or None when all have a result."""
        return next((check_id for check_id in self.expected or () if check_id not in self.results), None)

    def keep_output(self, text: str) -> None:
        """Keep learner output with the check (or the import) in flight, truncated."""
        key = self.current or ("import" if self.phase == "import" else "")
        if not key:
            return
        kept = self.outputs.get(key, "")
        if kept.endswith(TRUNCATED):
            return
        kept += text
        self.outputs[key] = kept[:OUTPUT_LIMIT] + TRUNCATED if len(kept) > OUTPUT_LIMIT else kept


def phase_deadline(run: ChildRun, since: float, limits: Limits) -> tuple[float, str]:
    """When the current phase must be over, and what ran out if it is not."""
    if run.phase == "collect":
        own = since + COLLECT_LIMIT_S
    elif run.phase == "import":
        own = since + limits.check_s
    else:
        own = since + limits.check_s + GRACE_S
    return (own, "time") if own <= limits.deadline else (limits.deadline, "budget")


def watch(pid: int, record_fd: int, output_fd: int, run: ChildRun, limits: Limits,
          on_collected=lambda checks: None) -> ChildRun:
    """Read the child's records and output until it is done, or overruns, then end its process tree.

    ``on_collected`` is called with the checks as soon as the child has collected them.
    """
    selector = selectors.DefaultSelector()
    selector.register(record_fd, selectors.EVENT_READ, "records")
    selector.register(output_fd, selectors.EVENT_READ, "output")
    pending = b""
    phase_start = time.monotonic()
    baseline = None
    open_pipes = 2
    exit_status = None  # set once the child itself has ended
    exited_at = 0.0
    while open_pipes and not run.ended_by:
        deadline, reason = phase_deadline(run, phase_start, limits)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            run.ended_by = reason
            break
        if exit_status is None:
            ended, status = os.waitpid(pid, os.WNOHANG)
            if ended:
                exit_status, exited_at = status, time.monotonic()
        elif time.monotonic() - exited_at > EXIT_DRAIN_S:
            # The child is gone but something it started (in a session of its own) still holds the
            # pipes open: what the child wrote has been read, so waiting longer would only wait for that.
            break
        wait = min(remaining, POLL_S)
        for key, _ in selector.select(timeout=wait):
            data = os.read(key.fd, 65536)
            if not data:
                selector.unregister(key.fd)
                open_pipes -= 1
            elif key.data == "output":
                run.keep_output(data.decode("utf-8", errors="replace"))
            else:
                pending += data
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    collected_before = run.collected
                    if run.accept(line):
                        phase_start = time.monotonic()
                    if collected_before is None and run.collected is not None:
                        on_collected(run.collected)
        if run.finished:
            break
        if processes.MEMORY_CAP_AVAILABLE:
            used = processes.private_bytes([pid, *processes.descendants(pid)])
            baseline = used if baseline is None else baseline
            if used - baseline > limits.memory_bytes:
                run.ended_by = "memory"
    selector.close()
    processes.kill_group(pid)
    if exit_status is None:
        _, exit_status = os.waitpid(pid, 0)  # before the sweep below, which reaps whatever it finds
    run.exit_status = exit_status
    processes.end_everything_below(os.getpid())  # orphans that left the group were adopted by us
    return run


def describe_exit(status: int) -> str:
    """``exit status 3`` or ``killed by SIGSEGV``, from a wait status."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            return f"killed by {signal.Signals(number).name}"
        except ValueError:
            return f"killed by signal {number}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"
