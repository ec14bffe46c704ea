"""Fixtures shared by the kit's own tests (the functions they share are in ``tests/helpers.py``)."""

from __future__ import annotations

import fcntl
import functools
import json
import os
import pickle
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import KIT, grade_in, json_of, run_here


def pytest_xdist_auto_num_workers(config):
    """``-n auto`` (pyproject's addopts): one worker more than there are cores. Many tests spend seconds waiting on
    a grader process (a time limit running out, a sandbox starting); the extra worker keeps the cores busy then.
    ``PYTEST_XDIST_AUTO_NUM_WORKERS`` still decides where it is set."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # pytest-xdist's own hook reads it
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return cores + 1


@pytest.fixture(scope="session", autouse=True)
def grader_cache(tmp_path_factory):
    """The grader's cache folder (backups, progress) for every grading the tests start: never the user's own.

    Set as ``XDG_CACHE_HOME`` for the whole session, so that in-process gradings and the processes the tests
    start both use it; each pytest-xdist worker has a folder of its own.
    """
    folder = tmp_path_factory.mktemp("grader-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(folder))
        yield folder


@pytest.fixture(scope="session", autouse=True)
def one_lane():
    """Gradings the tests start grade one exercise at a time (``KIT_LANES=1``): pytest-xdist already has a worker
    on every core, and each lane would import torch once more. The README's main job, graded once for the run
    (``solutions_graded``), keeps the lanes, as do the tests of lanes themselves."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KIT_LANES", "1")
        yield


@pytest.fixture(scope="session", autouse=True)
def one_thread():
    """Torch in the processes the tests start outside the sandbox (the lessons' notebooks and pictures) runs one
    thread per process (``OMP_NUM_THREADS=1``), as the sandbox does for learner code: with a pytest-xdist worker
    on every core, torch's extra threads only wait for a core, spinning (a tenth more CPU for the same work)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OMP_NUM_THREADS", "1")
        yield


@pytest.fixture
def torch_one_thread():
    """torch on one thread in this process, as the suites run, for tests that replay checks here: on tensors this
    small a second thread only waits for a core (on a busy machine 60 of exercise 07's epochs took 15 s, not 1)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def once_per_run(tmp_path_factory):
    """``once_per_run(key, make)``: ``make()``'s value, made once for the whole run however many pytest-xdist workers
    ask for it: the first to ask makes it (the others wait for it) and the others read it back (pickled).

    ``once_per_run.attempt(key, make, wait=False)`` does not wait: it says ``"made"`` or ``"read"`` once the value
    is here (``once_per_run(key, make)`` then returns it at once), or None while another worker is making it.
    xdist's ``xdist_group`` would keep such tests on one worker, but it does not always (pytest 9, xdist 3.8).
    """
    folder = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        folder = folder.parent  # shared by the workers of this run
    made: dict[str, object] = {}

    def attempt(key: str, make, wait: bool = True) -> str | None:
        if key in made:
            return "read"
        with open(folder / f"{key}.lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                return None
            kept = folder / f"{key}.pickle"
            if kept.exists():
                made[key] = pickle.loads(kept.read_bytes())
                return "read"
            made[key] = make()
            kept.write_bytes(pickle.dumps(made[key]))
            return "made"

    def once(key: str, make):
        attempt(key, make)
        return made[key]

    once.attempt = attempt
    return once


# What the report process had imported when it ended: the README promises it never imports torch.
WATCH_IMPORTS = r"""
import json, os, sys
from grader.cli import main
code = main(sys.argv[1:])
sys.stdout.flush()
with open(os.environ["KIT_TEST_IMPORTED"], "w") as record:
    json.dump(sorted(sys.modules), record)
sys.exit(code)
"""


@dataclass
class CourseGrading:
    """One run of ``python -m grader --all ... --format json`` over the whole course, read by many tests."""

    report: dict
    process: subprocess.CompletedProcess
    imported: list[str]
    """The modules the report process had imported when it ended."""


def grade_course(folder_args: list[str], record: Path) -> CourseGrading:
    environment = {**os.environ, "PYTHONPATH": str(KIT), "KIT_TEST_IMPORTED": str(record)}
    environment.pop("KIT_LANES", None)  # as a learner runs it: one lane per core
    process = subprocess.run([sys.executable, "-c", WATCH_IMPORTS, "--all", *folder_args, "--device", "cpu",
                              "--format", "json"], cwd=KIT, env=environment, capture_output=True, text=True,
                             timeout=600)
    try:
        report = json.loads(process.stdout)
    except ValueError:
        pytest.fail(f"no JSON report (exit {process.returncode}): {process.stdout[-2000:]} {process.stderr[-2000:]}")
    return CourseGrading(report, process, json.loads(record.read_text()))


@pytest.fixture(scope="session")
def solutions_graded(tmp_path_factory, grader_cache, once_per_run) -> CourseGrading:
    """``python -m grader --all --solutions --device cpu --format json`` (the README's main job), run once."""
    return once_per_run("solutions_graded", lambda: grade_course(
        ["--solutions"], tmp_path_factory.mktemp("solutions") / "imported.json"))


@pytest.fixture(scope="session")
def stubs_graded(tmp_path_factory, grader_cache, once_per_run) -> CourseGrading:
    """``python -m grader --all --source exercises --device cpu --format json``: every untouched stub, run once."""
    return once_per_run("stubs_graded", lambda: grade_course(
        ["--source", str(KIT / "exercises")], tmp_path_factory.mktemp("stubs") / "imported.json"))


@pytest.fixture(scope="session")
def warm_worker(grader_cache):
    """One sandbox kept warm for the session (``grader.runner.Worker``, as watch mode keeps it): a grading in it
    only forks a child from a zygote that has imported torch already."""
    from grader.course import WARM_UPS
    from grader.runner import Worker

    with Worker(WARM_UPS) as worker:  # the tests grade every exercise in it
        yield worker


@pytest.fixture
def grade_warm(warm_worker):
    """``grade_warm(exercise, file, seed=0, timeout=..., suites=None)``: ``(report, exit status)`` as
    ``python -m grader EXERCISE --source FOLDER --format json`` gives them for ``file``, graded in this process in
    the warm sandbox (``tests.helpers.grade_in``)."""
    return functools.partial(grade_in, warm_worker)


@pytest.fixture
def grader_here(warm_worker):
    """``grader_here(*args, cwd=None, env=None)``: ``python -m grader ARGS`` run in this process, graded in the warm
    sandbox (``tests.helpers.run_here``); a completed process, as ``run_grader`` gives."""
    from grader import cli

    return functools.partial(run_here, warm_worker, cli.main)


@pytest.fixture
def grade_json_here(grader_here):
    """``grade_json_here(*args, **kwargs)``: ``(report, process)`` as ``tests.helpers.grade_json`` gives them, run in
    this process (``grader_here``)."""
    def grade(*args: str, **kwargs):
        process = grader_here(*args, "--format", "json", **kwargs)
        return json_of(process), process

    return grade


@pytest.fixture
def gradebook_here(warm_worker):
    """``gradebook_here(*args)``: ``python -m grader.gradebook ARGS`` run in this process, graded in the warm sandbox
    (``tests.helpers.run_here``; its ``--jobs`` take turns there)."""
    from grader.platforms import gradebook

    return functools.partial(run_here, warm_worker, gradebook.main, name="grader.gradebook")
