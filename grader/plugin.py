"""The pytest plugin that runs a hidden suite against one learner file.

It is loaded into the grading child (see ``grader.child``) and does four jobs,
in the style of pytest's own junitxml plugin:

* reads each check's metadata from its ``@pytest.mark.check(...)`` marker;
* imports the learner's file once, after the suite is collected, and hands it to
  checks through the ``learner`` fixture (never as names in the suite's
  namespace: pytest would collect a learner function called ``test_step``);
* turns each check's outcome into a status and a message a learner can read;
* sends every event as a record (``grader.records``) over a private channel to
  the supervisor, which decides what is reported. Nothing pytest prints is ever read.

The fixtures ``learner``, ``device``, ``cuda`` and ``seed`` are the public
interface for suites: see ``docs/writing-suites.md``.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import signal
import sys
import time
import traceback
import zlib
from dataclasses import dataclass, field

import pytest
from _pytest.fixtures import FixtureLookupError
from _pytest.outcomes import Exit, Skipped, XFailed

from grader import learner as learner_files
from grader import records, wording
from grader.boundary.judge import CrossingRefused, LearnerModule, LearnerProcess, LearnerProcessEnded
from grader.learner import LearnerEscaped, LearnerFileMissing, LearnerHung, LearnerImportFailed, Snapshot
from grader.results import Status

CHECK_MARKER_HELP = (
    "check(id, name, points=1, hint=''): a graded check with a stable id, a short name, "
    "its points and a hint (or a list of up to three, from a nudge to a near-answer)"
)
TIMEOUT_MESSAGE_START = "Timeout (>"  # how pytest-timeout's failure message begins


MARKER_KEYWORDS = ("id", "name", "points", "hint")
MAX_HINTS = 3
CHECK_ID = re.compile(r"[A-Za-z0-9_.-]+")


class SuiteError(Exception):
    """The suite cannot be used as written: the instructor's error, never the learner's."""


def check_info(item: pytest.Item) -> records.CheckInfo:
    """Read ``@pytest.mark.check(...)``; a test without one still counts, with defaults.

    A declaration the grader would otherwise misread (an unknown keyword such as
    ``hnit=``, points that are not a number, more than three hints) is a SuiteError.
    """
    marker = item.get_closest_marker("check")
    kwargs = dict(marker.kwargs) if marker else {}
    args = list(marker.args) if marker else []
    where = f"line {suite_line(item)}, {item.name}"
    if "hints" in kwargs:  # the plural reads naturally for a list: accepted as a synonym
        kwargs.setdefault("hint", kwargs.pop("hints"))
    unknown = sorted(set(kwargs) - set(MARKER_KEYWORDS))
    if unknown:
        raise SuiteError(f"{where}: @pytest.mark.check has no keyword {unknown[0]!r} "
                         f"(it takes {', '.join(MARKER_KEYWORDS)})")
    if len(args) > 2:
        raise SuiteError(f"{where}: @pytest.mark.check takes at most two values without a keyword (id, name)")
    check_id = kwargs.get("id", args[0] if args else item.name.removeprefix("test_"))
    if not isinstance(check_id, str) or not CHECK_ID.fullmatch(check_id):
        raise SuiteError(f"{where}: the check id {check_id!r} must be letters, digits, '_', '.' or '-'")
    name = kwargs.get("name", args[1] if len(args) > 1 else check_id.replace("_", " "))
    points = kwargs.get("points", 1)
    if isinstance(points, bool) or not isinstance(points, (int, float)) or not math.isfinite(points) or points < 0:
        raise SuiteError(f"{where}: points={points!r} must be a number of 0 or more")
    hint = kwargs.get("hint", "")
    hints = [hint] if isinstance(hint, str) else list(hint) if isinstance(hint, (list, tuple)) else None
    if hints is None or not all(isinstance(h, str) for h in hints):
        raise SuiteError(f"{where}: hint must be a string or a list of strings")
    if len(hints) > MAX_HINTS:
        raise SuiteError(f"{where}: {len(hints)} hints; give at most {MAX_HINTS}, from a nudge to a near-answer")
    return records.CheckInfo(check_id, str(name), float(points), tuple(h for h in hints if h))


def suite_line(item: pytest.Item) -> int:
    """The line of the suite where the check is declared (its first decorator)."""
    return item.location[1] + 1 if item.location[1] is not None else 0


def collection_error_text(report: pytest.CollectReport) -> str:
    """Where in the suite, and what, from the report of a suite that could not be imported."""
    text = str(report.longrepr)
    name = report.fspath.rsplit("/", 1)[-1] if report.fspath else ""
    lines = [int(n) for n in re.findall(rf'{re.escape(name)}"?(?:, line |:)(\d+)', text)] if name else []
    errors = [line[1:].strip() for line in text.splitlines() if line.startswith("E ")]
    what = next((e for e in reversed(errors) if re.match(r"[A-Za-z_.]*(Error|Exception)\b", e)), None)
    what = what or (errors[-1] if errors else text.strip().splitlines()[-1])
    where = f"line {lines[-1]}: " if lines else ""
    return learner_files.one_line(f"{where}it cannot be imported: {what}")


def time_limit(item: pytest.Item) -> float:
    """The seconds ``item`` may take: its ``timeout`` marker's (see ``GraderPlugin``), or else ``--timeout``'s."""
    marker = item.get_closest_marker("timeout")
    if marker is not None:
        seconds = marker.args[0] if marker.args else marker.kwargs.get("timeout")
        if isinstance(seconds, (int, float)):
            return float(seconds)
    return float(item.config.getoption("timeout") or 0)


def suite_fault(exc: BaseException, item: pytest.Item, learner_file: str) -> str:
    """Where the suite's own code failed, when ``exc`` is the suite's bug rather than the learner's; else "".

    A misspelt fixture, or a NameError, ImportError or SyntaxError raised in the
    suite's own lines with no learner code on the way, is the instructor's to fix.
    Anything else stays the learner's: the suite's ``.shape`` failing on the
    ``None`` a learner returned is the learner's bug.
    """
    if isinstance(exc, FixtureLookupError):
        return f"line {suite_line(item)}: fixture {exc.argname!r} not found"
    if isinstance(exc, CrossingRefused):
        return f"line {last_line_in(exc, str(item.path)) or suite_line(item)}: {exc}"
    if not isinstance(exc, (NameError, ImportError, SyntaxError)) or learner_files.learner_frames(exc, learner_file):
        return ""
    line = last_line_in(exc, str(item.path))
    return f"line {line}: {learner_files.describe_exception(exc)}" if line else ""


def last_line_in(exc: BaseException, filename: str) -> int | None:
    """The line of ``filename`` (the suite) that ``exc`` was last raised through, if it was."""
    lines = [frame.lineno for frame in traceback.extract_tb(exc.__traceback__) if frame.filename == filename]
    return lines[-1] if lines else None


def import_raised_text(exc: BaseException, suite: str) -> str:
    """Where in the suite, and what, for a suite that raised ``exc`` as it was imported (an exit or an interrupt,
    which pytest lets through its collection instead of reporting, like ``collection_error_text``)."""
    line = last_line_in(exc, suite)
    return f"{f'line {line}: ' if line else ''}it cannot be imported: {learner_files.describe_exception(exc)}"


@dataclass
class GradingSettings:
    """What the child was asked to grade, and how."""

    snapshot: Snapshot | None
    """The learner's file, or None when it is missing."""
    missing_message: str
    module_name: str
    device: str
    seed: int
    channel: records.Channel
    only_ids: frozenset[str] | None = None
    """The checks to run (None: all); a child resuming after a crash or a hang runs those not decided yet."""
    hung: dict[str, str] = field(default_factory=dict)
    """Learner functions that already ran out of time in this grading, each with the check where it first did."""
    short_limit: float = 1.0
    """Seconds each later call of such a function may take."""
    suite_dir: str = ""
    """The folder of the suite as the instructor wrote it: helper modules beside the suite import from there."""
    timeout: float | None = None
    """Seconds each check may take (``--timeout``), unless the suite gives it its own ``timeout`` marker."""
    source_fd: int | None = None
    """Where the learner's file is still to come from (watch mode forks a child before the save): see
    ``wait_for_source``. None: ``snapshot`` is the file."""


