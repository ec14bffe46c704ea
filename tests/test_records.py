"""The judge's records (``grader.records``), and the one shape a check's result keeps from the judge to the report.

Records are encoded by the judge and decoded by the watchdog; anything not
signed, or not of a record's exact shape, decodes to None. The supervisor turns
them into ``CheckResult``s, flagging a check lost when its process ended before
deciding it and an output truncated where the watchdog cut it; the gradebook,
the progress cache and the text report read those flags, never the words.
Everything here runs without a sandbox: in milliseconds, but for one process
that runs the judge's plugin twice.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from grader import records, watchdog, wording
from grader.wording import OUTPUT_CUT
from grader.results import CheckResult, ExerciseResult, Report, Status
from grader.supervisor import Supervisor
from grader.watchdog import ChildRun, OUTPUT_LIMIT
from tests.helpers import KIT

SECRET = "0123456789abcdef"
INFOS = (records.CheckInfo("a", "first", 2.0, ("look at a",)), records.CheckInfo("b", "second", 1.0),
         records.CheckInfo("c", "third", 1.0))
EVERY_KIND = [records.Collected(INFOS), records.Phase("import"), records.Phase("checks"), records.Start("a"),
              records.Result("a", Status.TIMEOUT, "too long", "  File ...", 1.5, ("train_step",)),
              records.SuiteError("line 3: SyntaxError"), records.ChildError("OSError: gone"), records.Finished()]


# -- encode and decode -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("record", EVERY_KIND, ids=lambda record: record.kind)
def test_every_record_comes_back_as_it_was_sent(record):
    line = records.encode(record, SECRET)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert records.decode(line.rstrip(b"\n"), SECRET) == record


def test_a_record_signed_with_another_secret_or_none_is_refused():
    line = records.encode(records.Finished(), SECRET)
    assert records.decode(line, "guessed") is None
    unsigned = json.loads(line)
    del unsigned["secret"]
    assert records.decode(json.dumps(unsigned).encode(), SECRET) is None


@pytest.mark.parametrize("data", [
    {"type": "finished", "extra": 1},  # a field the kind does not have
    {"type": "start"},  # a field it needs
    {"type": "start", "id": 7},
    {"type": "result", "id": "a", "status": "splendid"},
    {"type": "result", "id": "a", "status": "passed", "duration_s": float("nan")},
    {"type": "result", "id": "a", "status": "passed", "duration_s": True},
    {"type": "result", "id": "a", "status": "passed", "hung_in": "train_step"},
    {"type": "phase", "phase": "made-up"},
    {"type": "collected", "checks": [{"id": "a", "name": "first"}]},  # no points
    {"type": "collected", "checks": "a,b"},
    {"type": "made-up"},
    {"type": ["start"]},
], ids=lambda data: json.dumps(data)[:60])
def test_a_malformed_record_is_refused_without_raising(data):
    assert records.decode(json.dumps({**data, "secret": SECRET}, allow_nan=True).encode(), SECRET) is None


@pytest.mark.parametrize("line", [b"", b"not json", b"\xff\xfe", b"[" * 100_000, b'"just a string"',
                                  json.dumps({"secret": ["list"], "type": "finished"}).encode(),
                                  json.dumps({"secret": "\udc80", "type": "finished"}).encode()])
def test_lines_that_are_no_record_at_all_are_refused_without_raising(line):
    assert records.decode(line, SECRET) is None


def test_the_channel_writes_one_signed_line_a_record():
    read_end, write_end = os.pipe()
    channel = records.Channel(write_end, SECRET)
    for record in EVERY_KIND:
        channel.send(record)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        lines = pipe.read().splitlines()
    assert [records.decode(line, SECRET) for line in lines] == EVERY_KIND


class QuietSandbox:
    """What ``watchdog.watch`` needs of a sandbox, and no more: its zygote says nothing (the watchdog stops at the
    judge's ``Finished``), no memory is used and there is no process to end."""

    cgroup = None

    def __init__(self):
        self.control, self.zygote_end = socket.socketpair()

    def memory_used(self) -> int:
        return 0

    def oom_kills(self) -> int:
        return 0

    def end_learner_processes(self) -> None:
        pass

    def wait_for_message(self, limit: float) -> dict:
        return {"status": 0}


class SlowSandbox(QuietSandbox):
    """A sandbox whose zygote has said the child ended, on a machine so busy that the watchdog gets the CPU only
    every quarter of a second (here: while it measures memory)."""

    def __init__(self):
        super().__init__()
        self.zygote_end.send(b"ended")

    def read_message(self) -> dict:
        self.control.recv(16)
        return {"status": 0}

    def memory_used(self) -> int:
        time.sleep(0.25)
        return 0


def test_every_record_is_read_after_the_child_ended_however_late_the_watchdog_gets_to_them():
    """The zygote says the child ended; its records (more than one read of the pipe) wait in their pipe, and
    something the learner started still holds the output pipe. The watchdog reads the records to their end
    before it stops, not only as many as it got to within a moment of the end."""
    record_r, record_w = os.pipe()
    output_r, output_w = os.pipe()  # output_w stays open: a process learner code started still holds it
    infos = tuple(records.CheckInfo(f"c{number}", f"check {number}", 1.0) for number in range(40))
    lines = [records.Collected(infos), records.Phase("checks")]
    for info in infos:
        lines += [records.Start(info.id), records.Result(info.id, Status.FAILED, "x" * 4000)]
    data = b"".join(records.encode(record, SECRET) for record in [*lines, records.Finished()])
    assert len(data) > 2 * 65536
    writer = threading.Thread(target=lambda: (os.write(record_w, data), os.close(record_w)))
    writer.start()  # a pipe holds 64 KiB: the rest goes in as the watchdog reads
    limits = watchdog.Limits(check_s=5.0, budget_s=10.0, memory_bytes=1 << 30)
    try:
        run = watchdog.watch(SlowSandbox(), record_r, output_r, ChildRun(secret=SECRET, expected=None), limits)
    finally:
        writer.join()
        os.close(output_w)
    assert len(run.results) == len(infos) and run.finished


def test_output_read_late_is_kept_with_the_check_that_printed_it():
    """The judge, through its channel, marks each record in the output pipe. A watchdog that reads the two pipes
    only once everything was written (a busy machine) still gives each check its own output: reading the records
    first used to lose it."""
    record_r, record_w = os.pipe()
    output_r, output_w = os.pipe()
    channel = records.Channel(record_w, SECRET)
    channel.output_fd = output_w
    for item in [records.Collected(INFOS), records.Phase("import"), "imported\n", records.Phase("checks"),
                 records.Start("a"), "printed in a\n", records.Result("a", Status.PASSED), records.Start("b"),
                 "printed in b, ", "twice\n", records.Result("b", Status.FAILED), records.Start("c"),
                 records.Result("c", Status.PASSED), "after the last check\n", records.Finished()]:
        if isinstance(item, str):
            os.write(output_w, item.encode())
        else:
            channel.send(item)
    os.close(record_w)
    os.close(output_w)
    limits = watchdog.Limits(check_s=1.0, budget_s=10.0, memory_bytes=1 << 30)
    run = watchdog.watch(QuietSandbox(), record_r, output_r, ChildRun(secret=SECRET, expected=None), limits)
    assert run.finished and set(run.results) == {"a", "b", "c"}
    assert run.outputs == {"import": "imported\n", "a": "printed in a\n", "b": "printed in b, twice\n"}


def test_output_that_comes_ahead_of_its_records_waits_for_them_even_with_a_mark_cut_in_two():
    mark = records.OUTPUT_MARK
    output = mark * 3 + b"in a" + mark[:5]  # marked: Collected, Phase("checks"), Start("a"); then Result("a")
    rest = mark[5:] + mark + b"in b" + mark + mark  # ... Start("b"), Result("b"), Finished()
    in_two, byte_by_byte = ChildRun(secret=SECRET, expected=None), ChildRun(secret=SECRET, expected=None)
    in_two.read_output(output)
    in_two.read_output(rest)
    for byte in output + rest:
        byte_by_byte.read_output(bytes([byte]))
    for run in (in_two, byte_by_byte):
        assert run.outputs == {}, "nothing is kept before the records that say where it belongs are read"
        for record in [records.Collected(INFOS[:2]), records.Phase("checks"), records.Start("a"),
                       records.Result("a", Status.PASSED), records.Start("b")]:
            run.accept(records.encode(record, SECRET).rstrip(b"\n"))
        assert run.outputs == {"a": "in a", "b": "in b"}
        assert not run.output_held


def test_marks_that_learner_code_prints_only_move_its_own_output_and_hold_little():
    """Learner code can print the mark too (it shares the pipe). A flood of them, each with a byte of text, is
    held within ``OUTPUT_HELD_LIMIT`` (in linear time: the watchdog never adds up what it holds again), and once
    the records are read or the child is gone, the checks keep at most ``OUTPUT_LIMIT`` each."""
    run = ChildRun(secret=SECRET, expected=None)
    for record in [records.Collected(INFOS), records.Phase("checks"), records.Start("a")]:
        run.read_output(records.OUTPUT_MARK)
        run.accept(records.encode(record, SECRET).rstrip(b"\n"))
    run.read_output((b"x" + records.OUTPUT_MARK) * 2_000_000)
    assert run.output_held_bytes <= watchdog.OUTPUT_HELD_LIMIT
    run.end_output()
    assert not run.output_held and run.output_held_bytes == 0
    assert run.outputs == {"a": "x" * OUTPUT_LIMIT + OUTPUT_CUT}


def test_the_report_side_of_the_protocol_imports_neither_torch_nor_pytest():
    code = ("import sys, grader.records, grader.watchdog, grader.supervisor, grader.wording; "
            "print(sorted({'torch', 'pytest'} & set(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], cwd=KIT, capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(KIT)})
    assert done.stdout.strip() == "[]"


def test_the_file_guard_and_the_plugin_do_not_import_each_other():
    source = lambda name: (KIT / "grader" / name).read_text(encoding="utf-8")  # noqa: E731
    assert "plugin" not in source("integrity.py") and "integrity" not in source("plugin.py")


# -- what the judge's plugin sends -----------------------------------------------------------------------------

SUITE = '''
import pytest


@pytest.mark.check("a", "first", points=2, hint="look at a")
def test_a(learner):
    learner.f()


@pytest.mark.check("b", "second")
def test_b():
    raise AssertionError("b is wrong")
'''


# Both judges in one process, as the zygote's children are: pytest twice, each time with the plugin and a
# channel of its own, for a learner file that is missing (no learner process is needed).
JUDGES = f'''
import os, sys
import pytest
from grader import records
from grader.plugin import GraderPlugin, GradingSettings

for name, only_ids in (("first", None), ("resuming", frozenset({{"b"}}))):
    fd = os.open(name + ".records", os.O_WRONLY | os.O_CREAT)
    settings = GradingSettings(snapshot=None, missing_message="exercise_99.py does not exist",
                               module_name="exercise_99", device="cpu", seed=1,
                               channel=records.Channel(fd, "{SECRET}"), only_ids=only_ids)
    pytest.main(["test_suite.py", "-q", "-p", "no:cacheprovider", "--assert=plain", "--import-mode=importlib"],
                plugins=[GraderPlugin(settings)])
    os.close(fd)
'''


@pytest.fixture(scope="module")
def judged(tmp_path_factory) -> dict[str, list]:
    """What the plugin sent, as a first judge and as one resuming after a crash: ``{"first": [...], ...}``."""
    folder = tmp_path_factory.mktemp("judges")
    (folder / "test_suite.py").write_text(SUITE)
    subprocess.run([sys.executable, "-c", JUDGES], cwd=folder, check=True, capture_output=True, timeout=120,
                   env={**os.environ, "PYTHONPATH": str(KIT)})
    return {name: [records.decode(line, SECRET) for line in (folder / f"{name}.records").read_bytes().splitlines()]
            for name in ("first", "resuming")}


def test_the_first_judge_lists_the_checks_once_and_sends_a_result_for_each(judged):
    sent = judged["first"]
    assert None not in sent
    assert sent[0] == records.Collected((records.CheckInfo("a", "first", 2.0, ("look at a",)),
                                         records.CheckInfo("b", "second", 1.0)))
    assert [record.kind for record in sent[1:]] == ["phase", "start", "result", "start", "result"]
    results = {record.id: record for record in sent if isinstance(record, records.Result)}
    assert (results["a"].status, results["a"].message) == (Status.NOT_STARTED, "exercise_99.py does not exist")
    assert (results["b"].status, results["b"].message) == (Status.FAILED, "b is wrong")


def test_a_judge_resuming_after_a_crash_does_not_list_the_checks_again(judged):
    phase, start, result = judged["resuming"]
    assert (phase, start, result.id, result.status) == (records.Phase("checks"), records.Start("b"), "b", Status.FAILED)


# -- from records to results: the supervisor ---------------------------------------------------------------------

KILLED = signal.SIGKILL  # a wait status: killed by SIGKILL
TASK = {"exercise": "exercise_99", "title": "Ninety-nine", "display_file": "exercise_99.py",
        "file": "/x/exercise_99.py", "suite": "/x/test_99.py"}


class ScriptedSupervisor(Supervisor):
    """A supervisor whose children are scripts: the records (and output) each sends, how it ended, and whether
    the watchdog stopped it (``ended_by``)."""

    def __init__(self, *children):
        super().__init__(sandbox_source=None, device="cpu", timeout=1.0, seed=1, memory_mib=100)
        self.children = list(children)
        self.asked: list = []

    def run_child(self, task, expected, limits, hung, on_collected, on_result, waiting=None) -> ChildRun:
        self.asked.append(expected)
        script, status, *ended_by = self.children.pop(0)
        run = ChildRun(secret=SECRET, expected=expected)
        for item in script:
            if isinstance(item, str):
                run.keep_output(item)
            else:
                watchdog.accept(run, records.encode(item, SECRET), limits, on_collected, on_result)
        run.exit_status, run.ended_by = status, "".join(ended_by)
        return run


def test_checks_keep_one_shape_and_a_crash_loses_only_the_checks_it_took():
    heard_collected, heard_checks = [], []
    first = [records.Collected(INFOS), records.Phase("import"), records.Phase("checks"), records.Start("a"),
             "x" * (OUTPUT_LIMIT + 1), records.Result("a", Status.PASSED, duration_s=0.25), records.Start("b")]
    # The second child resumes with c; it lists no checks (one that did would not be heard), then dies between checks.
    second = [records.Collected(INFOS), records.Phase("import"), records.Phase("checks")]
    supervisor = ScriptedSupervisor((first, KILLED), (second, KILLED))
    result = supervisor.grade(TASK, on_collected=heard_collected.append, on_check=heard_checks.append)

    assert isinstance(result, ExerciseResult) and supervisor.asked == [None, ["c"]]
    assert len(heard_collected) == 1 and [check.id for check in heard_collected[0]] == ["a", "b", "c"]
    assert all(isinstance(check, CheckResult) for check in heard_collected[0] + heard_checks)
    a, b, c = result.checks
    assert (a.status, a.max_points, a.hints, a.duration_s, a.lost) == (Status.PASSED, 2.0, ["look at a"], 0.25, False)
    assert a.output_truncated and a.output.endswith(wording.OUTPUT_CUT)
    assert (b.status, b.lost, b.output_truncated) == (Status.ERROR, True, False)
    assert b.message == wording.process_ended("killed by SIGKILL")
    assert (c.status, c.lost, c.message) == (Status.ERROR, True, wording.ended_early("killed by SIGKILL"))
    assert result.score == 2.0 and result.max_score == 4.0 and not result.lost


def test_a_judge_that_can_start_no_other_learner_process_hands_the_checks_left_to_a_fresh_one():
    """``Resume`` between checks, once the judge decided one: a fresh judge runs the rest, and nothing is lost."""
    first = [records.Collected(INFOS), records.Phase("checks"), records.Start("a"),
             records.Result("a", Status.ERROR, "your code ended the process"), records.Resume()]
    second = [records.Phase("import"), records.Phase("checks"), records.Start("b"), records.Result("b", Status.PASSED),
              records.Start("c"), records.Result("c", Status.FAILED, "c is wrong"), records.Finished()]
    supervisor = ScriptedSupervisor((first, 0), (second, 0))
    a, b, c = supervisor.grade(TASK).checks
    assert supervisor.asked == [None, ["b", "c"]]
    assert [(check.status, check.lost) for check in (a, b, c)] == [(Status.ERROR, False), (Status.PASSED, False),
                                                                   (Status.FAILED, False)]


def test_resume_counts_only_between_checks_and_after_progress():
    """A judge that decided nothing, or is in the middle of a check, cannot ask for another: no endless restarts."""
    before_any = [records.Collected(INFOS), records.Phase("checks"), records.Resume()]
    [check_a, check_b, check_c] = ScriptedSupervisor((before_any, 0)).grade(TASK).checks
    assert all(check.status is Status.ERROR and check.lost for check in (check_a, check_b, check_c))
    run = ChildRun(secret=SECRET, expected=["a", "b"])
    for record in (records.Start("a"), records.Resume()):
        run.accept(records.encode(record, SECRET))
    assert not run.resume and run.current == "a"


def test_a_check_stopped_for_time_is_a_verdict_not_a_loss():
    first = [records.Collected(INFOS[:1]), records.Phase("checks"), records.Start("a")]
    [check] = ScriptedSupervisor((first, KILLED, "time")).grade(TASK).checks
    assert (check.status, check.lost, check.message) == (Status.TIMEOUT, False, wording.check_too_long(1.0))


# -- the flags, read where they matter ------------------------------------------------------------------------------


def test_the_text_report_says_more_output_was_cut_from_the_flag_not_the_words():
    from grader.report_text import make_console, render_details

    def shown(check: CheckResult) -> str:
        out = io.StringIO()
        render_details(check, make_console(out))
        return out.getvalue()

    cut = CheckResult("a", "first", 1.0, Status.FAILED, output="one line\n", output_truncated=True)
    says_so = CheckResult("a", "first", 1.0, Status.FAILED, output="I print: [… more output not shown]")
    assert "… (more not shown)" in shown(cut)
    assert "(more not shown)" not in shown(says_so)


def test_the_gradebook_grades_a_lost_exercise_again_on_its_own_from_the_flag(monkeypatch):
    from grader.platforms import gradebook

    calls = []

    def grade(tasks, **settings):
        calls.append(list(tasks))
        first_call = len(calls) == 1
        exercises = [ExerciseResult("exercise_99", "Ninety-nine", task, problem=wording.not_graded("sandbox died"),
                                    lost=True) if first_call else ExerciseResult("exercise_99", "Ninety-nine", task)
                     for task in tasks]
        return Report(exercises, seed=1, device="cpu")

    monkeypatch.setattr(gradebook, "grade", grade)
    results, alone = gradebook.grade_class(["ann.py", "ben.py"])
    assert calls == [["ann.py", "ben.py"], ["ann.py"], ["ben.py"]] and alone == {0}
    assert not any(result.lost for result in results)
    still_lost = ExerciseResult("exercise_99", "Ninety-nine", "ann.py", problem="not graded: it died", lost=True)
    assert gradebook.exercise_note(still_lost, graded_alone=True) == "not graded: it died, also when graded on its own"
    # Words alone mark nothing lost: a problem that merely starts the same way is graded once, with the class.
    assert not ExerciseResult("exercise_99", "T", "f.py", problem="not graded: as the learner wrote").lost


def test_results_the_grader_lost_are_not_kept_in_the_progress_cache(tmp_path, monkeypatch):
    from grader import course
    from grader.runner import Task
    from grader.state import ProgressState

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    exercise = course.EXERCISES[0]
    task = Task(exercise, tmp_path / exercise.filename, tmp_path / "suite.py")
    state = ProgressState(tmp_path, "cpu", 1.0, 100)
    lost_check = CheckResult("a", "first", 1.0, Status.ERROR, wording.process_ended("killed by SIGKILL"), lost=True)
    state.store([("key", task, ExerciseResult(exercise.name, exercise.title, "f.py", [lost_check]))])
    state.store([("key", task, ExerciseResult(exercise.name, exercise.title, "f.py", problem="not graded", lost=True))])
    assert ProgressState(tmp_path, "cpu", 1.0, 100).entries == {}
    kept = CheckResult("a", "first", 1.0, Status.FAILED, "wrong", output="x", output_truncated=True)
    state.store([("key", task, ExerciseResult(exercise.name, exercise.title, "f.py", [kept]))])
    [entry] = ProgressState(tmp_path, "cpu", 1.0, 100).entries.values()
    assert ExerciseResult.from_dict(entry["result"]).checks == [kept]
