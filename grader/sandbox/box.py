"""Starting the zygote in a bubblewrap sandbox, and everything the grader does to it from outside.

What the sandboxed processes get (``bwrap_command``):

* their own user, PID, network, IPC, UTS and cgroup namespaces, no
  capabilities, and a non-root uid;
* a new session with no controlling terminal; standard streams are pipes;
* the host's files read-only, and only those they need: ``/usr`` and the other
  system folders, a few files of ``/etc``, the Python installation, its
  site-packages and the kit's grader package; writable only a size-bounded ``/tmp`` and
  ``/dev/shm`` of their own;
* an environment built from scratch (``sandbox_environment``);
* the GPU's device nodes, with ``--device cuda`` or ``auto`` on a machine that has them.

Where bubblewrap is missing or cannot make namespaces here (macOS, many
containers, hosts that restrict unprivileged user namespaces), the zygote runs
as a plain process with the grader's older defences, and the report says the
sandbox is off and why (``probe``).
"""

from __future__ import annotations

import functools
import os
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from grader import processes
from grader.sandbox import wire
from grader.sandbox.cgroup import Cgroup

KIT_ROOT = Path(__file__).resolve().parent.parent.parent
STARTUP_LIMIT_S = 120.0  # importing torch on a slow, busy machine
TMP_SIZE = 512 * 2**20
SHM_SIZE = 256 * 2**20
MEMORY_HEADROOM = 256 * 2**20  # the hard cap sits this far above the measured one, which ends a child first
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "nsswitch.conf")
SYSTEM_FOLDERS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
GPU_DEVICES = ("nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset")
NEVER_BOUND = {"/", "/tmp", "/dev", "/dev/shm", "/proc", "/sys", "/etc", "/root", "/home"}
INSIDE_UID = 1000  # any uid but 0: inside its own user namespace the learner is not root
DISABLE_VARIABLE = "KIT_SANDBOX"  # KIT_SANDBOX=off: grade without bubblewrap (an instructor's choice)


class SandboxFailed(Exception):
    """The zygote could not be started, or stopped answering."""


@dataclass(frozen=True)
class SandboxState:
    """Whether learner code runs inside bubblewrap, and if not, why not."""

    on: bool
    reason: str = ""
    memory_cap: str = ""
    """How memory is bounded: "cgroup" or "measured"."""