@dataclass
class _ItemState:
    status: Status = Status.PASSED
    message: str = ""
    traceback: str = ""
    start: float = field(default_factory=time.perf_counter)
    hung_in: list[str] = field(default_factory=list)  # the learner function that ran out of time, if known
    returned: bool = False  # the check's function itself returned
    raised: BaseException | None = None  # what the check's function itself raised


class GraderPlugin:
    """Grades the collected checks and reports each one over the channel."""

    def __init__(self, settings: GradingSettings):
        self.settings = settings
        self.process: LearnerProcess | None = None
        self.fresh = False  # the learner process has just imported the file: nothing to forget before this check
        self.import_error: BaseException | None = None
        self.checks: dict[str, records.CheckInfo] = {}
        self.states: dict[str, _ItemState] = {}
        self.suite_broken = False

    # -- set-up -------------------------------------------------------------

    def pytest_configure(self, config: pytest.Config) -> None:
        """Register the ``check`` marker; let the suite import the helper modules kept beside it."""
        config.addinivalue_line("markers", CHECK_MARKER_HELP)
        if self.settings.suite_dir and self.settings.suite_dir not in sys.path:
            sys.path.insert(0, self.settings.suite_dir)  # helper modules the instructor keeps beside the suite

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """A suite that cannot be imported is the instructor's error, not the learner's (see ``suite_error``)."""
        if report.failed and not self.suite_broken:
            self.suite_error(collection_error_text(report))

    def suite_error(self, message: str) -> None:
        """Say once that the suite cannot be used: the supervisor makes it a usage error, and no check runs."""
        self.suite_broken = True
        self.settings.channel.send(records.SuiteError(message))

    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        """Read and validate every check's declaration, announce the checks, then leave out those decided already."""
        infos = []
        lines: dict[str, int] = {}
        try:
            if not items and not self.suite_broken:
                raise SuiteError("it collects no check: a check is a function whose name starts with test_")
            for item in items:
                info = check_info(item)
                if info.id in lines:
                    raise SuiteError(f"line {suite_line(item)}: two checks have the id {info.id!r} "
                                     f"(the other at line {lines[info.id]}): check ids must be unique")
                lines[info.id] = suite_line(item)
                self.checks[item.nodeid] = info
                infos.append(info)
        except SuiteError as exc:
            if not self.suite_broken:
                self.suite_error(str(exc))
        if self.suite_broken:
            config.hook.pytest_deselected(items=list(items))
            items[:] = []
            return
        only = self.settings.only_ids
        if only is None:
            # An exercise's first judge says which checks there are; one resuming after a crash was told.
            self.settings.channel.send(records.Collected(tuple(infos)))
        if self.settings.timeout is not None:
            for item in items:
                if item.get_closest_marker("timeout") is None:  # pytest-timeout's own marker
                    item.add_marker(pytest.mark.timeout(self.settings.timeout))
        keep = [item for item in items if only is None or self.checks[item.nodeid].id in only]
        deselected = [item for item in items if item not in keep]
        if deselected:
            config.hook.pytest_deselected(items=deselected)
        items[:] = keep

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> None:
        """Start the learner process, which imports the learner's file, once the suite is loaded here."""
        if self.settings.source_fd is not None:
            self.settings.snapshot = wait_for_source(self.settings.source_fd)
        if not session.items:
            return
        if self.settings.snapshot is None:
            self.settings.channel.send(records.Phase("checks"))  # the suite is loaded; nothing to import
            return
        self.settings.channel.send(records.Phase("import"))
        seal_import_path(self.settings.suite_dir)
        self.process = LearnerProcess(self.settings.snapshot, self.settings.module_name, [self.settings.channel.fd],
                                      self.settings.suite_dir)
        for name, first_check in self.settings.hung.items():
            self.process.limit(name, first_check, self.settings.short_limit)
        self.start_learner_process()
        self.settings.channel.send(records.Phase("checks"))

    def start_learner_process(self) -> None:
        try:
            failed = self.process.start()
        except LearnerProcessEnded as exc:
            how = str(exc).partition('(')[2].partition(')')[0] or 'it ended'
            failed = (wording.ended_while_imported(self.settings.snapshot.path.name, how), "")
        if failed is not None:
            self.import_error = LearnerImportFailed(failed[0])
            self.import_traceback = failed[1]
        self.fresh = True

    def pytest_unconfigure(self) -> None:
        if self.process is not None:
            self.process.stop()

    # -- fixtures for suites ------------------------------------------------

    @pytest.fixture
    def learner(self):
        """The learner's module, living in the learner process: ``learner.train_step(...)``."""
        if self.settings.snapshot is None:
            raise LearnerFileMissing(self.settings.missing_message)
        if self.import_error is None and not self.process.running:
            self.start_learner_process()  # the last check's learner process ended: a fresh one for this check
        if self.import_error is not None:
            raise self.import_error
        if not self.fresh:
            self.process.reset()
        self.fresh = False
        return LearnerModule(self.process)

    @pytest.fixture
    def device(self):
        """The ``torch.device`` that device-dependent checks run on (``--device``)."""
        import torch

        return torch.device(self.settings.device)

    @pytest.fixture
    def cuda(self):
        """``torch.device("cuda")``; the check is skipped, with the reason, where CUDA is not used."""
        import torch

        if self.settings.device != "cuda":
            pytest.skip(wording.NEEDS_CUDA)
        return torch.device("cuda")

    @pytest.fixture
    def seed(self, request: pytest.FixtureRequest) -> int:
        """This check's seed: fixed by the run's ``--seed`` and the check id, whatever order checks run in."""
        return check_seed(self.settings.seed, self.checks[request.node.nodeid].id)

    # -- running each check -------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        """Announce the check and seed torch's global generator for it; or, where the learner process ended and this
        judge can start no other (``LearnerProcess.spent``), hand the checks left to a fresh judge."""
        if self.process is not None and self.process.spent and self.import_error is None:
            self.settings.channel.send(records.Resume())
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
            os._exit(0)
        info = self.checks[item.nodeid]
        self.states[item.nodeid] = _ItemState()
        self.settings.channel.send(records.Start(info.id))
        import torch

        torch.manual_seed(check_seed(self.settings.seed, info.id))
        # Global state an earlier check's learner code may have left behind must not leak into this one.
        torch.set_grad_enabled(True)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item):
        """Keep exits, Ctrl-C and skips raised by learner code from ending or skipping the check."""
        try:
            return (yield)
        except (KeyboardInterrupt, SystemExit, Exit, Skipped, XFailed) as exc:
            if self.settings.snapshot and learner_files.learner_frames(exc, self.settings.snapshot.filename):
                raise LearnerEscaped(escape_message(exc)) from exc
            if isinstance(exc, (KeyboardInterrupt, SystemExit, Exit)):
                raise LearnerEscaped(escape_message(exc)) from exc
            raise

    @pytest.hookimpl(wrapper=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function):
        """See for ourselves how the check's function ended, whatever pytest's outer machinery is made to say."""
        state = self.states[pyfuncitem.nodeid]
        try:
            result = yield
        except BaseException as exc:
            state.raised = exc
            raise
        state.returned = True
        return result

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        """Decide the status of each phase while the exception itself is at hand."""
        report = yield
        state = self.states.get(item.nodeid)
        if state is None or state.status is not Status.PASSED:
            return report
        exc = call.excinfo.value if call.excinfo is not None else None
        if call.when == "call" and exc is None and not state.returned:
            # pytest saw no exception, yet the function did not return: something swallowed it.
            exc = state.raised or LearnerEscaped(wording.STOPPED_SILENTLY)
        if exc is None:
            return report
        filename = self.settings.snapshot.filename if self.settings.snapshot else ""
        fault = suite_fault(exc, item, filename)
        if isinstance(exc, LearnerProcessEnded):
            state.status, state.message = Status.ERROR, learner_files.one_line(str(exc))
        elif fault:
            state.status = Status.ERROR
            state.message = learner_files.one_line(wording.check_broken(item.path.name, fault))
            return report
        elif isinstance(exc, Skipped) and call.when == "setup" or isinstance(exc, Skipped) and call.when == "call":
            state.status, state.message = Status.SKIPPED, learner_files.one_line(exc.msg or wording.SKIPPED)
        elif isinstance(exc, pytest.fail.Exception) and str(exc.msg).startswith(TIMEOUT_MESSAGE_START):
            state.status = Status.TIMEOUT
            state.message = wording.check_too_long(time_limit(item))
            state.hung_in = self.note_hung_function(exc, self.checks[item.nodeid].name)
        else:
            state.status, state.message = learner_files.explain(exc, filename)
            if isinstance(exc, LearnerImportFailed):
                state.traceback = getattr(self, "import_traceback", "")
            elif filename:
                state.traceback = learner_files.format_learner_traceback(exc, filename)
            if call.when == "teardown" and state.status is Status.FAILED:
                state.status = Status.ERROR
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Send the check's record once its teardown is over."""
        if report.when != "teardown" or report.nodeid not in self.states:
            return
        state = self.states.pop(report.nodeid)
        self.settings.channel.send(records.Result(
            self.checks[report.nodeid].id, state.status, state.message, state.traceback,
            round(time.perf_counter() - state.start, 4), tuple(state.hung_in)))

    def note_hung_function(self, exc: BaseException, check_name: str) -> list[str]:
        """The learner function that was running when time ran out: its later calls get a short limit."""
        name = self.process.hung_in if self.process is not None else None
        if name is None or name in self.settings.hung:
            return []
        self.settings.hung[name] = check_name
        self.process.limit(name, check_name, self.settings.short_limit)
        return [name]

    def pytest_runtest_teardown(self, item: pytest.Item) -> None:
        """Close the figures a check made, so the next check starts with none."""
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is not None:
            pyplot.close("all")


