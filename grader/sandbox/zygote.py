"""The zygote: the one process in the sandbox that the grader talks to.

It imports torch once and configures pytest once (``grader.child.start_session``),
then, inside that pytest session, forks a grading child (``grader.child.run``)
each time the grader asks, and says when that child has ended. It never runs learner
code itself. In the sandbox it is PID 1 of its own PID namespace, so learner
code can neither stop nor kill it (the kernel delivers no signal to a
namespace's init that it has not asked for), and it is not dumpable, so learner
code can neither read its memory nor open its file descriptors through
``/proc``. Before each child it empties ``/tmp`` and ``/dev/shm``: nothing one
learner leaves there reaches the next grading.

Started as ``python -I -B -c <bootstrap> CONTROL_FD WARM_UPS`` by ``grader.sandbox`` (``WARM_UPS``: the names of
what to import ahead beyond torch and pytest, separated by commas; see ``warm_imports``).
"""

from __future__ import annotations

import ctypes
import gc
import os
import resource
import shutil
import signal
import socket
import sys
from pathlib import Path

from grader import processes
from grader.sandbox import wire

PR_SET_DUMPABLE = 4
FILE_SIZE_LIMIT = 512 * 2**20  # the largest file learner code may write (a checkpoint is a few KiB)
OPEN_FILES_LIMIT = 1024
PROCESS_LIMIT = 512  # per sandbox: threads count too (torch starts a few)


def warm_imports(extras) -> None:
    """Import what every grading needs and the ``extras`` named (``WARM_UPS``), once, with the collector paused.

    Pausing the collector during large imports saves about a third of torch's
    import time; freezing what was imported keeps later collections (and every
    forked child's memory) from touching it again. There is no collection
    before the freeze: it would take 0.17 s of every sandbox's start to free
    the cycles the imports leave (about 11,000 objects of a 400 MB process),
    which the freeze keeps instead, as Python's documentation of
    ``gc.freeze`` advises before a fork. No tensor operation runs here: a child
    forked after a multi-threaded op can deadlock, and CUDA is never
    initialised here, so a child can use it. What only some exercises need
    (``extras``) is left out where none of the exercises to grade needs it: a
    child imports whatever it lacks itself.
    """
    gc.disable()
    import numpy  # noqa: F401
    import pytest  # noqa: F401
    import pytest_timeout  # noqa: F401
    import torch  # noqa: F401
    from _pytest.config import default_plugins

    for name in default_plugins:
        __import__(f"_pytest.{name}")
    keep_seeding_cheap()
    # What every child would otherwise import (and, without bytecode files, compile) for itself.
    import encodings.utf_8_sig  # noqa: F401 - reading the learner's file
    import pdb  # noqa: F401 - pytest's debugging plugin
    import readline  # noqa: F401 - pytest's capture plugin, at every start
    import _pytest._argcomplete  # noqa: F401 - pytest's command line parser, at every start
    import torch.utils.serialization  # noqa: F401 - torch.save and torch.load

    import grader.boundary.host  # noqa: F401 - the learner process
    import grader.checking  # noqa: F401 - the suites' helpers
    import grader.child  # noqa: F401
    import grader.integrity  # noqa: F401

    for name in extras:
        WARM_UPS[name]()
    gc.freeze()
    gc.enable()


def warm_plotting() -> None:
    """matplotlib with its drawing backend (0.4 s): for checks on Figures, and for learner files that import it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    from matplotlib.backends import backend_agg  # noqa: F401 - drawing a Figure


def warm_gradients() -> None:
    """What autograd imports the first time it is handed output gradients (torch's symbolic shapes, with sympy:
    0.2 s), as the judge's backward pass through a learner's forward pass does. Imported, not run: no tensor
    operation runs in the zygote (``warm_imports``)."""
    import torch.fx.experimental.symbolic_shapes  # noqa: F401 - see torch.autograd._make_grads
    import torch.nested._internal.nested_tensor  # noqa: F401


def warm_training() -> None:
    """Building the first optimizer imports ``torch._dynamo`` (0.7 s), which every training check would pay."""
    import torch

    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    import torch.profiler._cupti_monitor  # noqa: F401 - imported by the first optimizer step's record_function


# What only some exercises need, by the names grader.course uses (``Exercise.warm_up``).
WARM_UPS = {"plotting": warm_plotting, "gradients": warm_gradients, "training": warm_training}


def keep_seeding_cheap() -> None:
    """Make ``torch.manual_seed`` cost microseconds in every child, not a millisecond.

    For each accelerator backend not started yet (CUDA, XPU, MTIA), ``torch.manual_seed`` queues the seed
    together with the whole Python stack, formatted with each frame's source line, to explain a later
    failure to start that backend. Inside pytest that stack is deep, and checks seed often. The backends
    still get every seed; only that explanation is left empty.
    """
    import types

    no_stack = types.SimpleNamespace(format_stack=lambda *args, **kwargs: [])
    for name in ("torch.cuda", "torch.xpu", "torch.mtia"):
        module = sys.modules.get(name)
        if module is not None and hasattr(module, "traceback"):
            module.traceback = no_stack


def protect_myself(in_sandbox: bool) -> None:
    """Not dumpable; limits every learner process inherits; in the sandbox also a process cap."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    limits = [(resource.RLIMIT_FSIZE, FILE_SIZE_LIMIT), (resource.RLIMIT_NOFILE, OPEN_FILES_LIMIT)]
    if in_sandbox:
        # Inside the sandbox's own user namespace this counts the sandbox's processes only.
        limits.append((resource.RLIMIT_NPROC, PROCESS_LIMIT))
    for kind, value in limits:
        soft, hard = resource.getrlimit(kind)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        try:
            resource.setrlimit(kind, (value, value))
        except (ValueError, OSError):
            pass


