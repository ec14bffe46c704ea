"""Stops, interrupts and kills every process it can see but itself: the grader must still end, in time, with a report.

``train_step`` sends ``SIGSTOP``, ``test_step`` ``SIGKILL``, ``fit`` both, and
``plot_loss_curves`` every catchable signal that ends or interrupts a process
too (``SIGINT`` raises KeyboardInterrupt in a Python process that keeps
Python's default handler). Each then raises an error that names the start time
of process 1 (in the sandbox, the zygote), so the report shows whether the
same zygote served every check. Restraint, so that a broken sandbox never
freezes the machine the kit's tests run on: where it sees many processes (no
PID namespace), it signals only those whose environment holds the test's
marker (the test's own grader).
"""
import os
import signal
import time

PLANTED: dict = {}  # the test fills this in
MANY = 64
INTERRUPTING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2,
                signal.SIGALRM, signal.SIGPIPE, signal.SIGCHLD, signal.SIGCONT)


def has_marker(pid: str) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as file:
            return PLANTED["marker"].encode() in file.read()
    except OSError:
        return False


def others() -> list[int]:
    pids = [entry for entry in os.listdir("/proc") if entry.isdigit() and entry != str(os.getpid())]
    if len(pids) > MANY:
        pids = [pid for pid in pids if has_marker(pid)]
    return [int(pid) for pid in pids]


def send_then_tell(numbers):
    for pid in others():
        for number in numbers:
            try:
                os.kill(pid, number)
            except OSError:
                pass
    time.sleep(0.3)
    with open("/proc/1/stat") as file:
        started = file.read().rsplit(")", 1)[1].split()[19]
    raise RuntimeError(f"process 1 started at tick {started}")


def train_step(model, X, y, loss_fn, optimizer):
    send_then_tell([signal.SIGSTOP])


def test_step(model, X, y, loss_fn):
    send_then_tell([signal.SIGKILL])


def fit(model, train, test, loss_fn, optimizer, epochs, eval_every=1):
    send_then_tell([signal.SIGSTOP, signal.SIGKILL])


def plot_loss_curves(history):
    send_then_tell([signal.SIGSTOP, *INTERRUPTING, signal.SIGKILL])
