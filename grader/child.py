"""The grading child: one forked process that runs one suite against one learner file.

It starts from the supervisor's memory (torch, pytest and the grader already
imported), so it costs milliseconds instead of the seconds a fresh interpreter
would need. Learner code only ever runs here, in a process group of its own,
inside a private working folder; the supervisor watches it and kills the group
when it hangs, and forks a fresh child to go on with the next check when it dies.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from grader import processes, records
from grader.plugin import GraderPlugin, GradingSettings

SUITE_INI = Path(__file__).with_name("suite.ini")


def pytest_args(suite: Path, workdir: Path, timeout: float) -> list[str]:
    """pytest's command line for one suite: our configuration and plugins only (pytest-timeout, whose options
    are named here, is handed to ``pytest.main`` as a module by ``run``)."""
    return [
        str(suite),
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
        f"--timeout={timeout}",
        "--timeout-method=signal",
        "--capture=no",  # the learner's output goes to the watchdog's capture pipe instead
        # pytest's own failure reports are never read (the plugin decides every message), and for a
        # deep recursion building one takes seconds.
        "--tb=no",
        "-q",
    ]


class _LearnerOutput:
    """Keeps pytest's own terminal output apart from the learner's.

    pytest's terminal reporter is built on whatever ``sys.stdout`` is while
    pytest configures itself; the child gives it a null stream, then hands the
    real ``sys.stdout`` (the capture pipe) back for the learner's code.
    """

    def __init__(self, stream):
        self.stream = stream

    @pytest.hookimpl(trylast=True)
    def pytest_configure(self) -> None:
        """pytest's terminal is configured: give ``sys.stdout`` back to the learner's code."""
        sys.stdout = self.stream


def run(settings: GradingSettings, suite: Path, workdir: Path, timeout: float,
        output_fd: int, close_fds: list[int]) -> None:
    """Run in a freshly forked child: grade, report over the channel, and leave without cleanup."""
    try:
        os.setpgid(0, 0)  # one group for the child and anything it starts: killed as a whole
        processes.die_with_parent()
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
        sys.stdout.reconfigure(line_buffering=True)
        learner_stdout = sys.stdout
        sys.stdout = open(os.devnull, "w")
        # pytest-timeout goes in as the module itself: named with -p, pytest would first search every installed
        # package's entry points for it (a few milliseconds of every grading).
        import pytest_timeout

        pytest.main(pytest_args(suite, workdir, timeout),
                    plugins=[pytest_timeout, GraderPlugin(settings), _LearnerOutput(learner_stdout)])
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
