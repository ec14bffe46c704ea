"""Keeping the grader's files as they were where there is no sandbox to keep them read-only.

``FileGuard`` remembers every file of the grader (and of the suites in use)
before any learner code runs, where there is no sandbox to keep them
read-only. After each grading child it looks again: a changed, added or
deleted file is put back as it was and reported, so the checks that ran
alongside count as errors ("the grader's files were tampered with"), and the
next run is not affected either.

Functions in memory need no guard: learner code runs in a process of its own,
and the checks in a judge process it cannot reach (``grader.boundary``).
What the file guard cannot stop is written in docs/security.md.
"""

from __future__ import annotations

from pathlib import Path

class FileGuard:
    """The grader's own files and the suites in use, remembered byte for byte.

    Only what a grading depends on is guarded: the grader's modules (not the
    other exercises' suites, which their authors may be editing) and the
    suites in use. Bytecode in the grader's ``__pycache__`` may be written by
    another grading running at the same time, so it is judged by content: a
    ``.pyc`` that is not the compilation of its source is planted, and removed.
    """

    def __init__(self, package: Path, suites: list[Path]):
        self.package = package
        self.folders = [package, *(folder for folder in package.iterdir()
                                   if (folder / "__init__.py").is_file() and folder.name != "suites")]
        self.guarded = sorted([*(path for folder in self.folders for path in folder.glob("*.py")),
                               *package.glob("*.ini"), *package.glob("*.json"), *suites])
        self.saved = {path: path.read_bytes() for path in self.guarded}
        self.known = set(self._package_files())

    def _package_files(self) -> list[Path]:
        return [path for folder in self.folders for path in folder.iterdir() if path.is_file()]

    def restore(self) -> list[str]:
        """Put back changed or deleted files, remove planted ones; return their names (empty if untouched)."""
        tampered = []
        for path, data in self.saved.items():
            try:
                same = path.read_bytes() == data
            except OSError:
                same = False
            if not same:
                tampered.append(path.name)
                path.write_bytes(data)
        for path in set(self._package_files()) - self.known:
            tampered.append(path.name)
            path.unlink(missing_ok=True)
        for folder in self.folders:
            for pyc in (folder / "__pycache__").glob("*.pyc"):
                if not bytecode_is_genuine(pyc, folder):
                    tampered.append(str(pyc.relative_to(self.package)))
                    pyc.unlink(missing_ok=True)
        return sorted(tampered)


_genuine: set[tuple[str, bytes, bytes]] = set()  # (pyc, its bytes' digest, its source's digest) found genuine


def bytecode_is_genuine(pyc: Path, package: Path) -> bool:
    """``is_compiled_from_source``, remembered for bytes already found genuine beside the same source:
    compiling every module again after each exercise took a tenth of a second."""
    import hashlib

    try:
        key = (str(pyc), hashlib.sha256(pyc.read_bytes()).digest(),
               hashlib.sha256((package / (pyc.name.split(".", 1)[0] + ".py")).read_bytes()).digest())
    except OSError:
        return False
    if key in _genuine:
        return True
    if is_compiled_from_source(pyc, package):
        _genuine.add(key)
        return True
    return False


def is_compiled_from_source(pyc: Path, package: Path) -> bool:
    """Whether ``pyc`` holds exactly the code of its ``.py`` beside the cache (what Python itself would write)."""
    import importlib.util
    import marshal

    source = package / (pyc.name.split(".", 1)[0] + ".py")
    try:
        data = pyc.read_bytes()
        code = compile(source.read_bytes(), str(source), "exec", dont_inherit=True)
    except (OSError, SyntaxError, ValueError):
        return False
    if data[:4] != importlib.util.MAGIC_NUMBER:
        return False  # another Python's bytecode: this one ignores it
    # Compared as code, not as bytes: marshal's bytes depend on the process that wrote them (pip's compile
    # step writes other reference flags than this process would), while equal code objects are equal code.
    try:
        return marshal.loads(data[16:]) == code
    except (EOFError, ValueError, TypeError):
        return False
