"""``from grader import check; check("03")``: grade the notebook you are in, from one of its cells.

What is graded is the notebook itself, never the kernel's live objects (learner
code can rewrite those, and a kernel keeps functions from deleted cells): its
code cells go through exactly ``python -m grader 03`` in a process of its own,
with the same sandbox, suite and statuses, and the result is shown as HTML in
the cell's output.

Where the notebook comes from, in this order:

1. the path given: ``check("03", "my_notebook.ipynb")``;
2. Colab, where the notebook is not on the kernel's disk: the frontend is
   asked for it (``google.colab._message.blocking_request("get_ipynb")``), so
   what is graded is what the learner sees, saved or not;
3. Jupyter (Notebook 7, JupyterLab, VS Code): the notebook's file, named by the
   kernel's session (``__session__`` / ``JPY_SESSION_NAME``, or VS Code's
   ``__vsc_ipynb_file__``). That is the notebook as last saved: the check says
   so when the cell run just before it is not in the saved file;
4. otherwise this kernel's input history, with a warning: it holds re-runs and
   cells since deleted, so it may differ from the notebook on screen.

Outside IPython there is no notebook and no history: one line says to pass the path.
"""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from grader.course import Exercise
from grader.commands import UsageError, named_exercise

MARKS = {"passed": "✓", "failed": "✗", "not_started": "○", "error": "!", "timeout": "⌛", "skipped": "–"}
COLOURS = {"passed": "#1a7f37", "failed": "#cf222e", "error": "#cf222e", "timeout": "#9a6700"}
NO_NOTEBOOK = ("check() could not find this notebook: pass its path, check(\"{n}\", \"my_notebook.ipynb\"), "
               "or run python -m grader {n} in a terminal")


class Found:
    """The notebook to grade: its content, where it came from, and a warning for the learner (or '')."""

    def __init__(self, data: bytes, origin: str, warning: str = ""):
        self.data, self.origin, self.warning = data, origin, warning


def check(exercise: str | int, path: str | os.PathLike | None = None, *, timeout: float | None = None,
          seed: int | None = None, show: bool = True) -> dict | None:
    """Grade this notebook's ``exercise`` as ``python -m grader`` would, and show the result in the cell.

    Returns the ``--format json`` report (a dict), or None when nothing could be graded.
    """
    try:
        chosen = named_exercise(str(exercise))
        found = find_notebook(chosen, path)
        report, notes = grade(chosen, found, timeout, seed)
    except UsageError as exc:
        emit(f'<p style="color:#cf222e">grader: {html.escape(str(exc))}</p>', f"grader: {exc}", show)
        return None
    emit(to_html(report, found, notes), to_text(report, found, notes), show)
    return report


def find_notebook(exercise: Exercise, path) -> Found:
    """The notebook to grade (see the module's docstring for the order); a UsageError if there is none."""
    if path is not None:
        file = Path(path)
        try:
            return Found(file.read_bytes(), str(file))
        except OSError as exc:
            raise UsageError(f"cannot read {file}: {exc.strerror or exc}") from exc
    shell = ipython()
    if "google.colab" in sys.modules:
        from google.colab import _message  # Colab's own bridge to the frontend

        reply = _message.blocking_request("get_ipynb", timeout_sec=30)
        if reply and reply.get("ipynb"):
            return Found(json.dumps(reply["ipynb"]).encode(), "this Colab notebook")
    file = session_file(shell)
    if file is not None:
        data = file.read_bytes()
        return Found(data, str(file), unsaved_warning(shell, data))
    if shell is not None and len(shell.user_ns.get("In", [])) > 1:
        return Found(history_notebook(shell.user_ns["In"]), "this kernel's input history", (
            "the notebook's file was not found, so this grades the cells this kernel ran, in the order they ran "
            "(re-runs and deleted cells included); pass the notebook's path to grade the notebook itself"))
    raise UsageError(NO_NOTEBOOK.format(n=exercise.name))


def ipython():
    """The running IPython shell, or None (plain Python)."""
    module = sys.modules.get("IPython")
    return module.get_ipython() if module is not None else None


def session_file(shell) -> Path | None:
    """The notebook file this kernel belongs to, as Jupyter or VS Code tells the kernel; None if unknown."""
    namespace = shell.user_ns if shell is not None else {}
    names = [namespace.get("__vsc_ipynb_file__"), namespace.get("__session__"), os.environ.get("JPY_SESSION_NAME")]
    for name in filter(None, names):
        name = str(name)
        # A session name may be relative to the server's root; the kernel runs in the notebook's folder.
        for candidate in (Path(name), Path.cwd() / name, Path.cwd() / Path(name).name):
            if candidate.suffix == ".ipynb" and candidate.is_file():
                return candidate
    return None


