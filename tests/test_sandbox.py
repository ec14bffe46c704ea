"""The sandbox, attacked from inside a learner's file: nothing learner code does reaches the grader, the machine or the next grading.

Two kinds of test, both grading hostile files from ``tests/hostile/`` with the
real command line against a private copy of the grader (as ``test_hostile.py``
does):

* **Properties of the sandbox** (issue 14, item 2). ``probes_the_sandbox.py``
  tries, from inside two checks, to write to site-packages and the kit, open a
  terminal, see and signal a process that this test started outside, connect
  to a loopback listener and an abstract unix socket this test opened, read a
  file in the grader's current folder, and leave processes running. It prints
  what it saw; the tests read that from the text report and check the same
  things from outside. These need the sandbox on: where bubblewrap cannot run
  they are skipped with the reason, unless ``KIT_REQUIRE_SANDBOX=1`` is set
  (as in CI), where they fail instead (the ``sandbox`` fixture).
* **Attack classes** (issue 14, item 5): one hostile file each, graded with the
  sandbox on, and where the attack is meaningful without it, also with
  ``KIT_SANDBOX=off`` to show that the fallback still gives no undeserved points.

A hole that these tests found and the kit's code does not close yet is a
strict ``xfail`` whose reason says what the hole is; tests of fixes under way
(report caps, surrogates) are left failing until the fix lands.

Every grading is checked the same way: a valid report, exit status 1, less than
full marks, an end within ``TIME_BOUND_S``, no process of it left running, and
nothing outside the sandbox changed (the grader's copy, the learner's folder,
the grader's current folder, its home). Gradings read by several tests are
made once per module. Two tests are of what a grading reports, not of what
learner code reaches (a 20,000-frame traceback, a file saved with a byte-order
mark): they are graded in the session's warm sandbox (conftest's
``grader_here`` and ``grade_warm``).
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import re
import select
import shutil
import socket
import struct
import subprocess
import sys
import termios
import time
import tty
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader import processes
from grader.sandbox import probe
from tests.helpers import KIT, compiled_from_source, fresh_cache, learner_namespaces_possible, survivors

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="bubblewrap and /proc are Linux only")

HOSTILE = Path(__file__).parent / "hostile"
TIMEOUT = "2"  # seconds per check: short, so the tests are quick
TIME_BOUND_S = 60  # the bound for one exercise with --timeout 10; ours is shorter and must fit too
PLANTED_LINE = "PLANTED: dict = {}  # the test fills this in"
EXERCISE_03 = "exercise_03_training.py"
FULL_MARKS_03 = 20.0
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # the colour codes rich writes on a terminal
SCORE = re.compile(r"Score: ([0-9.]+)/([0-9.]+)")


@pytest.fixture(scope="module")
def sandbox():
    """Skip (with the reason) where bubblewrap cannot make the sandbox; fail instead under KIT_REQUIRE_SANDBOX=1."""
    state = probe()
    if not state.on:
        if os.environ.get("KIT_REQUIRE_SANDBOX") == "1":
            pytest.fail(f"KIT_REQUIRE_SANDBOX=1, but the sandbox is off: {state.reason}")
        pytest.skip(f"the sandbox is off here: {state.reason}")
    return state


@pytest.fixture(scope="module")
def kit(tmp_path_factory) -> Path:
    """A private copy of the grader package, shared by this module's gradings: what they check is that it never changes."""
    copy = tmp_path_factory.mktemp("kit")
    shutil.copytree(KIT / "grader", copy / "grader", ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def learner_source(name: str, **planted) -> bytes:
    """The hostile file ``name``, with ``PLANTED`` filled in with what this test set up outside."""
    text = (HOSTILE / f"{name}.py").read_text(encoding="utf-8")
    if planted:
        assert PLANTED_LINE in text, f"{name}.py has no line {PLANTED_LINE!r} to fill in"
        text = text.replace(PLANTED_LINE, f"PLANTED = {planted!r}")
    return text.encode("utf-8")


def solution(filename: str = EXERCISE_03) -> bytes:
    return (KIT / "solutions" / filename).read_bytes()


def tree(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` with its bytes (symbolic links as their target).

    Left out: the grader's own bytecode, which it writes before the sandbox starts (``compile_grader``), as
    long as it is exactly the compilation of its source (anything else is listed, and fails a check).
    """
    files = {}
    for path in sorted(folder.rglob("*")):
        if path.parent.name == "__pycache__" and path.suffix == ".pyc" and "grader" in path.parts \
                and compiled_from_source(path):
            continue
        if path.is_symlink():
            files[str(path.relative_to(folder))] = os.readlink(path).encode()
        elif path.is_file():
            files[str(path.relative_to(folder))] = path.read_bytes()
    return files


def left_running(marker: str, kit: Path) -> list[int]:
    """Processes still alive that a grading left: the marker in their environment, or the kit's copy on their command line.

    Learner code started inside the sandbox puts the marker in its processes'
    environment (the sandbox's own environment is built from scratch); the
    sandbox's own processes (bubblewrap, the zygote) name the kit's copy.
    """
    found = set(survivors(marker))
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if str(kit).encode() in (entry / "cmdline").read_bytes():
                    found.add(int(entry.name))
            except OSError:
                continue
    return sorted(found)


@dataclass
class Grading:
    """One run of the command line, and what it left behind."""

    returncode: int
    stdout: str  # on a terminal: the screen, colour codes removed
    stderr: str
    elapsed: float
    left_running: list[int]
    changed: list[str]  # files outside the sandbox that changed (relative to the grading's folder)
    screen: bytes = b""  # on a terminal: every byte the terminal received
    typed: bytes = b""  # on a terminal: what was waiting in its input after the grading, typed by nobody
    learner: Path = Path()

    def report(self) -> dict:
        return json.loads(self.stdout)

    def score(self) -> tuple[float, float]:
        """Points and maximum, from a JSON or a text report."""
        if self.stdout.lstrip().startswith("{"):
            report = self.report()
            return report["score"], report["max_score"]
        found = SCORE.findall(self.stdout)
        assert found, f"no score in the text report: {self.stdout[-2000:]!r} {self.stderr[-2000:]!r}"
        return float(found[-1][0]), float(found[-1][1])

    def probes(self) -> dict[str, str]:
        """``{what: outcome}`` of every ``PROBE what: outcome`` line the learner printed (text report)."""
        found = {}
        for line in self.stdout.splitlines():
            _, marker, rest = line.partition("PROBE ")
            if marker:
                what, _, outcome = rest.partition(": ")
                found[what] = outcome.strip()
        return found

    def gradebook(self) -> dict[str, dict[str, str]]:
        """``{learner: row}`` of the gradebook's CSV."""
        return {row["learner"]: row for row in csv.DictReader(io.StringIO(self.stdout))}

    def statuses(self, exercise: int = 0) -> dict[str, tuple[str, str]]:
        return {check["id"]: (check["status"], check["message"]) for check in self.report()["exercises"][exercise]["checks"]}

    def assert_contained(self, full_marks: float | None = FULL_MARKS_03) -> None:
        """The assertions every hostile grading shares (``full_marks``: the maximum the report must show)."""
        assert self.left_running == [], f"processes left running: {self.left_running}"
        assert self.returncode == 1, f"exit {self.returncode}: {self.stderr[-3000:]}"
        score, maximum = self.score()  # also: a valid report
        assert score < maximum and full_marks in (None, maximum), (score, maximum)
        assert self.elapsed < TIME_BOUND_S, f"{self.elapsed:.1f} s"
        assert self.changed == [], f"changed outside the sandbox: {self.changed}"


def run_on_terminal(command: list[str], env: dict, cwd: Path, timeout: float) -> tuple[int, bytes, bytes]:
    """Run ``command`` with a pseudo-terminal as its controlling terminal and standard streams.

    Returns the exit status, every byte written to the terminal, and whatever
    was left waiting in the terminal's input afterwards (nobody typed anything,
    so all of it was injected). The terminal is raw, so every injected byte is
    readable at once.
    """
    master, slave = os.openpty()
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    tty.setraw(slave)

    def take_terminal():  # runs in the child, after start_new_session's setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    process = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd,
                               start_new_session=True, preexec_fn=take_terminal)
    screen = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                screen += os.read(master, 65536)
            elif process.poll() is not None:
                break
        else:
            process.kill()
        returncode = process.wait()
        waiting = struct.unpack("i", fcntl.ioctl(slave, termios.FIONREAD, b"\0\0\0\0"))[0]
        os.set_blocking(slave, False)
        typed = os.read(slave, waiting) if waiting else b""
    finally:
        os.close(master)
        os.close(slave)
    return returncode, bytes(screen), typed


def grade(kit: Path, folder: Path, files: dict[str, bytes], exercises=("3",), fmt: str = "json",
          extra: tuple[str, ...] = (), env_extra: dict | None = None, sandbox: bool = True,
          terminal: bool = False, marker: str | None = None, gradebook: bool = False) -> Grading:
    """Grade ``files`` (path in the learner's folder: bytes) with the real command line; see what it left.

    The grader runs with ``folder/cwd`` as its current folder and
    ``folder/home`` as its home; the learner's files are in ``folder/learner``
    (with ``gradebook``, that folder holds one sub-folder per learner and is
    graded with ``python -m grader.gradebook``, whose CSV is ``stdout``).
    ``sandbox=False`` grades with ``KIT_SANDBOX=off`` (the fallback).
    """
    learner, cwd, home = folder / "learner", folder / "cwd", folder / "home"
    for path in (learner, cwd, home):
        path.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (learner / name).parent.mkdir(parents=True, exist_ok=True)
        (learner / name).write_bytes(data)
    marker = marker or f"HOSTILE_MARKER_{uuid.uuid4().hex}"
    env = {**os.environ, "PYTHONPATH": str(kit), "HOME": str(home), "XDG_CACHE_HOME": str(fresh_cache(folder / "cache")),
           marker: "1", **(env_extra or {})}
    env.pop("KIT_SANDBOX", None)
    if not sandbox:
        env["KIT_SANDBOX"] = "off"
    before = {"kit": tree(kit), "learner": tree(learner), "cwd": tree(cwd), "home": tree(home)}
    if gradebook:
        command = [sys.executable, "-m", "grader.gradebook", str(learner), *exercises]
    else:
        command = [sys.executable, "-m", "grader", *exercises, "--source", str(learner)]
    command += ["--timeout", TIMEOUT, "--seed", "5", *extra]
    if fmt != "text" and not gradebook:
        command += ["--format", fmt]
    start = time.monotonic()
    if terminal:
        returncode, screen, typed = run_on_terminal(command, env, cwd, TIME_BOUND_S + 60)
        stdout, stderr = ANSI.sub("", screen.decode("utf-8", errors="replace")), ""
    else:
        process = subprocess.run(command, cwd=cwd, env=env, capture_output=True, timeout=TIME_BOUND_S + 60)
        returncode, screen, typed = process.returncode, b"", b""
        stdout = process.stdout.decode("utf-8", errors="replace")
        stderr = process.stderr.decode("utf-8", errors="replace")
    elapsed = time.monotonic() - start
    deadline = time.monotonic() + 0.5  # what was killed at the end has this long to go
    while (left := left_running(marker, kit)) and time.monotonic() < deadline:
        time.sleep(0.05)
    after = {"kit": tree(kit), "learner": tree(learner), "cwd": tree(cwd), "home": tree(home)}
    changed = [f"{place}/{name}" for place in before
               for name in sorted(set(before[place]) | set(after[place]))
               if before[place].get(name) != after[place].get(name)]
    return Grading(returncode, stdout, stderr, elapsed, left, changed, screen, typed, learner)


# -- properties of the sandbox (issue 14, item 2) ------------------------------------------------------------

OUTSIDE_SLEEPER = """
import pathlib, signal, sys, time
caught = pathlib.Path(sys.argv[1])
for number in (signal.SIGUSR1, signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(number, lambda n, frame: caught.write_text(signal.Signals(n).name))
time.sleep(600)
"""


def pending_connection(listener: socket.socket) -> bool:
    try:
        connection, _ = listener.accept()
    except BlockingIOError:
        return False
    connection.close()
    return True


@pytest.fixture(scope="module")
def probed(sandbox, kit, tmp_path_factory) -> dict:
    """``probes_the_sandbox.py`` graded once, on a terminal, with things to reach set up outside; what happened to them."""
    folder = tmp_path_factory.mktemp("probed")
    outside_marker = f"OUTSIDE_SLEEPER_{uuid.uuid4().hex}"
    caught = folder / "signals_caught"
    sleeper = subprocess.Popen([sys.executable, "-c", OUTSIDE_SLEEPER, str(caught), outside_marker])
    tcp = socket.create_server(("127.0.0.1", 0))
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    abstract_name = f"kit-sandbox-test-{uuid.uuid4().hex}"
    abstract.bind("\0" + abstract_name)
    abstract.listen()
    for listener in (tcp, abstract):
        listener.setblocking(False)
    cwd_file = folder / "cwd" / "instructor_notes.txt"
    cwd_file.parent.mkdir()
    cwd_file.write_text("the answers to exercise 03\n")
    marker = f"HOSTILE_MARKER_{uuid.uuid4().hex}"
    site_files = site_packages_files(marker)
    planted = {"marker": marker, "outside_marker": outside_marker, "outside_pid": sleeper.pid,
               "tcp_port": tcp.getsockname()[1], "abstract_name": abstract_name, "cwd_file": str(cwd_file)}
    try:
        time.sleep(0.2)
        grading = grade(kit, folder, {EXERCISE_03: learner_source("probes_the_sandbox", **planted)},
                        fmt="text", terminal=True, marker=marker)
        outside = {
            "sleeper_alive": sleeper.poll() is None,
            "sleeper_state": processes.state(sleeper.pid) if sleeper.poll() is None else "gone",
            "signals_caught": caught.read_text() if caught.exists() else "",
            "tcp_connected": pending_connection(tcp),
            "abstract_connected": pending_connection(abstract),
            "site_files_written": [str(path) for path in site_files if path.exists()],
        }
    finally:
        sleeper.kill()
        sleeper.wait()
        tcp.close()
        abstract.close()
        for path in site_files:
            path.unlink(missing_ok=True)  # only if the sandbox failed: never leave a file in the shared installation
    return {"grading": grading, "outside": outside, "probes": grading.probes()}


def site_packages_files(marker: str) -> list[Path]:
    """Where ``probes_the_sandbox.py`` tries to put its ``.pth`` file, as seen from here."""
    import site

    folders = set(site.getsitepackages()) | {site.getusersitepackages()}
    folders |= {entry for entry in sys.path if entry.endswith(("site-packages", "dist-packages"))}
    return [Path(folder) / f"{marker}.pth" for folder in sorted(folders)]


def test_the_probing_file_is_graded_and_contained(probed):
    grading = probed["grading"]
    grading.assert_contained()
    assert set(probed["probes"]) == {"site_packages", "kit_folder", "tty", "grader_cwd_file", "other_processes_files",
                                     "capabilities", "see_outside", "signal_outside", "tcp_loopback",
                                     "abstract_socket", "survivors"}, grading.stdout


def test_learner_code_cannot_write_to_site_packages_or_the_kit(probed):
    probes = probed["probes"]
    for what in ("site_packages", "kit_folder"):
        assert probes[what].startswith("refused") and "Read-only file system" in probes[what], probes[what]
    assert probed["outside"]["site_files_written"] == []


def test_learner_code_cannot_open_a_terminal(probed):
    grading = probed["grading"]
    assert probed["probes"]["tty"].startswith("refused"), probed["probes"]["tty"]
    assert grading.typed == b""


def test_learner_code_cannot_see_or_signal_a_process_outside(probed):
    probes, outside = probed["probes"], probed["outside"]
    assert probes["see_outside"].startswith("refused"), probes["see_outside"]
    assert probes["signal_outside"].startswith("refused (No such process"), probes["signal_outside"]
    assert outside["sleeper_alive"] and outside["sleeper_state"] in ("S", "R"), outside
    assert outside["signals_caught"] == ""


def test_learner_code_holds_no_capability_and_cannot_open_the_judges_memory_or_files(probed):
    """The judge and the learner process share a user namespace the judge made (``processes.own_user_namespace``):
    the learner process gives up the capabilities it is born with there, so the kernel refuses it the judge's
    ``/proc`` files, as it refuses every other process's."""
    probes = probed["probes"]
    assert probes["capabilities"] == "refused (no capability held)", probes["capabilities"]
    assert probes["other_processes_files"].startswith("refused"), probes["other_processes_files"]


def test_learner_code_cannot_connect_to_listeners_outside(probed):
    probes, outside = probed["probes"], probed["outside"]
    assert probes["tcp_loopback"].startswith("refused"), probes["tcp_loopback"]
    assert probes["abstract_socket"].startswith("refused"), probes["abstract_socket"]
    assert not outside["tcp_connected"] and not outside["abstract_connected"]


def test_no_process_learner_code_started_outlives_the_grading(probed):
    assert probed["probes"]["survivors"] == "started 3"  # it did try
    assert probed["grading"].left_running == []


def test_learner_code_cannot_read_the_graders_current_folder(probed):
    """The instructor's current folder (a gradebook's, a home folder) is no business of learner code."""
    assert probed["probes"]["grader_cwd_file"].startswith("refused"), probed["probes"]["grader_cwd_file"]



# -- attack classes (issue 14, item 5) -----------------------------------------------------------------------

SANDBOX_ON_AND_OFF = [pytest.param(True, id="sandbox"), pytest.param(False, id="fallback")]


def require_sandbox_if(sandboxed: bool, request) -> None:
    """Gradings with the sandbox on need it (the ``sandbox`` fixture's rule); the fallback runs anywhere."""
    if sandboxed:
        request.getfixturevalue("sandbox")


def new_marker() -> str:
    return f"HOSTILE_MARKER_{uuid.uuid4().hex}"


def assert_no_check_passed(grading: Grading, exercise: int = 0) -> None:
    passed = [check_id for check_id, (status, _) in grading.statuses(exercise).items() if status == "passed"]
    assert passed == [], passed


@pytest.fixture(scope="module")
def memory_cgroup():
    """The memory cap that counts shared pages needs a cgroup; where none can be made it is not a cap (docs/security.md)."""
    from grader.sandbox.cgroup import Cgroup

    group = Cgroup.create()
    if group is None:
        if os.environ.get("KIT_REQUIRE_SANDBOX") == "1":
            pytest.fail("KIT_REQUIRE_SANDBOX=1, but no memory cgroup can be made here")
        pytest.skip("no memory and pids cgroup can be made here (cgroup v1, root): shared memory is not capped")
    group.remove()


@pytest.mark.parametrize("sandboxed", SANDBOX_ON_AND_OFF)
def test_shared_memory_and_memfd_pages_count_against_the_memory_limit(sandboxed, request, memory_cgroup, kit, tmp_path):
    """1 GiB of MAP_SHARED pages, then 1 GiB of memfd pages, with --memory-limit 300: both stopped, in time."""
    require_sandbox_if(sandboxed, request)
    grading = grade(kit, tmp_path, {EXERCISE_03: learner_source("holds_shared_memory")},
                    extra=("--memory-limit", "300"), sandbox=sandboxed)
    grading.assert_contained()
    statuses = grading.statuses()
    for check_id in ("train_step_returns_loss", "test_step_returns_loss"):
        status, message = statuses[check_id]
        assert status == "error" and "used too much memory" in message, (check_id, status, message)


def test_records_forged_through_proc_count_for_nobody_in_a_gradebook(sandbox, kit, tmp_path):
    """A learner graded after a correct one forges records into every pipe it can reopen: both keep their own grade."""
    marker = new_marker()
    files = {f"a_correct/{EXERCISE_03}": solution(),
             f"b_forger/{EXERCISE_03}": learner_source("forges_through_proc", marker=marker)}
    grading = grade(kit, tmp_path, files, gradebook=True, marker=marker)
    assert grading.returncode == 0, grading.stderr[-3000:]
    rows = grading.gradebook()
    assert float(rows["(max points)"]["total"]) == FULL_MARKS_03
    assert float(rows["a_correct"]["total"]) == FULL_MARKS_03, rows["a_correct"]
    assert float(rows["b_forger"]["total"]) == 0, rows["b_forger"]
    assert grading.left_running == [] and grading.changed == []
    assert grading.elapsed < TIME_BOUND_S


@pytest.mark.xfail(not learner_namespaces_possible(), strict=True, reason=(
    "fallback hole where user namespaces cannot be made: learner code (same user as the grader) reopens the "
    "report process's standard output through /proc/<pid>/fd/1 and writes a forged report ahead of the real one. "
    "In a user namespace of its own the kernel refuses that (opening another process's /proc fds needs the same "
    "user namespace, or CAP_SYS_PTRACE in the other's)"))
def test_records_forged_through_proc_count_for_nothing_in_the_fallback(kit, tmp_path):
    """Without the sandbox the forger can reopen the report process's own pipe; records without the secret still count for nothing."""
    marker = new_marker()
    grading = grade(kit, tmp_path, {EXERCISE_03: learner_source("forges_through_proc", marker=marker)},
                    sandbox=False, marker=marker)
    grading.assert_contained()
    assert grading.score()[0] == 0
    assert_no_check_passed(grading)


def site_files(marker: str) -> list[Path]:
    """Every file ``writes_pth_files.py`` tries to create, as seen from here."""
    import site
    import sysconfig

    folders = set(site.getsitepackages()) | {site.getusersitepackages()}
    folders |= {sysconfig.get_path(name) for name in ("purelib", "platlib")}
    folders |= {entry for entry in sys.path if entry.endswith(("site-packages", "dist-packages"))}
    names = (f"{marker}.pth", "sitecustomize.py", "usercustomize.py")
    return [Path(folder) / name for folder in sorted(folders) for name in names]


def planted_by(marker: str, paths: list[Path]) -> list[Path]:
    return [path for path in paths if path.is_file() and marker in path.read_text(errors="replace")]


def test_a_pth_file_never_reaches_the_installation(sandbox, kit, tmp_path):
    marker = new_marker()
    candidates = site_files(marker)
    try:
        grading = grade(kit, tmp_path / "first", {EXERCISE_03: learner_source("writes_pth_files", marker=marker)},
                        marker=marker)
        grading.assert_contained()
        assert planted_by(marker, candidates) == []
        stub = (KIT / "exercises" / EXERCISE_03).read_bytes()
        again = grade(kit, tmp_path / "again", {EXERCISE_03: stub}, marker=marker)
        assert {status for status, _ in again.statuses().values()} == {"not_started"}, again.statuses()
        assert "PTH_RAN" not in again.stdout + again.stderr
    finally:
        for path in planted_by(marker, candidates):
            path.unlink()  # only if the sandbox failed: never leave a file in the shared installation


def test_a_dependency_used_after_grading_is_unchanged(sandbox, kit, tmp_path):
    """rich draws the text report after grading: learner code cannot edit it."""
    import importlib.util

    marker = new_marker()
    rich_init = Path(importlib.util.find_spec("rich").origin)
    original = rich_init.read_bytes()
    try:
        grading = grade(kit, tmp_path, {EXERCISE_03: learner_source("edits_a_dependency", marker=marker)},
                        fmt="text", marker=marker)
        changed = rich_init.read_bytes() != original
    finally:
        if rich_init.read_bytes() != original:
            rich_init.write_bytes(original)  # only if the sandbox failed
    assert not changed, f"{rich_init} was changed by learner code"
    grading.assert_contained()
    assert grading.probes()["edit_rich"].startswith("refused (Read-only file system"), grading.probes()
    assert "EDITED_RICH" not in grading.stdout


@pytest.fixture(scope="module")
def terminal_attack(sandbox, kit, tmp_path_factory) -> tuple[Grading, str, str]:
    """``takes_the_terminal.py`` graded on a pseudo-terminal; the texts it tried to draw and to type."""
    marker = new_marker()
    forged, typed = f"FORGED REPORT {uuid.uuid4().hex}", f"echo TYPED_{uuid.uuid4().hex}"
    source = learner_source("takes_the_terminal", marker=marker, forged_reversed=forged[::-1], typed_reversed=typed[::-1])
    grading = grade(kit, tmp_path_factory.mktemp("terminal"), {EXERCISE_03: source}, fmt="text", terminal=True,
                    marker=marker)
    return grading, forged, typed


def test_learner_code_cannot_draw_on_or_type_into_the_terminal(terminal_attack):
    grading, forged, typed = terminal_attack
    grading.assert_contained()
    # Written to the learner's own output (its process can reach only that), the text is quoted in the report
    # as what "your code printed", on lines that start with a bar; anywhere else it would be drawn by the attack.
    drawn = [line for line in grading.screen.split(b"\n") if forged.encode() in line and "│ ".encode() not in line]
    assert drawn == [], drawn
    assert grading.typed == b"", f"typed into the terminal: {grading.typed!r}"
    assert typed.encode() not in grading.screen


def test_learner_output_cannot_drive_the_terminal(terminal_attack):
    grading, forged, _ = terminal_attack
    for sequence in (b"\x1b[2J", b"\x1b]0;", b"\x1b]52;"):
        assert sequence not in grading.screen, f"learner code's {sequence!r} reached the terminal"


def test_the_ci_environment_is_out_of_reach(sandbox, kit, tmp_path):
    """No GITHUB_* variable, token or BASH_ENV inside; $GITHUB_ENV and $GITHUB_OUTPUT unchanged, even at a guessed path."""
    marker = new_marker()
    runner = tmp_path / "runner"
    runner.mkdir()
    files = {name: runner / name.lower() for name in ("GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_PATH")}
    for path in files.values():
        path.write_text("KEPT=1\n")
    (runner / "bash_env.sh").write_text("")
    env = {**{name: str(path) for name, path in files.items()}, "BASH_ENV": str(runner / "bash_env.sh"),
           "GITHUB_TOKEN": "ghs_notarealtoken", "ACTIONS_RUNTIME_TOKEN": "notarealtoken", "GITHUB_ACTIONS": "true",
           "CI": "true", "RUNNER_TEMP": str(runner)}
    source = learner_source("abuses_ci_environment", marker=marker, guessed_paths=[str(p) for p in files.values()])
    grading = grade(kit, tmp_path, {EXERCISE_03: source}, fmt="text", env_extra=env, marker=marker)
    grading.assert_contained()
    probes = grading.probes()
    assert probes["environment"].startswith("refused"), probes["environment"]
    assert probes["github_files"].startswith("refused"), probes["github_files"]
    assert all(path.read_text() == "KEPT=1\n" for path in files.values())
    assert (runner / "bash_env.sh").read_text() == ""


def test_signals_to_every_visible_process_cost_only_the_learners_own_grade(sandbox, kit, tmp_path):
    """SIGSTOP, SIGINT and friends, SIGKILL to all it sees: one zygote serves every check, and the grader ends in time."""
    marker = new_marker()
    grading = grade(kit, tmp_path, {EXERCISE_03: learner_source("signals_every_process", marker=marker)},
                    marker=marker)
    grading.assert_contained()
    assert_no_check_passed(grading)
    told = {check_id: re.search(r"process 1 started at tick (\d+)", message)
            for check_id, (_, message) in grading.statuses().items()}
    assert all(told.values()), [check_id for check_id, found in told.items() if not found]
    assert len({found.group(1) for found in told.values()}) == 1, "the zygote was replaced during the grading"


REPORT_SIZE_LIMIT = 100_000  # bytes: a whole exercise's report is some 10 kB; a 40,000-line traceback is megabytes


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_a_20000_frame_traceback_keeps_the_report_small(fmt, grader_here, tmp_path):
    # What the report shows, so graded in the session's warm sandbox: a command of its own adds nothing here.
    learner = tmp_path / "learner"
    learner.mkdir()
    (learner / EXERCISE_03).write_bytes(learner_source("recurses_deeply"))
    process = grader_here("3", "--source", str(learner), "--format", fmt, "--timeout", TIMEOUT, "--seed", "5")
    assert process.returncode == 1, process.stderr[-3000:]
    assert len(process.stdout.encode()) < REPORT_SIZE_LIMIT, f"a report of {len(process.stdout.encode())} bytes"
    # The learner is told what their code raised (not that it ended the grading process).
    assert "ValueError: raised 20000 frames deep" in process.stdout, process.stdout[-3000:]
    assert (learner / EXERCISE_03).read_bytes() == learner_source("recurses_deeply")


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_a_lone_surrogate_in_a_message_is_reported_without_a_crash(fmt, sandbox, kit, tmp_path):
    grading = grade(kit, tmp_path, {EXERCISE_03: learner_source("lone_surrogate")}, fmt=fmt,
                    env_extra={"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PYTHONIOENCODING": "utf-8"})
    assert "Traceback" not in grading.stderr, grading.stderr[-3000:]
    grading.assert_contained()
    if fmt == "json":
        status, message = grading.statuses()["train_step_returns_loss"]
        assert status == "error" and "ValueError" in message, (status, message)


def test_a_correct_solution_saved_with_a_byte_order_mark_gets_full_marks(grade_warm, tmp_path):
    saved = b"\xef\xbb\xbf" + solution()
    (tmp_path / EXERCISE_03).write_bytes(saved)
    report, returncode = grade_warm("3", tmp_path / EXERCISE_03, seed=5, timeout=float(TIMEOUT))
    assert returncode == 0, report
    assert (report["score"], report["max_score"]) == (FULL_MARKS_03, FULL_MARKS_03)
    assert (tmp_path / EXERCISE_03).read_bytes() == saved


@pytest.mark.parametrize("sandboxed", SANDBOX_ON_AND_OFF)
def test_a_fork_bomb_ends_in_time_and_the_next_exercise_is_graded_in_full(sandboxed, request, kit, tmp_path):
    require_sandbox_if(sandboxed, request)
    marker = new_marker()
    exercise_01 = "exercise_01_data.py"
    files = {EXERCISE_03: learner_source("fork_bomb", marker=marker), exercise_01: solution(exercise_01)}
    grading = grade(kit, tmp_path, files, exercises=("3", "1"), sandbox=sandboxed, marker=marker)
    grading.assert_contained(full_marks=None)
    bomb, correct = grading.report()["exercises"]
    assert bomb["exercise"] == "exercise_03" and bomb["score"] < bomb["max_score"]
    assert correct["exercise"] == "exercise_01" and correct["score"] == correct["max_score"] > 0, grading.statuses(1)


def test_files_left_in_tmp_and_dev_shm_are_gone_for_the_next_child(sandbox, kit, tmp_path, request):
    marker = new_marker()
    leaver = learner_source("leaves_files_in_tmp", marker=marker)
    grading = grade(kit, tmp_path, {EXERCISE_03: leaver, "exercise_04_evaluation.py": leaver}, exercises=("3", "4"),
                    marker=marker)
    grading.assert_contained(full_marks=None)
    assert "LEFTOVERS" in grading.statuses(0)["test_step_returns_loss"][1]  # the control: it does leave files
    statuses = grading.statuses(1)  # exercise 04: a fresh grading child
    assert any(message.endswith("RuntimeError: no leftovers") for _, message in statuses.values()), statuses
    found = {check_id: message for check_id, (_, message) in statuses.items() if "LEFTOVERS" in message}
    assert found == {}, found


def test_a_learner_cannot_read_the_files_of_learners_graded_before_it(sandbox, kit, tmp_path, request):
    """In a gradebook every child is forked from one zygote: what it held for an earlier learner must not be in a later child's memory."""
    import hashlib

    other, own = uuid.uuid4().hex, uuid.uuid4().hex
    digest = lambda digits: hashlib.sha256(digits.encode()).hexdigest()  # noqa: E731
    reader = learner_source("reads_other_learners", prefix="OTHER_LEARNER_", digest=digest(other), own_digest=digest(own))
    files = {f"a_other/{EXERCISE_03}": solution() + f"\n# OTHER_LEARNER_{other} end\n".encode(),
             f"b_reader/{EXERCISE_03}": reader + f"\n# OTHER_LEARNER_{own} end\n".encode()}
    grading = grade(kit, tmp_path, files, gradebook=True)
    assert grading.returncode == 0, grading.stderr[-3000:]
    rows = grading.gradebook()
    assert float(rows["a_other"]["total"]) == FULL_MARKS_03
    assert grading.left_running == [] and grading.changed == [] and grading.elapsed < TIME_BOUND_S
    # The reader's test_step works only if it found its own file in memory (the control: its search works) ...
    assert float(rows["b_reader"]["exercise_03:test_step_returns_loss"]) == 1, rows["b_reader"]
    # ... and its train_step only if it found the other learner's.
    assert float(rows["b_reader"]["exercise_03:train_step_returns_loss"]) == 0, "it read the other learner's file"


def test_a_python_reached_through_a_link_grades_in_the_sandbox(sandbox, tmp_path):
    """The environment reached through a symbolic link, as from a linked home or project folder: the sandbox binds
    real paths only, so the zygote starts from the interpreter's real folder (``box.interpreter``)."""
    prefix = Path(sys.prefix)
    if not Path(sys.executable).is_relative_to(prefix):
        pytest.skip(f"{sys.executable} is not inside {prefix}")
    linked = tmp_path / "linked-env"
    linked.symlink_to(prefix.resolve(), target_is_directory=True)
    python = linked / Path(sys.executable).relative_to(prefix)
    process = subprocess.run([str(python), "-m", "grader", "00", "--solutions", "--format", "json"], cwd=KIT,
                             env={**os.environ, "PYTHONPATH": str(KIT)}, capture_output=True, text=True, timeout=240)
    report = json.loads(process.stdout)
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-2000:]
    assert report["score"] == report["max_score"] > 0 and report["sandbox"]["on"] is True
