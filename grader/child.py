"""The grading child: one forked process that runs one suite against one learner file.

It starts from the zygote's memory (torch, pytest and the grader already
imported, pytest already configured: ``start_session``), so it costs
milliseconds instead of the seconds a fresh interpreter would need. Learner
code never runs here: the child starts a learner process for it
(``grader.boundary``), in a process group of its own, inside a private working
folder. The supervisor watches the child and kills the group when it hangs,
and forks a fresh child to go on with the next check when it dies.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from grader import processes, records
from grader.plugin import GraderPlugin, GradingSettings, import_raised_text

SUITE_INI = Path(__file__).with_name("suite.ini")


def session_args(workdir: Path) -> list[str]:
    """pytest's command line for the zygote's session: our configuration and plugins only, and no test path
    (each child collects its own suite). pytest-timeout, whose options are named here, is handed to
    ``pytest.main`` as a module by ``start_session``; each check's time limit is a marker (``GraderPlugin``)."""
    return [
        "-c", str(SUITE_INI),  # never a pytest.ini / pyproject.toml found near the learner's file
        "--rootdir", str(workdir),
        "--noconftest",  # nor a conftest.py
        "--confcutdir", str(workdir),  # collect the suite alone: pytest would otherwise list every folder above it
        "--assert=plain",  # no assertion rewriting: no cached .pyc that could stand in for a suite
        "--import-mode=importlib",
        "-p", "no:cacheprovider",  # no .pytest_cache anywhere
        "-p", "no:stepwise",
        "-p", "no:warnings",
        # Plugins no check uses, each paid for at every start and check: doctests, JUnit XML, pastebin,
        # --setup-only/plan, faulthandler (the watchdog and pytest-timeout handle hangs), and log capture
        # (learner code's logging warnings go to its output, where the learner sees them).
        "-p", "no:doctest", "-p", "no:junitxml", "-p", "no:pastebin", "-p", "no:setuponly", "-p", "no:setupplan",
        "-p", "no:faulthandler", "-p", "no:logging",
        # These two run gc.collect() at the end of the session: with torch loaded that costs 0.3 s.
        "-p", "no:unraisableexception",
        "-p", "no:threadexception",
        "--timeout-method=signal",
        "--capture=no",  # the learner's output goes to the watchdog's capture pipe instead
        # pytest's own failure reports are never read (the plugin decides every message), and for a
        # deep recursion building one takes seconds.
        "--tb=no",
        "-q",
    ]


class _Serve:
    """Hands the configured session to ``serve`` instead of collecting and running tests in the zygote."""

    def __init__(self, serve):
        self.serve = serve

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session: pytest.Session) -> bool:
        return True  # nothing to collect here: each child collects its own suite (``run``)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool:
        session.config.pluginmanager.unregister(self)  # in the children, pytest's own loop runs the checks
        self.serve(session)
        return True


def start_session(workdir: Path, serve) -> None:
    """Configure pytest once, then call ``serve(session)`` inside that session.

    Each child forked from there collects and runs its suite in its copy of the
    session (``run``), instead of paying for pytest's start (its plugins,
    options and fixtures: about 30 ms here) and finish again. pytest's terminal reporter
    writes to a null stream: nothing pytest prints is ever read.
    """
    import pytest_timeout  # as the module itself: named with -p, pytest would first search every package's entry points

    workdir.mkdir(parents=True, exist_ok=True)  # --rootdir must exist
    sys.stdout = open(os.devnull, "w")
    try:
        pytest.main(session_args(workdir), plugins=[pytest_timeout, _Serve(serve)])
    finally:
        sys.stdout = sys.__stdout__


def collect(session: pytest.Session, plugin: GraderPlugin, suite: Path) -> None:
    """Collect the suite in the session. pytest reports most errors of a suite's import to the plugin; an exit or
    an interrupt raised there it lets through, and they are the suite's too (the instructor's one line)."""
    try:
        session.perform_collect([str(suite)])
    except (KeyboardInterrupt, SystemExit) as exc:
        plugin.suite_error(import_raised_text(exc, str(suite)))
        raise session.Interrupted("the suite could not be imported") from exc


def run(session: pytest.Session, settings: GradingSettings, suite: Path, workdir: Path,
        output_fd: int, close_fds: list[int]) -> None:
    """Run in a freshly forked child: grade, report over the channel, and leave without cleanup."""
    try:
        os.setpgid(0, 0)  # one group for the child and anything it starts: killed as a whole
        processes.die_with_parent()
        # While this process has one thread (only then can it): then it can give each learner process a PID
        # namespace of its own without a process between (``LearnerProcess.start``).
        processes.own_user_namespace()
        for fd in close_fds:
            os.close(fd)  # the learner's code gets no handle on the supervisor's channels
        os.dup2(output_fd, 1)
        os.dup2(output_fd, 2)
        os.close(output_fd)
        settings.channel.output_fd = 1
        os.chdir(workdir)
        import torch

        # Checks use tiny tensors: one thread is faster than many fighting over a busy machine's cores.
        torch.set_num_threads(1)
        sys.stdout = sys.__stdout__  # what checks print goes with the learner's output (pytest's goes nowhere)
        sys.stdout.reconfigure(line_buffering=True)
        plugin = GraderPlugin(settings)
        session.config.pluginmanager.register(plugin)  # its fixtures, hooks and marker, as if named at the start
        try:
            collect(session, plugin, suite)
            session.config.hook.pytest_runtestloop(session=session)
        except (session.Interrupted, session.Failed):
            pass  # pytest stopped early (the suite could not be collected): the records say what was decided
        finally:
            plugin.pytest_unconfigure()  # the learner process ends with the grading
        settings.channel.send(records.Finished())
    except BaseException as exc:  # noqa: BLE001 - the supervisor decides what this means
        try:
            settings.channel.send(records.ChildError(f"{type(exc).__name__}: {exc}"))
        except BaseException:  # noqa: BLE001
            pass
    finally:
        for stream in (sys.stdout, sys.stderr, sys.__stdout__):
            try:
                stream.flush()
            except BaseException:  # noqa: BLE001
                pass
        os._exit(0)  # no interpreter teardown: nothing of it is needed, and it costs time