def wait_for_source(fd: int) -> Snapshot | None:
    """The learner's file, once the grader sends it: until then this child waits with its suite loaded.

    Nothing learner-written has run yet. Closed without a word, the grading it was forked for is not
    wanted any more (the learner quit watching, or graded another file): the child just ends.
    """
    with os.fdopen(fd, "rb") as pipe:
        data = pipe.read()
    if not data:
        os._exit(0)
    message = json.loads(data)
    return learner_files.snapshot_from(message["file"], message["source"], message.get("cells"))


def hung_function_of(codes: list, module) -> str | None:
    """The innermost learner function among ``codes`` (outermost first) that can be reached by name from ``module``.

    ``train_step``, or ``Model.forward`` for a method of a class defined in the module.
    """
    reachable = {}
    for name, value in vars(module).items():
        if getattr(value, "__module__", None) != module.__name__:
            continue
        if isinstance(value, type):
            for attribute, member in vars(value).items():
                code = getattr(member, "__code__", None)
                if code is not None:
                    reachable.setdefault(code, f"{name}.{attribute}")
        elif getattr(value, "__code__", None) is not None:
            reachable.setdefault(value.__code__, name)
    for code in reversed(codes):
        if code in reachable:
            return reachable[code]
    return None


def limit_calls(module, name: str, first_check: str, limit: float, announce=None) -> None:
    """Replace the learner's ``name`` in ``module`` by a wrapper that stops each call after ``limit`` seconds.

    ``announce(event, name)`` hears ``"entering"`` and ``"left"`` around each call: the learner process
    tells the judge, which also ends the call once the limit is past (``boundary.judge.LearnerProcess``).
    """
    owner_name, _, attribute = name.rpartition(".")
    owner = getattr(module, owner_name, None) if owner_name else module
    original = getattr(owner, attribute, None) if owner is not None else None
    if original is None or getattr(original, "__wrapped_by_grader__", False):
        return
    message = wording.ran_past_limit_again(name, first_check, limit)
    announce = announce or (lambda event, function: None)

    @functools.wraps(original)
    def limited(*args, **kwargs):
        announce("entering", name)
        try:
            return call_with_limit(original, limit, message, args, kwargs)
        finally:
            announce("left", name)

    limited.__wrapped_by_grader__ = True
    setattr(owner, attribute, limited)


