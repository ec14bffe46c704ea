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

Every grading is checked the same way: a valid report, exit status 1, less than
full marks, an end within ``TIME_BOUND_S``, no process of it left running, and
nothing outside the sandbox changed (the grader's copy, the learner's folder,
the grader's current folder, its home). Gradings read by several tests are
made once per module.
"""

from __future__ import annotations

import base64
import csv
import fcntl
import io
import json
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import termios
import time
import tty
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from grader.sandbox import probe
from tests.conftest import KIT, survivors

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="bubblewrap and /proc are Linux only")

HOSTILE = Path(__file__).parent / "hostile"
TIMEOUT = "2"  # seconds per check: short, so the tests are quick
TIME_BOUND_S = 60  # the bound for one exercise with --timeout 10; ours is shorter and must fit too
PLANTED_LINE = "PLANTED: dict = {}  # the test fills this in"
EXERCISE_03 = "exercise_03_training.py"
FULL_MARKS_03 = 19.0
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
    """Every file below ``folder`` with its bytes (symbolic links as their target)."""
    files = {}
    for path in sorted(folder.rglob("*")):
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

    def statuses(self, exercise: int = 0) -> dict[str, tuple[str, str]]:
        return {check["id"]: (check["status"], check["message"]) for check in self.report()["exercises"][exercise]["checks"]}

    def assert_contained(self, full_marks: float = FULL_MARKS_03) -> None:
        """The assertions every hostile grading shares."""
        assert self.left_running == [], f"processes left running: {self.left_running}"
        assert self.returncode == 1, f"exit {self.returncode}: {self.stderr[-3000:]}"
        score, maximum = self.score()  # also: a valid report
        assert maximum == full_marks and score < maximum
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
          terminal: bool = False, marker: str | None = None) -> Grading:
    """Grade ``files`` (learner file name: bytes) with the real command line; see what it left.

    The grader runs with ``folder/cwd`` as its current folder and
    ``folder/home`` as its home; the learner's files are in ``folder/learner``.
    ``sandbox=False`` grades with ``KIT_SANDBOX=off`` (the fallback).
    """
    learner, cwd, home = folder / "learner", folder / "cwd", folder / "home"
    for path in (learner, cwd, home):
        path.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (learner / name).write_bytes(data)
    marker = marker or f"HOSTILE_MARKER_{uuid.uuid4().hex}"
    env = {**os.environ, "PYTHONPATH": str(kit), "HOME": str(home), "XDG_CACHE_HOME": str(folder / "cache"),
           marker: "1", **(env_extra or {})}
    env.pop("KIT_SANDBOX", None)
    if not sandbox:
        env["KIT_SANDBOX"] = "off"
    before = {"kit": tree(kit), "learner": tree(learner), "cwd": tree(cwd), "home": tree(home)}
    command = [sys.executable, "-m", "grader", *exercises, "--source", str(learner), "--timeout", TIMEOUT,
               "--seed", "5", *extra]
    if fmt != "text":
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
    time.sleep(1)  # what was killed at the end has time to go
    after = {"kit": tree(kit), "learner": tree(learner), "cwd": tree(cwd), "home": tree(home)}
    changed = [f"{place}/{name}" for place in before
               for name in sorted(set(before[place]) | set(after[place]))
               if before[place].get(name) != after[place].get(name)]
    return Grading(returncode, stdout, stderr, elapsed, left_running(marker, kit), changed, screen, typed, learner)


# -- properties of the sandbox (issue 14, item 2) ------------------------------------------------------------

OUTSIDE_SLEEPER = """
import pathlib, signal, sys, time
caught = pathlib.Path(sys.argv[1])
for number in (signal.SIGUSR1, signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(number, lambda n, frame: caught.write_text(signal.Signals(n).name))
time.sleep(600)
"""


def process_state(pid: int) -> str:
    """One letter: R running, S sleeping, T stopped, Z zombie..."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


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
            "sleeper_state": process_state(sleeper.pid) if sleeper.poll() is None else "gone",
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
    assert set(probed["probes"]) == {"site_packages", "kit_folder", "tty", "grader_cwd_file", "see_outside",
                                     "signal_outside", "tcp_loopback", "abstract_socket", "survivors"}, grading.stdout


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


def test_learner_code_cannot_connect_to_listeners_outside(probed):
    probes, outside = probed["probes"], probed["outside"]
    assert probes["tcp_loopback"].startswith("refused"), probes["tcp_loopback"]
    assert probes["abstract_socket"].startswith("refused"), probes["abstract_socket"]
    assert not outside["tcp_connected"] and not outside["abstract_connected"]


def test_no_process_learner_code_started_outlives_the_grading(probed):
    assert probed["probes"]["survivors"] == "started 3"  # it did try
    assert probed["grading"].left_running == []


@pytest.mark.xfail(strict=True, reason=(
    "hole: grader/sandbox/box.py read_only_paths() binds every sys.path entry into the sandbox, and "
    "`python -m grader` puts its current folder first on sys.path, so learner code reads (and can print into "
    "its own report) any file in the folder the grader runs from"))
def test_learner_code_cannot_read_the_graders_current_folder(probed):
    """The instructor's current folder (a gradebook's, a home folder) is no business of learner code."""
    assert probed["probes"]["grader_cwd_file"].startswith("refused"), probed["probes"]["grader_cwd_file"]

