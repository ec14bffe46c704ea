"""Tries, from inside two checks, to reach out of the sandbox, and prints what it saw: one line per attempt.

Each line reads ``PROBE <what>: refused (...)`` when the attempt failed, or
``PROBE <what>: REACHED ...`` when it got through. The test fills ``PLANTED``
with what it set up outside the grader: a sleeping process to see and signal,
a TCP listener, an abstract unix socket, a file in the grader's current folder,
and the marker that the processes started here carry (to be found if they
outlive the grading).
"""
import glob
import os
import signal
import site
import socket
import subprocess
import sys
import time

PLANTED: dict = {}  # the test fills this in
probed = set()


def report(what, reached, refused):
    if reached:
        print(f"PROBE {what}: REACHED {'; '.join(reached)[:150]}")
    else:
        print(f"PROBE {what}: refused ({'; '.join(sorted(set(refused)))[:150]})")


def attempt(targets, action):
    """Run ``action`` on each target; the ones it reached, and why the others failed."""
    reached, refused = [], []
    for target in targets:
        try:
            action(target)
            reached.append(str(target))
        except OSError as exc:
            refused.append(exc.strerror or type(exc).__name__)
    return reached, refused or ["nothing to try"]


def create_file(path):
    with open(path, "x") as file:
        file.write("# written by a learner's code\n")


def site_packages():
    folders = set(site.getsitepackages()) | {site.getusersitepackages()}
    folders |= {entry for entry in sys.path if entry.endswith(("site-packages", "dist-packages"))}
    return [os.path.join(folder, PLANTED["marker"] + ".pth") for folder in sorted(folders)]


def kit_folder():
    import grader

    # Only the kit's grader package is in the sandbox (read-only); the checkout around it is not there at all,
    # and the test checks from outside that the real kit is unchanged.
    package = os.path.dirname(os.path.abspath(grader.__file__))
    return [os.path.join(package, PLANTED["marker"] + ".py"), os.path.join(package, "suites", PLANTED["marker"] + ".py")]


def terminals():
    found = ["/dev/tty", "/dev/console", *glob.glob("/dev/pts/[0-9]*"), *glob.glob("/dev/tty[0-9]*")]
    for fd in glob.glob("/proc/[0-9]*/fd/[0-2]"):
        try:
            if "/dev/" in os.readlink(fd) and "null" not in os.readlink(fd):
                found.append(fd)
        except OSError:
            pass
    return found


def open_terminal(path):
    os.close(os.open(path, os.O_RDWR | os.O_NOCTTY))


def other_processes_files():
    """The memory, environment and open files of every other process this one can list (the judge among them)."""
    own = os.readlink("/proc/self")  # its pid as /proc numbers it, which is not os.getpid() in a PID namespace
    paths = []
    for entry in glob.glob("/proc/[0-9]*"):
        if entry.rsplit("/", 1)[1] != own:
            paths += [f"{entry}/mem", f"{entry}/environ", *(f"{entry}/fd/{n}" for n in range(3, 8))]
    return paths


def read_one_byte(path):
    with open(path, "rb") as file:
        file.read(1)


def capabilities():
    with open("/proc/self/status") as status:
        sets = {line.split(":")[0]: line.split()[1] for line in status if line.startswith("Cap")}
    held = [name for name in ("CapEff", "CapPrm") if int(sets[name], 16)]
    return ([f"{name} {sets[name]}" for name in held], ["no capability held"])


def train_step(model, X, y, loss_fn, optimizer):
    if "files" not in probed:
        probed.add("files")
        report("site_packages", *attempt(site_packages(), create_file))
        report("kit_folder", *attempt(kit_folder(), create_file))
        report("tty", *attempt(terminals(), open_terminal))
        report("grader_cwd_file", *attempt([PLANTED["cwd_file"]], lambda path: open(path).read()))
        report("other_processes_files", *attempt(other_processes_files(), read_one_byte))
        report("capabilities", *capabilities())
    return None


def pids_with_marker():
    """Processes whose command line holds the marker of the sleeping process outside."""
    found = []
    for entry in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(entry, "rb") as file:
                if PLANTED["outside_marker"].encode() in file.read():
                    found.append(int(entry.split("/")[2]))
        except OSError:
            pass
    return found


def signal_outside(pid):
    os.kill(pid, signal.SIGUSR1)
    os.kill(pid, signal.SIGSTOP)


def connect_tcp(port):
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def connect_abstract(name):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(1)
        client.connect("\0" + name)


def start_survivors():
    env = {**os.environ, PLANTED["marker"]: "1"}
    sleeper = [sys.executable, "-c", "import time; time.sleep(600)"]
    subprocess.Popen(sleeper, env=env, start_new_session=True)
    subprocess.Popen(sleeper, env=env)
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execve(sys.executable, sleeper, env)
        os._exit(0)
    time.sleep(0.2)
    return 3


def test_step(model, X, y, loss_fn):
    if "processes" not in probed:
        probed.add("processes")
        seen = pids_with_marker()
        print(f"PROBE see_outside: {'REACHED ' + str(seen) if seen else 'refused (no such process here)'}")
        outside = sorted(set(seen) | {PLANTED["outside_pid"]})
        report("signal_outside", *attempt(outside, signal_outside))
        report("tcp_loopback", *attempt([PLANTED["tcp_port"]], connect_tcp))
        report("abstract_socket", *attempt([PLANTED["abstract_name"]], connect_abstract))
        print(f"PROBE survivors: started {start_survivors()}")
    return None


def fit(model, train, test, loss_fn, optimizer, epochs, eval_every=1):
    raise NotImplementedError("fit")


def plot_loss_curves(history):
    raise NotImplementedError("plot_loss_curves")