def empty_folder(folder: str) -> None:
    """Remove everything inside ``folder``, however deep, except mount points (read-only binds of the host).

    bubblewrap makes the folders leading to a bind below /tmp on the writable
    tmpfs: whatever learner code leaves beside them is removed too.
    """
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if os.path.ismount(entry.path):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                empty_folder(entry.path)
                os.rmdir(entry.path)  # fails, as it should, where a mount point is below
            else:
                os.unlink(entry.path)
        except OSError:
            pass


def prepare_matplotlib(scratch: Path) -> None:
    """Give matplotlib a writable config folder holding the font cache the grader prepared.

    Without it matplotlib rebuilds the cache (seconds) or warns into the
    learner's output that it made a temporary folder.
    """
    config = scratch / "matplotlib"
    config.mkdir(parents=True, exist_ok=True)
    prepared = os.environ.get("KIT_MPL_CACHE")
    if prepared and Path(prepared).is_dir():
        for file in Path(prepared).glob("fontlist-*.json"):
            shutil.copy(file, config / file.name)
    os.environ["MPLCONFIGDIR"] = str(config)


def start_child(request: dict, fds: list[int], control: socket.socket, scratch: Path, session) -> int:
    """Fork a grading child for ``request``, in a copy of the pytest ``session``; returns its pid (in the parent)."""
    from grader import child
    from grader.learner import snapshot_from
    from grader.plugin import GradingSettings
    from grader.records import Channel

    record_w, output_w, *later = fds  # later: a pipe the learner's file will come on (watch mode's next grading)
    workdir = scratch / "work"
    settings = GradingSettings(
        snapshot=snapshot_from(request["file"], request["source"], request.get("cells")),
        source_fd=later[0] if later else None,
        missing_message=request["missing_message"],
        module_name=request["module"],
        device=request["device"],
        seed=request["seed"],
        channel=Channel(record_w, request["secret"]),
        only_ids=None if request["only_ids"] is None else frozenset(request["only_ids"]),
        hung=dict(request.get("hung", {})),
        short_limit=float(request.get("short_limit", 1.0)),
        timeout=float(request["timeout"]),
        suite_dir=str(workdir),  # where the suite and its helper modules are written
    )
    pid = os.fork()
    if pid == 0:
        try:
            signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C in learner code: KeyboardInterrupt
            control.close()
            workdir.mkdir(parents=True, exist_ok=True)
            suite = workdir / request["suite_name"]
            suite.write_text(request["suite_source"])
            for name, source in request.get("suite_helpers", {}).items():
                (workdir / Path(name).name).write_text(source)
            child.run(session, settings, suite, workdir, output_w, close_fds=[])
        finally:
            os._exit(1)  # never back into the zygote's loop, whatever happened above
    for fd in fds:
        os.close(fd)
    return pid


def wait_for(pid: int) -> int:
    """Wait for ``pid`` to end, reaping any orphan that ends meanwhile; its wait status."""
    while True:
        try:
            ended, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 0
        except InterruptedError:
            continue
        if ended == pid:
            return status


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    in_sandbox = os.getpid() == 1
    sys.dont_write_bytecode = True
    if not in_sandbox:
        processes.die_with_parent()
        processes.become_subreaper()  # orphans of learner code stay below us, where the grader finds them
    protect_myself(in_sandbox)
    if in_sandbox:
        # As PID 1 it gets only the signals it has a handler for: Python's own SIGINT handler would let
        # learner code raise KeyboardInterrupt in it. With the default action, nothing inside can stop it.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    scratch = Path(os.environ.get("TMPDIR", "/tmp"))
    prepare_matplotlib(scratch)
    asked = sys.argv[2].split(",") if len(sys.argv) > 2 else list(WARM_UPS)
    warm_imports([name for name in asked if name in WARM_UPS])
    from grader import child

    child.start_session(scratch / "work", lambda session: serve(session, control, scratch, in_sandbox))


def serve(session, control: socket.socket, scratch: Path, in_sandbox: bool) -> None:
    """Say the zygote is ready, then fork a grading child for each request, until the grader hangs up."""
    import torch

    gc.freeze()  # what configuring pytest made, as ``warm_imports`` does for the imports
    # With PYTORCH_NVML_BASED_CUDA_CHECK=1 asking does not initialise CUDA, so children can still use it.
    wire.send(control, {"type": "ready", "torch": torch.__version__, "cuda": torch.cuda.is_available()})
    while True:
        try:
            request, fds = wire.receive(control)
        except (wire.WireClosed, OSError):
            return
        if request.get("type") != "fork" or len(fds) not in (2, 3):
            for fd in fds:
                os.close(fd)
            continue
        processes.reap()  # orphans of the last child that ended meanwhile
        empty_folder(str(scratch))
        if in_sandbox:
            empty_folder("/dev/shm")
        pid = start_child(request, fds, control, scratch, session)
        wire.send(control, {"type": "exited", "status": wait_for(pid)})


if __name__ == "__main__":
    main()
