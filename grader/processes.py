"""Finding, measuring and ending the processes learner code starts.

On Linux the supervisor makes itself a "child subreaper": a process orphaned
below it (even one that called ``setsid()`` to leave its process group) is
re-parented to the supervisor instead of to init, so walking the process tree
down from the supervisor finds everything learner code started. The tree is
read from ``/proc``; resident memory is read there too (never an address-space
limit, which breaks CUDA: its memory pools reserve far more than they use).

Elsewhere (macOS, other Unixes) only the child's process group is killed and
memory is not capped: ``MEMORY_CAP_AVAILABLE`` says which.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PROC = "/proc"
PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
MEMORY_CAP_AVAILABLE = sys.platform.startswith("linux") and os.path.isdir(PROC)


def become_subreaper() -> bool:
    """Adopt orphaned descendants (Linux only); True when it worked."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def die_with_parent() -> None:
    """Be killed the moment the parent process dies, however it dies (Linux only).

    Without this, a grading child whose supervisor was killed from outside
    (say by ``timeout``) would run on, orphaned, in a loop the learner wrote.
    """
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


CLONE_NEWUSER, CLONE_NEWPID = 0x10000000, 0x20000000


_own_user_namespace = False  # set by own_user_namespace: this process may make PID namespaces


def own_user_namespace() -> bool:
    """Move this process into a user namespace of its own, this user mapped to itself (the only way to make PID
    namespaces without privileges: ``pid_namespace_for_children``).

    Only a single-threaded process can, so the judge does it as it starts. False where the system does not
    allow it (restricted user namespaces, macOS); nothing changed then.
    """
    global _own_user_namespace
    if not sys.platform.startswith("linux"):
        return False
    uid, gid = os.getuid(), os.getgid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(CLONE_NEWUSER) != 0:
            return False
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as file:
                file.write(text)
    except OSError:
        return False
    _own_user_namespace = True
    return True


def pid_namespace_for_children() -> bool:
    """Have this process's next child start a PID namespace of its own, as its PID 1; False where this process
    has no user namespace of its own (``own_user_namespace``) or the system refuses.

    Every later child of this process is born in that namespace too, until the next call: once its PID 1 has
    ended, a fork fails there (ENOMEM).
    """
    if not _own_user_namespace:
        return False
    try:
        return ctypes.CDLL(None, use_errno=True).unshare(CLONE_NEWPID) == 0
    except (OSError, AttributeError):
        return False


class _CapabilityHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapabilitySets(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


CAPABILITY_VERSION_3 = 0x20080522  # two sets of 32 bits each
PR_SET_NO_NEW_PRIVS = 38


def drop_capabilities() -> bool:
    """Give up every capability, for good (no program run later gains any), and say whether that worked.

    A child of a process that made its own user namespace is born with every capability there; without them
    it can neither trace the judge nor open its ``/proc/<pid>`` files, though both share that namespace.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        none = (_CapabilitySets * 2)()
        return libc.capset(ctypes.byref(_CapabilityHeader(CAPABILITY_VERSION_3, 0)), none) == 0
    except (OSError, AttributeError):
        return False


ENDED = ("Z", "X")  # states of a process that has ended: a zombie (not reaped yet) and one being removed


def stat_fields(pid: int | str) -> list[bytes] | None:
    """The fields of ``/proc/PID/stat`` after the command name (state first, then the parent pid...); None when
    the process is gone."""
    try:
        with open(f"{PROC}/{pid}/stat", "rb") as stat:
            # The command name is in parentheses and may hold spaces: split after its closing one.
            return stat.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None


def state(pid: int) -> str:
    """One letter: R running, S sleeping, T stopped, Z ended but not reaped yet...; "" when the process is gone."""
    fields = stat_fields(pid)
    return fields[0].decode("ascii", errors="replace") if fields else ""


def process_table() -> dict[int, tuple[int, str]]:
    """``{pid: (parent pid, state)}`` for every process on the machine (Linux); the state as ``state`` gives it."""
    table = {}
    for name in os.listdir(PROC):
        fields = stat_fields(name) if name.isdigit() else None
        if fields:
            table[int(name)] = (int(fields[1]), fields[0].decode("ascii", errors="replace"))
    return table


def parents() -> dict[int, int]:
    """``{pid: parent pid}`` for every process on the machine (Linux)."""
    return {pid: parent for pid, (parent, _) in process_table().items()}


def descendants(root: int, living: bool = False) -> list[int]:
    """Every process below ``root`` in the process tree (Linux; elsewhere an empty list).

    ``living``: only those that have not ended. A zombie runs nothing and holds no memory; it is only waiting
    for its parent to collect its exit status. The tree is walked down from ``root`` through the kernel's list
    of each thread's children where it keeps one; otherwise every process on the machine is read (1.5 ms with
    a hundred processes, and the grader asks after every exercise).
    """
    if not MEMORY_CAP_AVAILABLE:
        return []
    if not CHILDREN_LISTED:
        table = process_table()
        children: dict[int, list[int]] = {}
        for pid, (parent, _) in table.items():
            children.setdefault(parent, []).append(pid)
        found = below(root, lambda pid: children.get(pid, []))
        return [pid for pid in found if not living or table[pid][1] not in ENDED]
    found = below(root, children_of)
    return [pid for pid in found if not living or state(pid) not in ("", *ENDED)]


def below(root: int, children) -> list[int]:
    """Every process below ``root``, given ``children(pid)``."""
    found, stack = [], list(children(root))
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children(pid))
    return found


CHILDREN_LISTED = MEMORY_CAP_AVAILABLE and os.path.exists(f"{PROC}/thread-self/children")


def children_of(pid: int) -> list[int]:
    """The children of ``pid``: of each of its threads (a child belongs to the thread that forked it)."""
    try:
        threads = os.listdir(f"{PROC}/{pid}/task")
    except OSError:
        return []  # ended meanwhile
    found = []
    for thread in threads:
        try:
            with open(f"{PROC}/{pid}/task/{thread}/children", "rb") as listed:
                found.extend(int(child) for child in listed.read().split())
        except (OSError, ValueError):
            continue
    return found


def private_bytes(pids: list[int]) -> int:
    """The resident memory of ``pids`` that is not backed by files, added up (Linux).

    Anonymous pages (heaps, tensors) and shared-memory pages they have mapped
    (``MAP_SHARED``, ``/dev/shm``, ``memfd``) count; pages of files on disk
    (torch's libraries, shared by every forked child) do not, so a child that
    merely exists costs nothing. Pages shared between processes are counted
    once per process: an overestimate, never an underestimate.
    """
    total = 0
    for pid in pids:
        try:
            with open(f"{PROC}/{pid}/status", "rb") as status:
                for line in status:
                    if line.startswith((b"RssAnon:", b"RssShmem:")):
                        total += int(line.split()[1]) * 1024
        except (OSError, IndexError, ValueError):
            continue
    return total


def kill_group(pid: int) -> None:
    """Kill ``pid``'s process group (the child and whatever it started without leaving the group)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def end_everything_below(root: int) -> None:
    """Kill every descendant of ``root`` and reap the ones that were its children."""
    for _ in range(10):  # a process may fork while we look: look again until nothing is left
        pids = descendants(root)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        reap()
    reap()


def reap() -> None:
    """Collect every finished child (adopted orphans included), so none is left a zombie."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
