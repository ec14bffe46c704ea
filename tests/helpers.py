"""What the kit's tests share beyond fixtures: run the command line, read its report, find processes left behind."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from unittest import mock

import pytest

KIT = Path(__file__).resolve().parent.parent


def run_grader(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 240):
    """Run ``python -m grader ARGS`` for real; return the completed process (text output).

    Its cache folder is the tests' own (``XDG_CACHE_HOME``, set by conftest's ``grader_cache``) unless ``env`` says.
    """
    environment = {**os.environ, **(env or {})}
    environment["PYTHONPATH"] = str(KIT)  # the grader package of this checkout, installed or not
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=cwd or KIT, env=environment,
                          capture_output=True, text=True, timeout=timeout)


def fresh_cache(folder: Path) -> Path:
    """``folder`` as a grader cache of its own (an ``XDG_CACHE_HOME``) for a command that must not share the
    tests' one, holding only matplotlib's font list copied from it.

    Every sandbox needs that list (``grader.sandbox.box.matplotlib_cache``), and building it costs half a second
    of CPU. The tests' own cache has it from the session's first grading, which is where its building is tested.
    """
    from grader.files import cache_folder

    fonts = cache_folder() / "matplotlib"  # the tests' cache: XDG_CACHE_HOME is conftest's grader_cache
    if any(fonts.glob("fontlist-*.json")):
        shutil.copytree(fonts, folder / cache_folder().name / "matplotlib", dirs_exist_ok=True)
    return folder


def grade_json(*args: str, **kwargs) -> tuple[dict, subprocess.CompletedProcess]:
    """Run the grader with ``--format json``; return the parsed report and the process."""
    process = run_grader(*args, "--format", "json", **kwargs)
    return json_of(process), process


class SharedWorker:
    """Stands in for ``grader.runner.Worker`` in a command run inside the test process (``run_here``).

    Every grading goes to the session's warm sandbox (conftest's ``warm_worker``), one at a time (lanes and a
    gradebook's jobs then take turns), and the command never closes it.
    """

    lock = threading.Lock()
    closed = False

    def __init__(self, worker):
        self.worker = worker

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return None

    def close(self) -> None:
        return None

    def grade(self, *args, **kwargs):
        with self.lock:
            return self.worker.grade(*args, **kwargs)


@contextlib.contextmanager
def working_folder(folder: Path):
    """``contextlib.chdir``, which Python 3.10 lacks."""
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def run_here(worker, main, *args: str, cwd: Path | None = None, env: dict | None = None,
             name: str = "grader") -> subprocess.CompletedProcess:
    """Run a command's ``main(args)`` in this process, as ``run_grader`` runs it in a new one, but graded in the
    warm sandbox ``worker``: the same parsing, grading, report and exit status, without a second torch import.

    For tests of what a command says and decides. What only a process of its own shows (its environment and
    imports, its signals, the processes it leaves, the sandbox it starts and stops) is tested through
    ``run_grader``. The command's clean-up of everything below its process is switched off here: below this
    process is the warm sandbox.
    """
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="")
    stderr = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="")
    sigterm = signal.getsignal(signal.SIGTERM)
    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.dict(os.environ, env or {}))
        stack.enter_context(working_folder(cwd or KIT))
        stack.enter_context(mock.patch("grader.runner.Worker", lambda *args: SharedWorker(worker)))
        stack.enter_context(mock.patch("grader.processes.end_everything_below", lambda pid: None))
        stack.enter_context(mock.patch("grader.processes.become_subreaper", lambda: None))
        stack.enter_context(mock.patch.object(sys, "stdout", stdout))
        stack.enter_context(mock.patch.object(sys, "stderr", stderr))
        try:
            code = main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            signal.signal(signal.SIGTERM, sigterm)
            stdout.flush()
            stderr.flush()
    return subprocess.CompletedProcess([name, *args], code, stdout.buffer.getvalue().decode("utf-8"),
                                       stderr.buffer.getvalue().decode("utf-8"))


def json_of(process: subprocess.CompletedProcess) -> dict:
    """The JSON report a command printed; the test fails, showing what it printed, when there is none."""
    try:
        return json.loads(process.stdout)
    except ValueError:
        pytest.fail(f"no JSON report (exit {process.returncode}): {process.stdout[-2000:]} {process.stderr[-2000:]}")


def grade_in(worker, exercise_name: str, file: Path, seed: int = 0, timeout: float | None = None,
             suites: Path | None = None, device: str = "auto", memory_mib: int | None = None) -> tuple[dict, int]:
    """``(report, exit status)`` as ``python -m grader EXERCISE --source FOLDER --format json`` gives them for
    ``file``, graded in this process by ``worker`` (a ``grader.runner.Worker``; conftest's ``warm_worker``).

    For tests of what a grading finds; what the command line itself does (choosing the file in a folder,
    printing, usage errors, its environment) is tested through ``run_grader``.
    """
    from grader import course, formats
    from grader.commands import DEFAULT_TIMEOUT_S
    from grader.runner import DEFAULT_MEMORY_MIB, Task

    exercise = course.find_exercise(exercise_name)
    suite = (suites or KIT / "grader" / "suites") / exercise.suite_filename
    report = worker.grade([Task(exercise, Path(file), suite)], device=device, timeout=timeout or DEFAULT_TIMEOUT_S,
                          seed=seed, memory_mib=memory_mib or DEFAULT_MEMORY_MIB)
    return json.loads(formats.to_json(report)), report.exit_code


@functools.lru_cache(maxsize=1)
def learner_namespaces_possible() -> bool:
    """Whether this machine lets a process make the user and PID namespace the learner process runs in."""
    pid = os.fork()
    if pid == 0:
        from grader import processes

        os._exit(0 if processes.own_user_namespace() and processes.pid_namespace_for_children() else 1)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


def compiled_from_source(pyc: Path) -> bool:
    """``grader.integrity.is_compiled_from_source`` for a grader's bytecode file, remembered while neither the file
    nor its source changes: the tests ask about the same files before and after every grading, and each answer
    compiles a module. Any write changes a file's change time, which nothing but the clock sets."""
    source = pyc.parent.parent / (pyc.name.split(".", 1)[0] + ".py")  # where is_compiled_from_source reads it
    return _compiled_from_source(pyc, _stamp(pyc), _stamp(source))


def _stamp(path: Path) -> tuple | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns


@functools.lru_cache(maxsize=None)
def _compiled_from_source(pyc: Path, pyc_stamp: tuple | None, source_stamp: tuple | None) -> bool:
    from grader.integrity import is_compiled_from_source

    return is_compiled_from_source(pyc, pyc.parent.parent)


def survivors(marker: str) -> list[int]:
    """Processes still alive whose environment carries ``marker`` (Linux)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def survivors_after(marker: str, within_s: float = 2.0) -> list[int]:
    """Processes carrying ``marker`` still alive ``within_s`` seconds from now; returns as soon as there are none."""
    return still_there_after(lambda: survivors(marker), within_s)


def still_there_after(find, within_s: float = 2.0) -> list[int]:
    """What ``find()`` lists ``within_s`` seconds from now (processes that have not ended yet); returns as soon as
    it lists nothing."""
    deadline = time.monotonic() + within_s
    while (found := find()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def statuses(exercise_report: dict) -> dict[str, str]:
    """``{check id: status}`` of one exercise in a JSON report."""
    return {check["id"]: check["status"] for check in exercise_report["checks"]}