def call_with_limit(function, limit: float, message: str, args, kwargs):
    """Call ``function``, raising LearnerHung if it runs longer than ``limit`` (the check's own alarm still holds)."""
    outer_left = signal.getitimer(signal.ITIMER_REAL)[0]
    if outer_left and outer_left <= limit:
        return function(*args, **kwargs)  # the check's own time limit comes first anyway

    def expire(signum, frame):
        raise LearnerHung(message)

    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        return function(*args, **kwargs)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        left = outer_left - (time.monotonic() - started)
        if outer_left and left > 0:
            # Re-arm the check's own alarm. Once it is past, the watchdog outside still bounds the check:
            # an alarm fired now would land in the grader's code, not the learner's.
            signal.setitimer(signal.ITIMER_REAL, left)


def check_seed(run_seed: int, check_id: str) -> int:
    """A seed for one check, from the run's seed and the check's stable id."""
    return (run_seed * 1_000_003 + zlib.crc32(check_id.encode())) % 2**31


def escape_message(exc: BaseException) -> str:
    """Say in words what the learner's code did to try to leave the check."""
    if isinstance(exc, SystemExit):
        return wording.called_exit("" if exc.code is None else repr(exc.code))
    if isinstance(exc, KeyboardInterrupt):
        return wording.RAISED_KEYBOARD_INTERRUPT
    if isinstance(exc, Exit):
        return wording.CALLED_PYTEST_EXIT
    if isinstance(exc, XFailed):
        return wording.CALLED_PYTEST_XFAIL
    return wording.CALLED_PYTEST_SKIP


def seal_import_path(suite_dir: str) -> None:
    """Import the helper modules beside the suite now, then take the suite's folder off the import path.

    The folder is writable by the learner process: a module planted there must never be found by an
    import the judge makes later.
    """
    if not suite_dir:
        return
    import importlib
    from pathlib import Path

    for helper in sorted(Path(suite_dir).glob("*.py")):
        if not helper.name.startswith("test_") and helper.stem.isidentifier():
            try:
                importlib.import_module(helper.stem)
            except Exception:  # noqa: BLE001 - a helper the suite does not import may be unfinished
                pass
    while suite_dir in sys.path:
        sys.path.remove(suite_dir)
    sys.path_importer_cache.pop(suite_dir, None)
