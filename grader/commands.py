"""What every command of the kit shares: its parser, its common options and their checks, and how it runs."""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from grader import course, processes

BUILT_IN_SUITES = Path(__file__).resolve().parent / "suites"
DEFAULT_TIMEOUT_S = 15.0
DEFAULT_MEMORY_MIB = 2048

DEVICE_HELP = "where device-dependent checks run; auto uses CUDA when present (default: auto)"
TIMEOUT_HELP = f"time limit for one check, in seconds (default: {DEFAULT_TIMEOUT_S:g})"
SEED_HELP = "the seed for the checks' random data (default: a fresh one, printed in the report)"
MEMORY_HELP = f"memory learner code may use beyond the grader's own, in MiB (default: {DEFAULT_MEMORY_MIB}; Linux only)"


class UsageError(Exception):
    """A problem with what was asked, reported as one line and exit status 2."""


class Parser(argparse.ArgumentParser):
    """argparse, but a mistake is a one-line UsageError instead of a usage dump (every command of the kit uses it)."""

    def error(self, message: str):
        raise UsageError(f"{message} (see: {self.prog} --help)")


# -- the common options: each command words its help, the option itself is the same everywhere --


def add_exercises(parser: argparse.ArgumentParser, names_help: str, all_help: str | None = None) -> None:
    """The exercises named (``exercise_03``, ``03`` or ``3``) and, with ``all_help``, ``--all``."""
    parser.add_argument("exercises", nargs="*", metavar="EXERCISE", help=names_help)
    if all_help is not None:
        parser.add_argument("--all", action="store_true", help=all_help)


def add_limits(parser: argparse.ArgumentParser, *, device: str | None = DEVICE_HELP, timeout: str | None = TIMEOUT_HELP,
               seed: str | None = SEED_HELP, memory: str | None = MEMORY_HELP,
               default_timeout: float = DEFAULT_TIMEOUT_S) -> None:
    """``--device``, ``--timeout``, ``--seed`` and ``--memory-limit``, each with its help (None: not offered)."""
    if device is not None:
        parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help=device)
    if timeout is not None:
        parser.add_argument("--timeout", type=float, default=default_timeout, metavar="SECONDS", help=timeout)
    if seed is not None:
        parser.add_argument("--seed", type=int, metavar="N", help=seed)
    if memory is not None:
        parser.add_argument("--memory-limit", type=int, default=DEFAULT_MEMORY_MIB, metavar="MIB", help=memory)
    else:
        parser.set_defaults(memory_limit=DEFAULT_MEMORY_MIB)  # read by check_limits


def add_suites(parser: argparse.ArgumentParser, help: str) -> None:
    """``--suites DIR``: an instructor's own suites instead of the built-in ones."""
    parser.add_argument("--suites", metavar="DIR", help=help)


def add_jobs(parser: argparse.ArgumentParser, help: str) -> None:
    """``--jobs N``: how many gradings at once (default: the cores)."""
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="N", help=help)


# -- checking what was asked -----------------------------------------------------------------------


def need_fork() -> None:
    """Refuse to grade where there is no fork() (the sandbox's zygote forks a judge per exercise)."""
    if not hasattr(os, "fork"):
        raise UsageError("grading needs fork(), which this system lacks: on Windows, run the grader inside WSL")


def names_or_all(names: list[str], everything: bool) -> list[str]:
    """The exercises named; none named (or ``--all``) means every one. Naming some and ``--all`` is refused."""
    if everything and names:
        raise UsageError("name exercises or use --all, not both")
    return names


def check_limits(options) -> None:
    """Refuse a time limit, memory limit, seed or number of jobs that makes no sense (every grading command)."""
    if not options.timeout > 0:
        raise UsageError(f"--timeout must be a positive number of seconds, got {options.timeout:g}")
    if options.memory_limit < 1:
        raise UsageError(f"--memory-limit must be a positive number of MiB, got {options.memory_limit}")
    if getattr(options, "seed", None) is not None and options.seed < 0:
        raise UsageError(f"--seed must be zero or more, got {options.seed}")
    if getattr(options, "jobs", 1) < 1:
        raise UsageError(f"--jobs must be 1 or more, got {options.jobs}")


def seed_of(options) -> int:
    """The seed asked for with ``--seed``, or a fresh one."""
    return options.seed if options.seed is not None else secrets.randbelow(100_000)


def suites_folder(options) -> Path:
    """The folder ``--suites`` names (default: the built-in suites); a UsageError when it is not there."""
    suites = Path(options.suites) if options.suites else BUILT_IN_SUITES
    if not suites.is_dir():
        raise UsageError(f"no folder {suites}: give --suites the folder that holds your test_NN_<topic>.py suites")
    return suites


def named_exercise(text: str, then: str = "") -> course.Exercise:
    """The exercise ``text`` names (``exercise_03``, ``03``, ``3``), or a UsageError listing them all."""
    exercise = course.find_exercise(text)
    if exercise is None:
        known = ", ".join(e.name for e in course.EXERCISES)
        raise UsageError(f"unknown exercise {text!r}: choose one of {known}{then}")
    return exercise


def suite_for(exercise: course.Exercise, suites: Path) -> Path | None:
    """The suite for ``exercise`` in ``suites``: ``test_03_training.py``, or any ``test_03_*.py``."""
    matches = sorted(suites.glob(f"test_{exercise.number:02d}_*.py"))
    if len(matches) > 1:  # grading with one and silently ignoring the other would hide checks
        raise UsageError(f"{len(matches)} suites for {exercise.name} in {suites} ({', '.join(m.name for m in matches)}): "
                         "keep one file per exercise")
    return matches[0] if matches else None


def exercises_with_suites(named: list[str], suites: Path, then: str = "") -> list[tuple[course.Exercise, Path]]:
    """The exercises ``named`` (once each, in the order named), each with its suite in ``suites``.

    With none named: every exercise that has a suite there. Unknown names and
    missing suites are UsageErrors (``then`` ends the unknown-name message).
    Every command that grades (the grader, the gradebook, the Gradescope
    bundle) chooses its exercises here.
    """
    if not named:
        found = [(exercise, suite_for(exercise, suites)) for exercise in course.EXERCISES]
        found = [(exercise, suite) for exercise, suite in found if suite is not None]
        if not found:
            raise UsageError(f"no suites in {suites}: a suite is a file named test_NN_<topic>.py")
        return found
    chosen = []
    for text in named:
        exercise = named_exercise(text, then)
        suite = suite_for(exercise, suites)
        if suite is None:
            raise UsageError(f"no suite for {exercise.name} in {suites}: add a file named {exercise.suite_filename}")
        if all(exercise != other for other, _ in chosen):
            chosen.append((exercise, suite))
    return chosen


# -- running a command ------------------------------------------------------------------------------


def run_command(prog: str, body: Callable[[], int], interrupted: str = "interrupted") -> int:
    """Run ``body`` as a command: usage errors as one line and exit 2, Ctrl-C and SIGTERM cleaned up after.

    Every command of the kit (``grader``, ``grader.gradebook``, ...) runs through here.
    """
    # Should learner code kill the grader's worker, what it started is adopted here and ended below.
    processes.become_subreaper()
    # Stopped with SIGTERM (by `timeout`, a CI runner, an autograder): end as after Ctrl-C, cleaning up.
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))
    try:
        return body()
    except UsageError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: {interrupted}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`): send what is still buffered nowhere, and stop quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    finally:
        processes.end_everything_below(os.getpid())
