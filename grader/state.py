"""The progress state: the last result of each exercise, so ``python -m grader`` answers at once.

Every grading from the command line stores each exercise's result here, with a
key made of everything that can change a verdict: the learner file's content,
the suite's content, the grader's own code, the device asked for (and whether
this machine has a GPU), the torch version, the Python version and the time
limits. The progress overview grades again only the exercises whose key
changed; the rest come from this file, without starting torch.

The file lives in the grader's cache folder (``~/.cache/pytorch-workflow-kit``
or ``$XDG_CACHE_HOME``), one per folder of learner files: never in the
learner's folder or repository. It is only a cache: a missing or damaged file
means "grade again", never an error.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import platform
from pathlib import Path

from grader.files import cache_folder, read_or_none, written_whole
from grader.results import ExerciseResult
from grader.runner import Task

STATE_FORMAT = 1
GRADER_PACKAGE = Path(__file__).resolve().parent


def digest(*parts: bytes) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(len(part).to_bytes(8, "big"))  # lengths keep ("ab", "c") apart from ("a", "bc")
        hasher.update(part)
    return hasher.hexdigest()


def read_or_empty(path: Path) -> bytes:
    data = read_or_none(path)
    return b"<missing>" if data is None else data


def torch_version() -> bytes:
    """The installed torch's build, as its ``torch/version.py`` says it (version and git commit), found without
    importing torch (a second) or reading every installed package's metadata (20 ms before the sandbox starts)."""
    try:
        spec = importlib.util.find_spec("torch")
        return Path(spec.origin).with_name("version.py").read_bytes()
    except (ImportError, ValueError, TypeError, AttributeError, OSError):
        return b"none"


def machine_fingerprint(device: str) -> str:
    """What decides where ``device`` runs: for ``auto``, whether an NVIDIA GPU is visible."""
    if device != "auto":
        return device
    has_gpu = os.path.exists("/dev/nvidiactl") and os.environ.get("CUDA_VISIBLE_DEVICES") not in ("", "-1")
    return f"auto:{'gpu' if has_gpu else 'no-gpu'}"


class ProgressState:
    """The stored results for one folder of learner files, under the grading settings given."""

    def __init__(self, source: Path, device: str, timeout: float, memory_mib: int):
        folder_key = digest(str(source.resolve()).encode())[:16]
        self.path = cache_folder() / "progress" / f"{folder_key}.json"
        # All of the grader's code, its packages too: a change to a helper in grader.checking can change a verdict.
        grader_code = b"".join(read_or_empty(path) for path in sorted(GRADER_PACKAGE.rglob("*.py")))
        self.settings = digest(grader_code, machine_fingerprint(device).encode(), torch_version(),
                               platform.python_version().encode(), repr((timeout, memory_mib)).encode())
        self.entries = self.load()

    def load(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return data["exercises"] if data.get("format") == STATE_FORMAT else {}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {}

    def key(self, task: Task) -> str:
        return digest(self.settings.encode(), read_or_empty(task.file), read_or_empty(task.suite))

    def cached(self, task: Task) -> ExerciseResult | None:
        """The stored result of ``task``, if nothing that could change it has changed."""
        entry = self.entries.get(task.exercise.name)
        if not entry or entry.get("key") != self.key(task):
            return None
        try:
            return ExerciseResult.from_dict(entry["result"])
        except (KeyError, TypeError, ValueError):
            return None

    def last_duration(self, task: Task) -> float | None:
        """How long ``task``'s exercise took when it was last graded here, whatever has changed since."""
        entry = self.entries.get(task.exercise.name)
        try:
            seconds = float(entry["result"]["duration_s"])
        except (TypeError, KeyError, ValueError):
            return None
        return seconds if seconds >= 0 else None

    def store(self, graded: list[tuple[str, Task, ExerciseResult]]) -> None:
        """Remember these results, each under the key taken *before* it was graded.

        (A key taken afterwards could pair an edit saved during the grading with
        the verdict on the version before it.) The file is replaced whole, so a
        reader never sees half of it.
        """
        for key, task, result in graded:
            if result.lost or any(check.lost for check in result.checks):
                continue  # the grader itself failed: nothing worth remembering
            self.entries[task.exercise.name] = {"key": key, "result": result.to_dict()}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with written_whole(self.path, encoding="utf-8") as file:
                # dumps, not dump: only a one-shot encoding uses json's C encoder (10 ms of --all's end).
                file.write(json.dumps({"format": STATE_FORMAT, "exercises": self.entries}))
        except OSError:
            pass  # a cache that cannot be written only costs time on the next run
