"""Watching one grading child: its records, its output, its time and its memory.

The child reports over a pipe of its own, one record a line (``grader.records``,
which refuses any line not signed with the child's secret). A record counts
only if it also fits the order the checks must run in: a ``Start`` for the next
check due, a ``Result`` for the check in flight, once. Whatever the learner's
code prints goes to a second pipe and is kept, truncated (and marked so), with
the check it belongs to; it is never read for a verdict.

The watchdog runs outside the sandbox, in the process that prints the report.
It ends every learner process when a phase overruns its time, when the
learner's processes together use more memory than allowed, or when the child
is done; learner code can neither see nor signal it.
"""

from __future__ import annotations

import os
import selectors
import signal
import time
from collections import deque
from dataclasses import dataclass, field

from grader import records
from grader.results import Status
from grader.wording import OUTPUT_CUT


COLLECT_LIMIT_S = 60.0  # loading a suite is the grader's own code: generous
GRACE_S = 2.0  # pytest-timeout stops a check first; the kill is for what it cannot stop
EXIT_DRAIN_S = 0.2  # after the child has ended and its records are read, how long its last output may take
EXIT_WAIT_S = 5.0  # after its processes were killed, how long the zygote may take to say the child ended
# (and, after it ended, how long its records may take to reach the end of their pipe)
POLL_S = 0.1  # how often memory is measured
OUTPUT_LIMIT = 4000  # characters of learner output kept per check
OUTPUT_HELD_LIMIT = 1 << 20  # bytes of learner output held at most while their record has not been read


@dataclass
class Limits:
    """How long each phase may take, and how much memory learner code may use."""

    check_s: float
    budget_s: float
    """Seconds the exercise may still lose to checks that run out of time; at zero, it stops."""
    memory_bytes: int
    """Memory the learner's processes may use beyond what the sandbox held when the child started."""