def sandbox_environment(tmp: str) -> dict[str, str]:
    """The sandbox's whole environment: nothing of the grader's (no tokens, no GITHUB_*, no BASH_ENV)."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": tmp,
        "TMPDIR": tmp,
        "USER": "learner",
        "LOGNAME": "learner",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
        "MPLBACKEND": "Agg",  # no display needed, and plt.show() never blocks
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",  # only the plugins the grader names
        "PYTORCH_NVML_BASED_CUDA_CHECK": "1",  # asking whether CUDA exists does not initialise it
        "OMP_NUM_THREADS": "1",  # checks use tiny tensors: one thread each is faster on a busy machine
    }
    for name in ("CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def read_only_paths() -> list[str]:
    """The host paths the sandbox sees, read-only: the Python installation, its packages and the kit."""
    # Of the kit, only its grader package: not its solutions, and not a class folder someone keeps inside it.
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, str(KIT_ROOT / "grader")}
    # Not sys.path[0], the current folder or a script's (it may be a class folder of learners), nor what
    # PYTHONPATH adds (the zygote runs with -I, which ignores it): only installed packages and the kit.
    added = {os.path.realpath(entry) for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry}
    paths.update(entry for entry in sys.path[1:]
                 if entry and os.path.isdir(entry) and os.path.realpath(entry) not in added)
    paths.add(str(Path(sys.executable).resolve().parent))
    # A package folder may be a link to another installation (as in a virtual environment made of links):
    # what it points to must be there too.
    for entry in list(paths):
        try:
            links = [item for item in os.scandir(entry) if item.is_symlink()]
        except OSError:
            continue
        paths.update(os.path.dirname(os.path.realpath(link.path)) for link in links)
    # Only the outermost of nested paths need binding; /usr covers whatever is below it.
    never = NEVER_BOUND | {os.path.realpath(KIT_ROOT)} if (KIT_ROOT / "exercises").is_dir() else NEVER_BOUND
    ordered = sorted({os.path.realpath(path) for path in paths} - never)
    kept: list[str] = []
    for path in ordered:
        if path.startswith("/usr/") or any(path == k or path.startswith(k + "/") for k in kept):
            continue
        kept.append(path)
    return kept


def interpreter() -> str:
    """This Python, by a path the sandbox has: its folder with links resolved (the sandbox binds real paths only),
    its own name kept (a virtual environment's ``python`` is a link to the base interpreter, and following it
    would leave the environment behind)."""
    return os.path.join(os.path.realpath(os.path.dirname(sys.executable)), os.path.basename(sys.executable))


def gpu_device_nodes() -> list[str]:
    nodes = [f"/dev/{name}" for name in GPU_DEVICES if os.path.exists(f"/dev/{name}")]
    nodes += sorted(str(path) for path in Path("/dev").glob("nvidia[0-9]*"))
    return nodes


def bwrap_command(bwrap: str, gpu: bool, mpl_cache: Path | None) -> list[str]:
    """bubblewrap's command line for the zygote's sandbox (the command itself follows)."""
    command = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--as-pid-1",
               "--uid", str(INSIDE_UID), "--gid", str(INSIDE_UID), "--cap-drop", "ALL"]
    for folder in SYSTEM_FOLDERS:
        if os.path.islink(folder):
            command += ["--symlink", os.readlink(folder), folder]
        elif os.path.isdir(folder):
            command += ["--ro-bind", folder, folder]
    for name in ETC_FILES:
        if os.path.exists(f"/etc/{name}"):
            command += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    # The private /tmp comes before the binds: a kit or a Python installed below /tmp stays visible.
    command += ["--proc", "/proc", "--dev", "/dev",
                "--size", str(TMP_SIZE), "--tmpfs", "/tmp",
                "--size", str(SHM_SIZE), "--tmpfs", "/dev/shm"]
    for path in read_only_paths():
        command += ["--ro-bind", path, path]
    if mpl_cache is not None:
        command += ["--ro-bind", str(mpl_cache), "/opt/kit-matplotlib"]
    if gpu:
        for node in gpu_device_nodes():
            command += ["--dev-bind", node, node]
        if os.path.isdir("/sys"):
            command += ["--ro-bind", "/sys", "/sys"]  # the CUDA driver reads the PCI topology there
    # Everything bubblewrap made itself (/, the folders above each bind) read-only: the folders above the kit
    # are on every sandboxed process's import path, and a module planted there would run in the judge.
    command += ["--remount-ro", "/", "--chdir", "/tmp", "--clearenv"]
    env = sandbox_environment("/tmp")
    if mpl_cache is not None:
        env["KIT_MPL_CACHE"] = "/opt/kit-matplotlib"
    for key, value in env.items():
        command += ["--setenv", key, value]
    return command + ["--"]


def once_per_process(function):
    """``function`` run once, its answer kept: the lanes start their sandboxes at once, and those that ask while
    it runs wait for its answer instead of running it again."""
    cached, lock = functools.lru_cache(maxsize=1)(function), threading.Lock()

    @functools.wraps(function)
    def wrapper():
        with lock:
            return cached()

    return wrapper


@once_per_process
def probe() -> SandboxState:
    """Whether bubblewrap can make the sandbox here; the reason when it cannot."""
    if os.environ.get(DISABLE_VARIABLE, "").lower() in ("0", "off", "no", "false"):
        return SandboxState(False, f"turned off by {DISABLE_VARIABLE}={os.environ[DISABLE_VARIABLE]}")
    if not sys.platform.startswith("linux"):
        return SandboxState(False, f"bubblewrap needs Linux, and this is {sys.platform}")
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return SandboxState(False, "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)")
    try:
        trial = subprocess.run([*bwrap_command(bwrap, False, None), "/bin/true"],
                               capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return SandboxState(False, f"bubblewrap could not run: {exc}")
    if trial.returncode != 0:
        said = (trial.stderr.strip().splitlines() or ["no message"])[-1]
        return SandboxState(False, f"bubblewrap cannot make a sandbox here ({said}); "
                                   "user namespaces may be restricted: see docs/security.md")
    return SandboxState(True)


def matplotlib_cache() -> Path | None:
    """A folder holding matplotlib's font cache, built once (without torch) and kept with the grader's cache."""
    from grader.files import cache_folder

    folder = cache_folder() / "matplotlib"
    if list(folder.glob("fontlist-*.json")):
        return folder
    try:
        folder.mkdir(parents=True, exist_ok=True)
        env = {"MPLCONFIGDIR": str(folder), "MPLBACKEND": "Agg", "PATH": os.environ.get("PATH", "")}
        subprocess.run([sys.executable, "-I", "-c", "import matplotlib.font_manager"], env=env,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return folder if list(folder.glob("fontlist-*.json")) else None


@once_per_process
def compile_grader() -> None:
    """Write the grader package's bytecode where it is missing or stale, as pip does when it installs a package.

    The zygote's Python writes nothing (``-B``, on a read-only kit), so without it every sandbox would compile
    the grader's modules anew (a tenth of a second each start), and so would every run where Python is told
    not to write bytecode (``PYTHONDONTWRITEBYTECODE``). The suites are left out: the judge imports its copy.
    Where the kit's folder is read-only (an installed kit), there is nothing to do: pip compiled it.
    """
    import compileall
    import re

    try:
        compileall.compile_dir(str(KIT_ROOT / "grader"), quiet=2, rx=re.compile(r"[/\\]suites[/\\]"))
    except OSError:
        pass


class Sandbox:
    """The zygote, started in the sandbox (or, where there is none, as a plain process), and its control socket."""

    def __init__(self, device: str, warm_up=()):
        self.device = device
        self.warm_up = sorted(warm_up)  # what the zygote imports ahead beyond torch and pytest (Exercise.warm_up)
        self.state = probe()
        self.process: subprocess.Popen | None = None
        self.control: socket.socket | None = None
        self.zygote_pid = 0
        self.cgroup: Cgroup | None = None
        self.scratch: str | None = None  # without bubblewrap: the zygote's TMPDIR, made and removed here
        self.stderr = tempfile.TemporaryFile()
        self.ready: dict = {}
        self.memory_baseline = 0

    # -- start and stop -----------------------------------------------------

    def start(self) -> dict:
        """Start the zygote and wait until it has imported torch; its "ready" message."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        bootstrap = (f"import sys; sys.path.insert(0, {str(KIT_ROOT)!r}); "
                     "from grader.sandbox.zygote import main; main()")
        python = [interpreter(), "-I", "-B", "-c", bootstrap, str(theirs.fileno()), ",".join(self.warm_up)]
        mpl_cache = matplotlib_cache()
        compile_grader()
        self.cgroup = Cgroup.create() if sys.platform.startswith("linux") else None
        prefix = self.cgroup.enter_command() if self.cgroup else []
        if self.state.on:
            gpu = self.device != "cpu" and bool(gpu_device_nodes())
            command = [*prefix, *bwrap_command(shutil.which("bwrap"), gpu, mpl_cache), *python]
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
            cwd = "/"
        else:
            self.scratch = tempfile.mkdtemp(prefix="grader-")
            command = [*prefix, *python]
            env = sandbox_environment(self.scratch)
            if mpl_cache is not None:
                env["KIT_MPL_CACHE"] = str(mpl_cache)
            cwd = self.scratch
        self.state = SandboxState(self.state.on, self.state.reason, "cgroup" if self.cgroup else "measured")
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=self.stderr, pass_fds=(theirs.fileno(),), env=env, cwd=cwd,
                                        start_new_session=True)
        theirs.close()
        self.control = ours
        try:
            message = self.wait_for_message(STARTUP_LIMIT_S)
        except SandboxFailed:
            self.close()
            raise
        if message.get("type") != "ready":
            self.close()
            raise SandboxFailed("the grader's worker did not start")
        self.ready = message
        self.zygote_pid = self.find_zygote()
        if self.cgroup:
            self.memory_baseline = self.cgroup.memory_used()
        return message

    def find_zygote(self) -> int:
        """The zygote's pid on the host: bubblewrap's one child, or the process itself without bubblewrap."""
        if not self.state.on:
            return self.process.pid
        children = [pid for pid, parent in processes.parents().items() if parent == self.process.pid]
        return children[0] if children else self.process.pid

    def limit_memory(self, memory_bytes: int) -> None:
        """The kernel's hard cap: the zygote's own memory, the learner's allowance, and some headroom."""
        if self.cgroup:
            self.cgroup.limit_memory(self.memory_baseline + memory_bytes + MEMORY_HEADROOM)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None and self.control is not None

    def last_words(self) -> str:
        """The last line the zygote wrote to its standard error, if any."""
        if self.stderr.closed:
            return ""
        self.stderr.seek(0)
        lines = self.stderr.read()[-4000:].decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else ""

    def close(self) -> None:
        """Stop the zygote and everything in the sandbox; remove what was made for it."""
        if self.control is not None:
            self.control.close()
            self.control = None
        self.end_learner_processes()  # first: without bubblewrap, they would outlive the zygote
        if self.process is not None:
            for pid in (self.zygote_pid, self.process.pid):
                if pid:
                    try:
                        os.kill(pid, 9)
                    except OSError:
                        pass
            try:
                os.killpg(self.process.pid, 9)
            except OSError:
                pass
            self.process.wait()
            self.process = None
        self.zygote_pid = 0
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None
        self.stderr.close()

    # -- one child ----------------------------------------------------------

    def fork(self, request: dict, source_later: bool = False) -> tuple[int, ...]:
        """Ask the zygote for a grading child; the read ends of its record and output pipes.

        ``source_later``: the child loads its suite and then waits for the learner's file, which goes
        down the pipe whose write end comes third (see ``plugin.wait_for_source``).
        """
        record_r, record_w = os.pipe()
        output_r, output_w = os.pipe()
        source_r, source_w = os.pipe() if source_later else (None, None)
        theirs = [fd for fd in (record_w, output_w, source_r) if fd is not None]
        try:
            wire.send(self.control, {**request, "type": "fork"}, theirs)
        except OSError:
            for fd in (record_r, output_r, source_w):
                if fd is not None:
                    os.close(fd)
            raise SandboxFailed("the grader's worker stopped answering") from None
        finally:
            for fd in theirs:
                os.close(fd)
        return (record_r, output_r, source_w) if source_later else (record_r, output_r)

    def wait_for_message(self, limit: float) -> dict:
        """The zygote's next message within ``limit`` seconds; SandboxFailed when it is gone or silent."""
        selector = selectors.DefaultSelector()
        selector.register(self.control, selectors.EVENT_READ)
        try:
            if not selector.select(timeout=limit):
                raise SandboxFailed(f"the grader's worker was silent for {limit:g} s")
        finally:
            selector.close()
        return self.read_message()

    def read_message(self) -> dict:
        """The message that is waiting on the control socket; SandboxFailed when the zygote is gone."""
        try:
            message, fds = wire.receive(self.control)
        except (wire.WireClosed, OSError) as exc:
            words = self.last_words()
            raise SandboxFailed("the grader's worker ended unexpectedly" + (f" ({words})" if words else "")) from exc
        for fd in fds:
            os.close(fd)
        return message

    def learner_pids(self, living: bool = False) -> list[int]:
        """Every process below the zygote: the grading child and whatever learner code started (``living``: only
        those that have not ended; see ``processes.descendants``)."""
        return processes.descendants(self.zygote_pid, living) if self.zygote_pid else []

    def end_learner_processes(self) -> None:
        """Kill every process below the zygote, and wait until none is left running.

        The zygote reaps them: the grading child as it ends, and an orphan that ends after it (the learner
        process, often) before the zygote's next fork. Such a zombie is not waited for here: it runs nothing
        and holds no memory, and waiting would last the whole loop (0.1 s, in about a third of gradings).
        """
        for attempt in range(30):
            pids = self.learner_pids(living=True)
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, 9)
                except OSError:
                    pass
            # A killed process is usually gone within a few milliseconds; every grading waits for this.
            time.sleep(0.001 if attempt < 10 else 0.005)

    def memory_used(self) -> int:
        """Memory the learner's processes hold now: the cgroup's count, or their measured resident memory."""
        if self.cgroup:
            return self.cgroup.memory_used()
        return processes.private_bytes(self.learner_pids())

    def oom_kills(self) -> int:
        return self.cgroup.oom_kills() if self.cgroup else 0