def unsaved_warning(shell, data: bytes) -> str:
    """A warning when the cell run just before this one is not in the saved notebook (the file is older)."""
    inputs = shell.user_ns.get("In", []) if shell is not None else []
    if len(inputs) < 3:
        return ""
    try:
        cells = json.loads(data.decode("utf-8-sig")).get("cells", [])
        saved = ["".join(cell.get("source", "")) if isinstance(cell.get("source"), list) else cell.get("source", "")
                 for cell in cells]
    except (ValueError, AttributeError):
        return ""
    previous = inputs[-2].strip()
    if previous and not any(previous in source or source.strip() in previous for source in saved if source.strip()):
        return "this grades the notebook as last saved, which lacks your latest edits: save it (Ctrl-S) and check again"
    return ""


def history_notebook(inputs: list[str]) -> bytes:
    """A notebook of one code cell per input this kernel ran (``In[1:]``), for the grader to read."""
    cells = [{"cell_type": "code", "metadata": {}, "source": text, "outputs": [], "execution_count": None}
             for text in inputs[1:]]
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}).encode()


def grade(exercise: Exercise, found: Found, timeout: float | None, seed: int | None) -> tuple[dict, list[str]]:
    """Run ``python -m grader`` on the notebook, copied under its exercise's name; its JSON report and notes."""
    with tempfile.TemporaryDirectory(prefix="kit-check-") as folder:
        (Path(folder) / exercise.notebook).write_bytes(found.data)
        command = [sys.executable, "-m", "grader", exercise.name, "--source", folder, "--format", "json"]
        command += ["--timeout", str(timeout)] if timeout is not None else []
        command += ["--seed", str(seed)] if seed is not None else []
        # The grader this kernel imported, not another one an installed kit or the current folder would give.
        package_parent = str(Path(__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")]))}
        done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL, env=env)
    lines = [line.removeprefix("grader: ") for line in done.stderr.splitlines() if line.startswith("grader: ")]
    if done.returncode == 2 or not done.stdout.strip():
        raise UsageError(lines[-1] if lines else f"the grader ended without a report (exit {done.returncode})")
    return json.loads(done.stdout), lines


def to_html(report: dict, found: Found, notes: list[str]) -> str:
    """The report as HTML: the score, then one row per check with its mark, message and hint."""
    parts = []
    for exercise in report["exercises"]:
        parts.append(f'<h4 style="margin:0.3em 0">{html.escape(exercise["exercise"])} · '
                     f'{html.escape(exercise["title"])}: {exercise["score"]:g}/{exercise["max_score"]:g}</h4>')
        parts.append(f'<div style="color:#57606a">graded: {html.escape(found.origin)}</div>')
        for note in [found.warning, exercise.get("note", ""), *notes]:
            if note:
                parts.append(f'<div style="color:#9a6700">note: {html.escape(note)}</div>')
        rows = []
        for check in exercise["checks"]:
            colour = COLOURS.get(check["status"], "#57606a")
            detail = "".join(f'<div style="color:{c}">{html.escape(text)}</div>' for c, text in (
                ("inherit", check["message"]), ("#57606a", f"hint: {check['hint']}" if check["hint"] else "")) if text)
            rows.append(f'<tr><td style="color:{colour};text-align:center">{MARKS.get(check["status"], "?")}</td>'
                        f'<td style="text-align:left">{html.escape(check["name"])}{detail}</td>'
                        f'<td>{check["points"]:g}/{check["max_points"]:g}</td></tr>')
        parts.append(f'<table>{"".join(rows)}</table>')
    return f'<div class="kit-check">{"".join(parts)}</div>'


def to_text(report: dict, found: Found, notes: list[str]) -> str:
    """The same report as plain text (outside a notebook, and as the output's text/plain)."""
    lines = []
    for exercise in report["exercises"]:
        lines.append(f'{exercise["exercise"]} · {exercise["title"]}: {exercise["score"]:g}/{exercise["max_score"]:g}'
                     f'  (graded: {found.origin})')
        lines += [f"note: {note}" for note in [found.warning, exercise.get("note", ""), *notes] if note]
        for check in exercise["checks"]:
            lines.append(f'{MARKS.get(check["status"], "?")} {check["name"]}  {check["points"]:g}/{check["max_points"]:g}')
            lines += [f"    {text}" for text in (check["message"], check["hint"] and f"hint: {check['hint']}") if text]
    return "\n".join(lines)


def emit(html_text: str, plain: str, show: bool) -> None:
    """Show the result: as HTML in a notebook, as text elsewhere."""
    if not show:
        return
    if ipython() is not None:
        from IPython.display import display

        display({"text/html": html_text, "text/plain": plain}, raw=True)
    else:
        print(plain)