@dataclass
class ChildRun:
    """What one child reported before it ended, and how it ended."""

    secret: str
    expected: list[str] | None
    """The checks this child must run, in order; None for an exercise's first child, which learns them."""
    collected: list[records.CheckInfo] | None = None
    """The checks, from an exercise's first child (a child resuming after a crash is not told them again)."""
    phase: str = "collect"  # then "import", then "checks"
    current: str | None = None  # the check in flight
    results: dict[str, records.Result] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    output_keys: list[str] = field(default_factory=lambda: [""])
    """What learner output belongs to after each record read: [0] before the first (nothing)."""
    output_marks: int = 0  # the marks read from the output pipe so far
    output_tail: bytes = b""  # the end of the last read of output, which may be the start of a mark
    output_held: deque[tuple[int, bytes]] = field(default_factory=deque)  # (marks before it, text) ahead of its record
    output_held_bytes: int = 0
    cut: set[str] = field(default_factory=set)
    """The keys of ``outputs`` that were truncated."""
    suite_error: str = ""
    child_error: str = ""
    sandbox_error: str = ""  # the sandbox itself failed (its zygote died or stopped answering)
    finished: bool = False
    resume: bool = False  # the judge asked for a fresh one to go on with the checks left (``records.Resume``)
    ended_by: str = ""  # "", "time", "budget" (the exercise's time ran out) or "memory"
    exit_status: int = 0

    def accept(self, line: bytes) -> bool:
        """Apply one record; True when a new phase or check began (its clock restarts)."""
        began = self.apply(records.decode(line, self.secret))  # None: not from the grading machinery, or malformed
        # Learner output printed after the judge sent this record belongs to what is in flight now.
        self.output_keys.append(self.in_flight())
        self.place_held_output(len(self.output_keys))
        return began

    def apply(self, record) -> bool:
        if isinstance(record, records.Collected):
            if self.collected is None and self.expected is None:
                self.collected = list(record.checks)
                self.expected = [info.id for info in record.checks]
        elif isinstance(record, records.Phase):
            self.phase = record.phase
            return True
        elif isinstance(record, records.Start) and self.current is None and self.expected_next() == record.id:
            self.phase, self.current = "checks", record.id
            return True
        elif isinstance(record, records.Result) and self.current is not None and record.id == self.current:
            self.results[self.current] = record
            self.current = None
            return True
        elif isinstance(record, records.SuiteError):
            self.suite_error = record.message
        elif isinstance(record, records.ChildError):
            self.child_error = record.message
        elif isinstance(record, records.Resume) and self.current is None and self.results:
            self.resume = True  # only between checks, and once this judge has decided one: it made progress
        elif isinstance(record, records.Finished):
            self.finished = True
        return False

    @property
    def loaded(self) -> bool:
        """The child got as far as loading the suite: it listed the checks (an exercise's first child), or began."""
        return self.collected is not None or self.phase != "collect"

    def expected_next(self) -> str | None:
        """The id of the next check due, or None when all have a result."""
        return next((check_id for check_id in self.expected or () if check_id not in self.results), None)

    def in_flight(self) -> str:
        """The check in flight, "import" while the learner's file is imported, else ""."""
        return self.current or ("import" if self.phase == "import" else "")

    def read_output(self, data: bytes) -> None:
        """Learner output as it is read: each part is kept with the check that was in flight when it was printed.

        The judge writes ``records.OUTPUT_MARK`` down the output pipe just before each record it sends, so the
        text after the n-th mark was printed after the judge had sent its n-th record: it belongs to what that
        record left in flight (``output_keys[n]``). The two pipes are read in whatever order select() gives, so
        text that comes ahead of its record is held until the record has been read.
        """
        mark = records.OUTPUT_MARK
        parts = (self.output_tail + data).split(mark)
        self.output_tail = b""
        for size in range(len(mark) - 1, 0, -1):  # a read may end inside a mark: keep its start for the next
            if parts[-1].endswith(mark[:size]):
                parts[-1], self.output_tail = parts[-1][:-size], parts[-1][-size:]
                break
        for number, part in enumerate(parts):
            if number:
                self.output_marks += 1  # a mark came before every part but the first
            self.place_output(part)

    def place_output(self, part: bytes) -> None:
        """Keep ``part``, printed after ``output_marks`` marks, with its check, or hold it until that record is read."""
        if part and self.output_held_bytes < OUTPUT_HELD_LIMIT:
            self.output_held.append((self.output_marks, part))
            self.output_held_bytes += len(part)
        self.place_held_output(len(self.output_keys))

    def place_held_output(self, records_read: int) -> None:
        """Keep the held output whose record has been read; with ``records_read`` past them all, all of it."""
        while self.output_held and self.output_held[0][0] < records_read:
            number, data = self.output_held.popleft()
            self.output_held_bytes -= len(data)
            key = self.output_keys[min(number, len(self.output_keys) - 1)]
            self.keep_output(data.decode("utf-8", errors="replace"), key)

    def end_output(self) -> None:
        """The child is gone and its pipes are read: keep what is still held, with the last record read."""
        if self.output_tail:
            self.output_held.append((self.output_marks, self.output_tail))
            self.output_held_bytes += len(self.output_tail)
            self.output_tail = b""
        self.place_held_output(len(self.output_keys) + self.output_marks)

    def keep_output(self, text: str, key: str | None = None) -> None:
        """Keep learner output with ``key`` (default: the check, or the import, in flight), truncated."""
        key = self.in_flight() if key is None else key
        if not key:
            return
        if key in self.cut:
            return
        kept = self.outputs.get(key, "") + text
        if len(kept) > OUTPUT_LIMIT:
            kept = kept[:OUTPUT_LIMIT] + OUTPUT_CUT  # the output itself says so, wherever it is shown
            self.cut.add(key)
        self.outputs[key] = kept


def phase_deadline(run: ChildRun, since: float, limits: Limits) -> float:
    """When the current phase must be over."""
    if run.phase == "collect":
        return since + COLLECT_LIMIT_S
    if run.phase == "import":
        return since + limits.check_s
    return since + limits.check_s + GRACE_S


