"""A control group per sandbox: a memory cap that counts everything, and a process cap.

The kernel's memory controller charges a cgroup for every page its processes
own: heap, shared memory (``MAP_SHARED``), ``memfd`` and tmpfs files alike, so
none of them slips past the cap the way they slip past a resident-set
measurement. The pids controller bounds forks per sandbox, so one learner's
fork storm never fails another learner's grading.

Only cgroup v1 hierarchies are used (``/sys/fs/cgroup/memory`` and
``/sys/fs/cgroup/pids``), below the grader's own cgroup, which needs write
access there (root, as in CI and most autograder containers). Where they
cannot be made, ``Cgroup.create`` returns None and the sandbox falls back to
measuring its processes (see docs/security.md for what that bounds).
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "pids")
PREFIX = "pytorch-workflow-kit-"
PROCESS_CAP = 512  # threads count as tasks here; torch starts a few per process


def own_path(controller: str) -> str | None:
    """This process's cgroup in the v1 hierarchy of ``controller`` (``/`` or deeper), or None."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, names, path = line.split(":", 2)
        if controller in names.split(","):
            return path
    return None


def sweep(parent: Path) -> None:
    """Remove cgroups left by graders that are gone (one killed with SIGKILL cannot remove its own).

    Each name carries the pid of the grader that made it: a cgroup another
    running grader (or another job of this one) has just made is never touched.
    """
    for stale in parent.glob(f"{PREFIX}*"):
        owner = stale.name[len(PREFIX):].split("-")[0]
        if owner.isdigit() and Path(f"/proc/{owner}").exists():
            continue
        try:
            if not (stale / "cgroup.procs").read_text().split():
                stale.rmdir()
        except OSError:
            continue


class Cgroup:
    """One cgroup in each of the memory and pids hierarchies, made for one sandbox."""

    def __init__(self, folders: dict[str, Path]):
        self.folders = folders

    @classmethod
    def create(cls) -> Cgroup | None:
        """Make the cgroups, or return None where that is not possible here."""
        name = f"{PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}"
        folders: dict[str, Path] = {}
        for controller in CONTROLLERS:
            mine = own_path(controller)
            base = ROOT / controller
            if mine is None or not (base / "cgroup.procs").is_file():
                break
            parent = base / mine.lstrip("/")
            sweep(parent)
            folder = parent / name
            try:
                folder.mkdir()
            except OSError:
                break
            folders[controller] = folder
        group = cls(folders)
        if set(folders) != set(CONTROLLERS) or not group._write("pids", "pids.max", PROCESS_CAP):
            group.remove()
            return None
        return group

    def _write(self, controller: str, name: str, value) -> bool:
        try:
            (self.folders[controller] / name).write_text(str(value))
            return True
        except (OSError, KeyError):
            return False

    def _read(self, controller: str, name: str) -> str:
        try:
            return (self.folders[controller] / name).read_text()
        except (OSError, KeyError):
            return ""

    def enter_command(self) -> list[str]:
        """A prefix for a command line: the command joins these cgroups before it starts, so all it forks is inside."""
        joins = "; ".join(f'echo $$ > "{folder}/cgroup.procs"' for folder in self.folders.values())
        return ["/bin/sh", "-c", f'{joins} && exec "$@"', "sh"]

    def memory_used(self) -> int:
        text = self._read("memory", "memory.usage_in_bytes").strip()
        return int(text) if text.isdigit() else 0

    def limit_memory(self, limit: int) -> None:
        self._write("memory", "memory.limit_in_bytes", limit)

    def oom_kills(self) -> int:
        """How many processes the kernel has killed here for going over the memory cap."""
        for line in self._read("memory", "memory.oom_control").splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit():
                return int(value)
        return 0

    def remove(self) -> None:
        """Kill whatever is left inside, then remove the cgroups."""
        for folder in self.folders.values():
            for _ in range(200):
                try:
                    pids = [int(pid) for pid in (folder / "cgroup.procs").read_text().split()]
                except OSError:
                    pids = []
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.005)  # the killed processes are still exiting (a few ms: every grading waits here)
        self.folders = {}
