"""The text report for people, drawn with rich (the only module that imports it).

For each exercise: its checks with a status mark and points, and for every
check that did not pass, what was observed, where in the learner's code, and a
hint. Piped, or with ``NO_COLOR`` set, the same text comes out plain.
"""

from __future__ import annotations

import os
import sys

from grader.results import CheckResult, ExerciseResult, Report, Status

MARKS = {
    Status.PASSED: ("✓", "green"),
    Status.FAILED: ("✗", "red"),
    Status.NOT_STARTED: ("○", "dim"),
    Status.ERROR: ("!", "red"),
    Status.TIMEOUT: ("⌛", "yellow"),
    Status.SKIPPED: ("-", "dim"),
}
WORDS = {
    Status.FAILED: "failed",
    Status.NOT_STARTED: "not started",
    Status.ERROR: "error",
    Status.TIMEOUT: "timed out",
    Status.SKIPPED: "skipped",
}


def make_console(file=None):
    """A console that writes plain text when piped or when ``NO_COLOR`` is set."""
    from rich.console import Console

    file = file or sys.stdout
    plain = bool(os.environ.get("NO_COLOR")) or not getattr(file, "isatty", lambda: False)()
    if plain:
        # color_system=None: rich would still write bold codes with NO_COLOR on a terminal.
        return Console(file=file, color_system=None, highlight=False, emoji=False, width=100, soft_wrap=False)
    return Console(file=file, highlight=False, emoji=False)


def points(value: float) -> str:
    return f"{value:g}"


def render(report: Report, console, all_hints: bool = False) -> None:
    """Write the whole report to ``console``."""
    from rich.markup import escape

    for exercise in report.exercises:
        render_exercise(exercise, console, all_hints)
    total = f"Score: {points(report.score)}/{points(report.max_score)}"
    style = "bold green" if report.exit_code == 0 else "bold"
    console.print(f"[{style}]{total}[/]  [dim](seed {report.seed}; grade again with --seed {report.seed} "
                  f"to repeat these checks; device {escape(report.device)})[/]")


def render_exercise(exercise: ExerciseResult, console, all_hints: bool) -> None:
    from rich.markup import escape

    console.print(f"[bold]{exercise.exercise} · {escape(exercise.title)}[/]  "
                  f"{points(exercise.score)}/{points(exercise.max_score)}  [dim]{escape(exercise.file)}[/]")
    if exercise.problem:
        console.print(f"  [red]! {escape(exercise.problem)}[/]")
    for check in exercise.checks:
        render_check(check, console, all_hints)
    console.print()


def render_check(check: CheckResult, console, all_hints: bool) -> None:
    from rich.markup import escape

    mark, colour = MARKS[check.status]
    score = "" if check.status is Status.SKIPPED else f"  {points(check.points)}/{points(check.max_points)}"
    word = "" if check.status is Status.PASSED else f"  [{colour}]{WORDS[check.status]}[/]"
    console.print(f"  [{colour}]{mark}[/] {escape(check.name)}{score}{word}")
    if check.status is Status.PASSED:
        return
    if check.message:
        console.print(f"      {escape(check.message)}", soft_wrap=True)
    if check.traceback and check.status is Status.ERROR:
        for line in check.traceback.splitlines():
            console.print(f"      [dim]{escape(line)}[/]", soft_wrap=True)
    if check.output.strip():
        console.print("      [dim]your code printed:[/]")
        for line in check.output.strip().splitlines()[:10]:
            console.print(f"      [dim]│ {escape(line)}[/]", soft_wrap=True)
    if check.status is Status.SKIPPED:
        return
    hints = check.hints if all_hints else check.hints[:1]
    for level, hint in enumerate(hints, start=1):
        label = "hint" if len(hints) == 1 else f"hint {level}"
        console.print(f"      [cyan]{label}:[/] {escape(hint)}", soft_wrap=True)


def render_progress(report: Report, console, exercises) -> None:
    """The course overview: every exercise, its status and score, and what to do next."""
    from rich.markup import escape

    by_name = {result.exercise: result for result in report.exercises}
    next_up = None
    console.print("[bold]Your progress[/]")
    for exercise in exercises:
        result = by_name.get(exercise.name)
        if result is None:
            continue
        if result.complete:
            state, colour = "done", "green"
        elif result.started:
            state, colour = "in progress", "yellow"
        else:
            state, colour = "not started", "dim"
        if next_up is None and not result.complete:
            next_up = exercise
        console.print(f"  {exercise.name}  {escape(exercise.title):<16} [{colour}]{state:<12}[/] "
                      f"{points(result.score):>4}/{points(result.max_score):<4} [dim]{escape(result.file)}[/]")
    console.print()
    if next_up is None:
        console.print("[bold green]Every exercise is done. Well done![/]")
    else:
        console.print(f"Next: [bold]{next_up.name}[/] ({escape(next_up.title)}). Read {next_up.lesson}, "
                      f"then run: python -m grader {next_up.name}")