def watch(sandbox, record_fd: int, output_fd: int, run: ChildRun, limits: Limits,
          on_collected=None, on_result=None) -> ChildRun:
    """Read the child's records and output until it is done or overruns, then end every learner process.

    ``sandbox`` is the ``grader.sandbox.Sandbox`` whose zygote forked the child:
    its control socket says when the child has ended, and it measures and kills
    the learner's processes. ``on_collected(checks)`` is called once the child
    has listed its checks, ``on_result(check_id, record)`` (a ``records.Result``) as each check is decided.
    """
    selector = selectors.DefaultSelector()
    selector.register(record_fd, selectors.EVENT_READ, "records")
    selector.register(output_fd, selectors.EVENT_READ, "output")
    selector.register(sandbox.control, selectors.EVENT_READ, "control")
    pending = b""
    phase_start = time.monotonic()
    measured = sandbox.cgroup is None
    baseline = None if measured else sandbox.memory_used()
    measured_at = 0.0  # measured at once, then every POLL_S
    oom_before = sandbox.oom_kills()
    open_pipes = 2
    exit_status = None  # set once the zygote says the child has ended
    exited_at = 0.0
    try:
        while not run.ended_by and not run.sandbox_error:
            now = time.monotonic()
            if exit_status is not None:
                # The child is gone, so no limit runs any more. Every record it sent is read, up to the end of
                # their pipe (which only the judge held); what learner code printed gets a moment more, since
                # something it started may still hold the output pipe.
                if not open_pipes or now - exited_at > EXIT_WAIT_S or (
                        record_fd not in selector.get_map() and now - exited_at > EXIT_DRAIN_S):
                    break
                remaining = POLL_S
            else:
                remaining = phase_deadline(run, phase_start, limits) - now
                if remaining <= 0:
                    run.ended_by = "time"
                    limits.budget_s -= now - phase_start
                    break
            for key, _ in selector.select(timeout=min(remaining, POLL_S)):
                if key.data == "control":
                    try:
                        exit_status, exited_at = sandbox.read_message().get("status", 0), time.monotonic()
                    except Exception as exc:  # noqa: BLE001 - SandboxFailed: the zygote is gone
                        run.sandbox_error = str(exc)
                        break
                    selector.unregister(sandbox.control)
                    continue
                data = os.read(key.fd, 65536)
                if not data:
                    selector.unregister(key.fd)
                    open_pipes -= 1
                elif key.data == "output":
                    run.read_output(data)
                else:
                    pending += data
                    *lines, pending = pending.split(b"\n")
                    for line in lines:
                        if accept(run, line, limits, on_collected, on_result):
                            phase_start = time.monotonic()
            if run.finished or run.resume:
                break
            if time.monotonic() - measured_at < POLL_S:
                continue  # not after every record: a hundred records a second each cost a measurement
            used, measured_at = sandbox.memory_used(), time.monotonic()
            if baseline is None:
                baseline = used
            if used - baseline > limits.memory_bytes:
                run.ended_by = "memory"
    finally:
        selector.close()
        os.close(record_fd)
        os.close(output_fd)
    run.end_output()
    sandbox.end_learner_processes()
    if exit_status is None and not run.sandbox_error:
        try:
            exit_status = sandbox.wait_for_message(EXIT_WAIT_S).get("status", 0)
        except Exception as exc:  # noqa: BLE001 - SandboxFailed
            run.sandbox_error = str(exc)
    if run.sandbox_error:
        sandbox.close()  # the next child gets a fresh sandbox, and the time this one cost counts as lost
        limits.budget_s -= time.monotonic() - phase_start
    if sandbox.oom_kills() > oom_before and not run.ended_by:
        run.ended_by = "memory"  # the kernel's hard cap struck before a measurement saw it
    run.exit_status = exit_status or 0
    return run


def accept(run: ChildRun, line: bytes, limits: Limits, on_collected, on_result) -> bool:
    """Apply one record to ``run``, telling the callbacks; True when a phase or check began (its clock restarts)."""
    collected_before, decided_before = run.collected, len(run.results)
    began = run.accept(line)
    if collected_before is None and run.collected is not None and on_collected:
        on_collected(run.collected)
    if len(run.results) > decided_before:
        check_id, record = list(run.results.items())[-1]
        if record.status is Status.TIMEOUT:
            limits.budget_s -= record.duration_s
            if limits.budget_s <= 0:
                run.ended_by = "budget"
        if on_result:
            on_result(check_id, record)
    return began


def describe_exit(status: int) -> str:
    """``exit status 3`` or ``killed by SIGSEGV``, from a wait status."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            return f"killed by {signal.Signals(number).name}"
        except ValueError:
            return f"killed by signal {number}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"
