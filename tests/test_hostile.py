"""Hostile learner files: the grader survives each one, gives no points it did not earn, and leaves nothing behind.

Each file in ``tests/hostile/`` attacks one way (see its docstring). Every test
checks what the issue asks: valid JSON, exit status 1, less than full marks,
the statuses and a word of the message on the affected checks, an end within a
time bound, no process left within two seconds, the learner's file unchanged,
and the grader's files unchanged.

Where bubblewrap is on, most files are graded in the session's warm sandbox
(conftest's ``warm_worker``): the grader's files are read-only there, and what
is left running is whatever is still below its zygote. The files that attack
the grader's own process or environment, and every file where there is no
sandbox, are graded with the real command line against a private copy of the
grader (so files a hostile learner rewrites are never the kit's own).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from grader import processes
from grader.sandbox import probe
from tests.helpers import (KIT, compiled_from_source, fresh_cache, grade_in, learner_namespaces_possible,
                           still_there_after, survivors_after)

HOSTILE = Path(__file__).parent / "hostile"
TIMEOUT = "2"  # seconds per check: short, so the tests are quick
# For files where every check runs until its limit, spending a core all along (stuck_in_torch: torch's threads,
# every core): a shorter limit proves the same.
LOOPS_TIMEOUT = ["--timeout", "1"]
TIME_BOUND_S = 60  # the issue's bound for one exercise with --timeout 10; ours is shorter and must fit too
TRAIN = ["train_step_returns_loss", "single_update", "zero_grad_order", "train_mode"]
FIT = ["fit_history", "fit_losses", "fit_rejects_bad_arguments", "fit_reference_figures", "fit_converges"]
PLOT = ["plot_figure", "plot_lines"]
EVERY = "*"

# attack: ({check id or EVERY: (status, words in the message)}, extra command-line arguments)
EXPECTED = {
    "syntax_error": ({EVERY: ("error", "line 2")}, []),
    "raises_at_import": ({EVERY: ("error", "RuntimeError: boom at import")}, []),
    "sys_exit_at_import": ({EVERY: ("error", "ended the program while it was being imported")}, []),
    "os_exit_at_import": ({EVERY: ("error", "ended the grading process while it was being imported")}, []),
    "system_exit_zero_at_import": ({EVERY: ("error", "sys.exit")}, []),
    "keyboard_interrupt_at_import": ({EVERY: ("error", "KeyboardInterrupt")}, []),
    "exits_inside_functions": ({"train_step_returns_loss": ("error", "sys.exit(0)"),
                                "test_step_returns_loss": ("error", "sys.exit(0)"),
                                "fit_history": ("error", "KeyboardInterrupt"),
                                "plot_figure": ("error", "ended the grading process")}, []),
    "loops_at_import": ({EVERY: ("timeout", "importing")}, []),
    "loops_inside_functions": ({EVERY: ("timeout", "")}, LOOPS_TIMEOUT),
    "stuck_in_torch": ({EVERY: ("timeout", "")}, LOOPS_TIMEOUT),
    "eats_memory": ({"train_step_returns_loss": ("error", "used too much memory"),
                     "test_step_returns_loss": ("error", "used too much memory")}, ["--memory-limit", "300"]),
    "starts_processes": ({"train_step_returns_loss": ("failed", "")}, []),
    "floods_output": ({"train_step_returns_loss": ("failed", "")}, []),
    "pytest_escapes": ({"train_step_returns_loss": ("error", "pytest.exit"), "test_step_returns_loss": ("error", "pytest.skip"),
                        "fit_history": ("error", "pytest.xfail"), "plot_figure": ("error", "pytest.skip")}, []),
    "pytest_skip_at_import": ({EVERY: ("error", "Skipped")}, []),
    "pytest_exit_at_import": ({EVERY: ("error", "Exit")}, []),
    # Patching the grader in memory reaches only the learner process: the judge grades what the code does.
    # Replacing isinstance and abs breaks the learner process's own code, which then answers nonsense or
    # nothing: every check is an error (what it says depends on where that code broke first).
    "patches_comparisons": ({EVERY: ("error", "")}, []),
    # Its fit raises ValueError for every call, so the check that wants a ValueError for bad arguments is fair.
    "patches_pytest_machinery": ({"train_step_returns_loss": ("error", "ValueError: wrong"),
                                  "test_step_returns_loss": ("error", "ValueError: wrong"),
                                  "fit_history": ("error", "ValueError: wrong"),
                                  "plot_figure": ("error", "ValueError: wrong")}, []),
    "patches_during_check": ({"train_step_returns_loss": ("failed", ""), "test_step_returns_loss": ("failed", "")}, []),
    "forges_channel_instance": ({EVERY: ("not_started", "not written yet")}, []),
    "empties_check_code": ({"train_step_returns_loss": ("failed", ""), "fit_history": ("failed", ""),
                            "plot_figure": ("failed", "not a matplotlib Figure")}, []),
    "patches_and_hides": ({"train_step_returns_loss": ("failed", "not a Python float"),
                           "plot_figure": ("failed", "not a matplotlib Figure")}, []),
    "patches_plugin_hooks": ({EVERY: ("not_started", "not written yet")}, []),
    "traces_verdicts": ({"train_step_returns_loss": ("failed", ""), "fit_history": ("failed", ""),
                         "plot_figure": ("not_started", "")}, []),
    "lying_values": ({"train_step_returns_loss": ("failed", "not a Python float"), "test_step_returns_loss": ("failed", "nan"),
                      "fit_history": ("failed", ""), "plot_figure": ("failed", "not a matplotlib Figure")}, []),
    "hard_codes_results": ({"train_step_returns_loss": ("failed", ""), "fit_losses": ("failed", ""),
                            "fit_converges": ("failed", "")}, []),
    "tampers_with_grader": ({EVERY: ("error", "tampering")}, []),
    "tampers_during_check": ({"train_step_returns_loss": ("error", "tampering")}, []),
    "forges_records": ({EVERY: ("error", "ended the grading process")}, []),
    "deletes_itself": ({"train_step_returns_loss": ("failed", "")}, []),
    "config_next_to_file": ({"train_step_returns_loss": ("not_started", "")}, []),
    "kills_the_grader": ({EVERY: ("error", "not graded")}, []),
    "escapes_then_exits": ({EVERY: ("error", "ended the grading process while it was being imported")}, []),
}
# With the sandbox on, these attacks fail at the operating system's boundary, and the file gets the grade
# of what it really does: its writes fail, its file is not there to delete, its kill reaches nothing.
IN_SANDBOX = {
    "tampers_with_grader": ({EVERY: ("error", "Read-only file system")}, []),
    "tampers_during_check": ({"train_step_returns_loss": ("error", "Read-only file system")}, []),
    "deletes_itself": ({EVERY: ("error", "No such file or directory")}, []),
}
# Wherever the machine lets it have one, sandbox or not, the learner process is PID 1 of a namespace of its own:
# the judge is out of its sight, and the kill reaches nothing.
IN_OWN_NAMESPACE = {
    "kills_the_grader": ({"train_step_returns_loss": ("failed", "")}, []),
}
SANDBOX_ON = probe().on
OWN_NAMESPACE = learner_namespaces_possible()
# Attacks on the process that runs the grader, or on its environment and folder: always graded by a command line
# of their own, so that what they reach is that process, never the test's.
OWN_PROCESS = {"kills_the_grader", "escapes_then_exits", "config_next_to_file"}


@pytest.fixture
def kit_copy(tmp_path) -> Path:
    """A private copy of the grader package: what a hostile file rewrites is never the kit's own."""
    copy = tmp_path / "kit"
    shutil.copytree(KIT / "grader", copy / "grader", ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def grader_files(kit: Path) -> dict[str, bytes]:
    """The grader's files, bytecode left out: the grader compiles its package itself (see ``compile_grader``),
    so bytecode may appear. What appears must be the compilation of its source: a planted file fails here."""
    planted = [path for path in (kit / "grader").rglob("__pycache__/*.pyc")
               if "suites" not in path.parts and not compiled_from_source(path)]
    assert planted == [], f"bytecode that is not the grader's own: {planted}"
    return {str(path.relative_to(kit)): path.read_bytes() for path in sorted((kit / "grader").rglob("*"))
            if path.is_file() and "__pycache__" not in path.parts}


def grade_hostile(name: str, kit: Path, folder: Path, home: Path, extra: list[str], env_extra: dict | None = None):
    marker = f"HOSTILE_MARKER_{uuid.uuid4().hex}"
    env = {**os.environ, "PYTHONPATH": str(kit), "HOME": str(home), "XDG_CACHE_HOME": str(fresh_cache(home / ".cache")), marker: "1", **(env_extra or {})}
    start = time.monotonic()
    process = subprocess.run([sys.executable, "-m", "grader", "3", "--source", str(folder), "--format", "json",
                              "--timeout", TIMEOUT, "--seed", "5", *extra],
                             cwd=kit, env=env, capture_output=True, text=True, timeout=TIME_BOUND_S + 60)
    elapsed = time.monotonic() - start
    return process, elapsed, (survivors_after(marker, within_s=2) if sys.platform.startswith("linux") else [])


def plant_configuration(folder: Path) -> dict:
    """Files and variables that would change how pytest runs, if the grader let them."""
    (folder / "conftest.py").write_text("import pathlib\npathlib.Path(__file__).with_name('CONFTEST_RAN').touch()\n")
    (folder / "sitecustomize.py").write_text("import pathlib\npathlib.Path(__file__).with_name('SITECUSTOMIZE_RAN').touch()\n")
    (folder / "pytest.ini").write_text("[pytest]\naddopts = --collect-only\n")
    (folder / "pyproject.toml").write_text("[tool.pytest.ini_options]\naddopts = '--collect-only'\n")
    return {"PYTEST_ADDOPTS": "--collect-only -p no:grader", "PYTEST_PLUGINS": "no_such_plugin",
            "PYTHONPATH_EXTRA": str(folder)}


def grade_hostile_warm(worker, learner_file: Path, extra: list[str]):
    """``grade_hostile``'s answers for a grading in the warm sandbox ``worker``: ``(report, exit status, seconds,
    processes still below the zygote two seconds after)``."""
    options = dict(zip(extra[::2], extra[1::2]))
    memory_mib = int(options.pop("--memory-limit", 0)) or None
    timeout = float(options.pop("--timeout", TIMEOUT))
    assert options == {}, f"no warm grading for the options {options}"
    start = time.monotonic()
    report, returncode = grade_in(worker, "3", learner_file, seed=5, timeout=timeout, memory_mib=memory_mib)
    elapsed = time.monotonic() - start
    sandbox = worker.started_sandbox()
    # The zygote reaps the orphans learner code left before its next fork: until then they are listed, ended.
    alive = still_there_after(lambda: sandbox.learner_pids(living=True))
    return report, returncode, elapsed, alive


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hostile_file_is_contained(name, tmp_path, request):
    if SANDBOX_ON and name in IN_SANDBOX:
        expected, extra = IN_SANDBOX[name]
    else:
        expected, extra = IN_OWN_NAMESPACE[name] if OWN_NAMESPACE and name in IN_OWN_NAMESPACE else EXPECTED[name]
    folder = tmp_path / "learner"
    folder.mkdir()
    learner_file = folder / "exercise_03_training.py"
    learner_file.write_bytes((HOSTILE / f"{name}.py").read_bytes())
    env_extra = plant_configuration(folder) if name == "config_next_to_file" else None
    own_process = name in OWN_PROCESS or not SANDBOX_ON
    kit = request.getfixturevalue("kit_copy") if own_process else KIT
    original, files_before = learner_file.read_bytes(), grader_files(kit)

    if own_process:
        process, elapsed, alive = grade_hostile(name, kit, folder, tmp_path / "home", extra, env_extra)
        report = json.loads(process.stdout)  # always a valid report
        returncode, errors = process.returncode, process.stderr
    else:
        report, returncode, elapsed, alive = grade_hostile_warm(request.getfixturevalue("warm_worker"),
                                                                learner_file, extra)
        errors = ""

    assert alive == [], f"processes left running: {alive}"
    assert returncode == 1, errors
    assert report["score"] < report["max_score"]
    assert elapsed < TIME_BOUND_S
    checks = {check["id"]: check for check in report["exercises"][0]["checks"]}
    assert len(checks) == 16
    assert not any(check["status"] == "passed" and check["id"] in expected for check in checks.values())
    for check_id, check in checks.items():
        status, words = expected.get(check_id, expected.get(EVERY, (None, "")))
        if status is None:
            continue
        assert check["status"] == status, f"{check_id}: {check['status']}: {check['message']}"
        assert words in check["message"], f"{check_id}: {check['message']!r} does not say {words!r}"
        assert "\n" not in check["message"]
    assert learner_file.read_bytes() == original, "the learner's file was not kept as it was"
    assert grader_files(kit) == files_before, "the grader's files were left changed"
    if name == "config_next_to_file":
        assert not (folder / "CONFTEST_RAN").exists() and not (folder / "SITECUSTOMIZE_RAN").exists()
        assert sorted(path.name for path in folder.iterdir()) == [
            "conftest.py", "exercise_03_training.py", "pyproject.toml", "pytest.ini", "sitecustomize.py"]


def test_correct_file_that_prints_a_lot_gets_full_marks(warm_worker, tmp_path):
    folder = tmp_path / "learner"
    folder.mkdir()
    noisy = (HOSTILE / "prints_a_lot_but_correct.py").read_text()
    (folder / "exercise_03_training.py").write_text((KIT / "solutions" / "exercise_03_training.py").read_text() + "\n" + noisy)
    report, returncode, _, alive = grade_hostile_warm(warm_worker, folder / "exercise_03_training.py", [])
    assert returncode == 0 and report["score"] == report["max_score"] == 20.0
    assert alive == []


def learner_code_is_looping(grader_pid: int) -> bool:
    """Whether a process three or more levels below the grader (below its zygote and the judge: learner code)
    has spent half a second of CPU time."""
    table = processes.process_table()
    for pid in processes.descendants(grader_pid, living=True):
        depth, above = 0, pid
        while above != grader_pid and above in table:
            depth, above = depth + 1, table[above][0]
        fields = processes.stat_fields(pid)
        if depth >= 3 and fields and int(fields[11]) + int(fields[12]) >= os.sysconf("SC_CLK_TCK") // 2:
            return True
    return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds processes through /proc")
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGKILL], ids=["TERM", "KILL"])
def test_grader_stopped_from_outside_leaves_no_process(stop_signal, kit_copy, tmp_path):
    """`timeout` (or a CI runner) ends the grader mid-check: the worker and the looping child end with it."""
    folder = tmp_path / "learner"
    folder.mkdir()
    (folder / "exercise_03_training.py").write_bytes((HOSTILE / "loops_inside_functions.py").read_bytes())
    marker = f"HOSTILE_MARKER_{uuid.uuid4().hex}"
    env = {**os.environ, "PYTHONPATH": str(kit_copy), "HOME": str(tmp_path), marker: "1"}
    process = subprocess.Popen([sys.executable, "-m", "grader", "3", "--source", str(folder), "--timeout", "60"],
                               cwd=kit_copy, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not learner_code_is_looping(process.pid) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert process.poll() is None, "the grading ended before learner code was looping"
        below = processes.descendants(process.pid, living=True)  # the sandbox's processes carry no marker
        process.send_signal(stop_signal)
        returncode = process.wait(timeout=60)
    finally:
        process.kill()
    assert returncode in (-stop_signal, 128 + stop_signal)
    assert survivors_after(marker, within_s=2) == []
    assert still_there_after(lambda: [pid for pid in below if processes.state(pid) not in ("", "Z")]) == []


def test_bytecode_compiled_by_an_installer_is_not_tampering(kit_copy, tmp_path):
    """pip compiles the grader when it installs it: that bytecode is the grader's own, not a planted file."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(kit_copy / "grader")], check=True)
    assert list((kit_copy / "grader" / "__pycache__").glob("*.pyc"))
    folder = tmp_path / "exercises"
    folder.mkdir()
    shutil.copy(KIT / "exercises" / "exercise_03_training.py", folder)
    process, _, _ = grade_hostile("installed", kit_copy, folder, tmp_path / "home", [])
    report = json.loads(process.stdout)
    assert {check["status"] for check in report["exercises"][0]["checks"]} == {"not_started"}, process.stdout[-3000:]
