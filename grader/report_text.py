"""The text report for people, drawn with rich (the only module that imports it).

For each exercise: its checks with a status mark and points, and for every
check that did not pass, what was observed, where in the learner's code, and a
hint. Piped, or with ``NO_COLOR`` set, the same text comes out plain.
"""

from __future__ import annotations

import io
import os
import sys
import time

from grader.results import CheckResult, ExerciseResult, Report, Status

OUTPUT_LINES = 10  # lines of a check's captured output shown in the report

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
    render_total(report, console)


def render_total(report: Report, console) -> None:
    """The score line, and a word when the sandbox was off."""
    from rich.markup import escape

    total = f"Score: {points(report.score)}/{points(report.max_score)}"
    style = "bold green" if report.exit_code == 0 else "bold"
    console.print(f"[{style}]{total}[/]  [dim](seed {report.seed}; grade again with --seed {report.seed} "
                  f"to repeat these checks; device {escape(report.device)})[/]", soft_wrap=True)
    render_sandbox_off(report, console)


class DrawnAsGraded:
    """A progress listener that draws each exercise's part of the plain report as soon as it is graded.

    The other lanes are still grading then, so at the end only the score line is left to draw: drawing the
    whole report after the last grading took 35 ms of ``--all``. ``write`` gives the same text ``render`` does.
    """

    def __init__(self, all_hints: bool):
        self.all_hints = all_hints
        self.drawn: list[ExerciseResult] = []
        self.text = io.StringIO()
        self.console = None  # made at the first exercise graded: importing rich is then off the way too

    def __call__(self, event: str, data) -> None:
        if event == "done":
            self.console = self.console or make_console(self.text)
            render_exercise(data, self.console, self.all_hints)
            self.drawn.append(data)

    def write(self, report: Report, console) -> None:
        """The whole report on ``console``: what was drawn, where it is every exercise and the console is a plain
        one like its own, then the score line."""
        drawn = [id(exercise) for exercise in self.drawn] == [id(exercise) for exercise in report.exercises]
        if not drawn or self.console is None or console.color_system is not None or console.width != self.console.width:
            render(report, console, self.all_hints)
            return
        console.file.write(self.text.getvalue())
        render_total(report, console)


def render_sandbox_off(report: Report, console) -> None:
    """Say once, at the end, when learner code ran without the sandbox."""
    if report.sandbox:
        from rich.markup import escape

        from grader.formats import sandbox_off  # the machine formats' module: imported only when needed

        console.print(f"[yellow]{escape(sandbox_off(report))}[/]", soft_wrap=True)


def render_exercise(exercise: ExerciseResult, console, all_hints: bool) -> None:
    from rich.markup import escape

    console.print(f"[bold]{exercise.exercise} · {escape(exercise.title)}[/]  "
                  f"{points(exercise.score)}/{points(exercise.max_score)}  [dim]{escape(exercise.file)}[/]", soft_wrap=True)
    if exercise.problem:
        console.print(f"  [red]! {escape(exercise.problem)}[/]", soft_wrap=True)
    if exercise.note:
        console.print(f"  [yellow]note: {escape(exercise.note)}[/]", soft_wrap=True)
    shared = shared_failure(exercise)
    if shared is not None:
        # The file could not be imported (or the like): say it once, not under every check, and no hints.
        console.print(f"  [red]! {escape(shared.message)}[/]", soft_wrap=True)
        render_details(shared, console)
        for check in exercise.checks:
            mark, colour = MARKS[check.status]
            console.print(f"  [{colour}]{mark}[/] {escape(check.name)}  0/{points(check.max_points)}", soft_wrap=True)
        console.print()
        return
    if untouched(exercise):
        render_untouched(exercise, console)
        return
    said: dict[tuple, str] = {}  # an error already shown in full: the check it was shown under
    for check in exercise.checks:
        key = (check.status, check.message)
        if check.status is Status.ERROR and key in said:
            mark, colour = MARKS[check.status]
            console.print(f"  [{colour}]{mark}[/] {escape(check.name)}  0/{points(check.max_points)}  "
                          f"[{colour}]error[/]  [dim](the same error as “{escape(said[key])}” above)[/]", soft_wrap=True)
            continue
        if check.status is Status.ERROR:
            said[key] = check.name
        render_check(check, console, all_hints)
    console.print()


def untouched(exercise: ExerciseResult) -> bool:
    """Nothing written yet: every counted check is not started."""
    counted = [check for check in exercise.checks if check.counts]
    return bool(counted) and all(check.status is Status.NOT_STARTED for check in counted)


def render_untouched(exercise: ExerciseResult, console) -> None:
    """An untouched exercise on one screen: one line per function still to write (or the missing file)."""
    from rich.markup import escape

    waiting: dict[str, list[CheckResult]] = {}
    for check in exercise.checks:
        if check.counts:
            waiting.setdefault(check.message, []).append(check)
    for message, checks in waiting.items():
        count = f"{len(checks)} check{'s' if len(checks) > 1 else ''}, {points(sum(c.max_points for c in checks))} points"
        console.print(f"  [dim]○[/] {escape(message or 'not started')}  [dim]({count})[/]", soft_wrap=True)
    skipped = [check for check in exercise.checks if not check.counts]
    if skipped:
        console.print(f"  [dim]- {len(skipped)} check(s) skipped here: {escape(skipped[0].message)}[/]", soft_wrap=True)
    console.print()


def shared_failure(exercise: ExerciseResult) -> CheckResult | None:
    """The check standing for all, when every check failed the same way with an error or a timeout."""
    checks = exercise.checks
    if len(checks) < 2 or checks[0].status not in (Status.ERROR, Status.TIMEOUT):
        return None
    first = checks[0]
    same = all(check.status is first.status and check.message == first.message for check in checks)
    return first if same else None


def render_details(check: CheckResult, console) -> None:
    """The learner's traceback and what their code printed, under a check that did not pass."""
    from rich.markup import escape

    if check.traceback and check.status is Status.ERROR:
        for line in check.traceback.splitlines():
            console.print(f"      [dim]{escape(line)}[/]", soft_wrap=True)
    lines = check.output.strip().splitlines()
    if lines:
        console.print("      [dim]your code printed:[/]")
        for line in lines[:OUTPUT_LINES]:
            console.print(f"      [dim]│ {escape(line[:200])}[/]", soft_wrap=True)
        hidden = len(lines) - OUTPUT_LINES
        if hidden > 0 or check.output_truncated:
            more = f"{hidden} more lines" if hidden > 0 else "more"
            console.print(f"      [dim]│ … ({more} not shown)[/]")


def render_check(check: CheckResult, console, all_hints: bool) -> None:
    from rich.markup import escape

    mark, colour = MARKS[check.status]
    score = "" if check.status is Status.SKIPPED else f"  {points(check.points)}/{points(check.max_points)}"
    word = "" if check.status is Status.PASSED else f"  [{colour}]{WORDS[check.status]}[/]"
    console.print(f"  [{colour}]{mark}[/] {escape(check.name)}{score}{word}", soft_wrap=True)
    if check.status is Status.PASSED:
        return
    if check.message:
        console.print(f"      {escape(check.message)}", soft_wrap=True)
    render_details(check, console)
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
    width = max(len(exercise.title) for exercise in exercises)
    next_up = None
    console.print("[bold]Your progress[/]")
    for exercise in exercises:
        result = by_name.get(exercise.name)
        if result is None:
            continue
        if result.complete:
            state, colour = "done", "green"
        elif result.missing:
            state, colour = "missing", "red"
        elif result.started:
            state, colour = "in progress", "yellow"
        else:
            state, colour = "not started", "dim"
        if next_up is None and not result.complete:
            next_up = exercise
        console.print(f"  {exercise.name}  {escape(exercise.title):<{width}}  [{colour}]{state:<12}[/] "
                      f"{points(result.score):>4}/{points(result.max_score):<4} [dim]{escape(result.file)}[/]",
                      soft_wrap=True)
    missing = [exercise for exercise in exercises if by_name.get(exercise.name) and by_name[exercise.name].missing]
    if missing:
        console.print(f"\n[dim]A missing file: python -m grader {missing[0].name} --reset puts its stub back.[/]",
                      soft_wrap=True)
    console.print()
    if next_up is None:
        console.print("[bold green]Every exercise is done. Well done![/]")
    else:
        console.print(f"Next: [bold]{next_up.name}[/] ({escape(next_up.title)}). Read {next_up.lesson}, "
                      f"then run: python -m grader {next_up.name}", soft_wrap=True)


def start_screen(console) -> None:
    """A clean screen in a terminal; a rule between gradings when the output goes to a file or pipe."""
    if console.is_terminal:
        console.clear()
    else:
        console.rule()


def render_watch(report: Report, console, next_up, seconds: float, all_hints: bool = False) -> None:
    """Watch mode's screen: the score, then only the first check that does not pass, or what comes next."""
    from rich.markup import escape

    exercise = report.exercises[0]
    start_screen(console)
    console.print(f"[dim]Watching {escape(exercise.file)}: save it to grade again, Ctrl-C to stop.[/]", soft_wrap=True)
    marks = "".join(f"[{MARKS[check.status][1]}]{MARKS[check.status][0]}[/]" for check in exercise.checks)
    console.print(f"[bold]{exercise.exercise} · {escape(exercise.title)}[/]  "
                  f"{points(exercise.score)}/{points(exercise.max_score)}  {marks}", soft_wrap=True)
    console.print()
    if exercise.problem:
        console.print(f"  [red]! {escape(exercise.problem)}[/]", soft_wrap=True)
    if exercise.note:
        console.print(f"  [yellow]note: {escape(exercise.note)}[/]", soft_wrap=True)
    shared = shared_failure(exercise)
    if shared is not None and not exercise.complete:
        console.print(f"  [red]! {escape(shared.message)}[/]", soft_wrap=True)
        render_details(shared, console)
        console.print(f"\n[dim]Graded at {time.strftime('%H:%M:%S')} in {seconds:.2f} s (seed {report.seed}).[/]")
        return
    if exercise.complete:
        console.print(f"[bold green]{exercise.exercise} is done. Well done![/]")
        if next_up is None:
            console.print("That was the last exercise of the course.")
        else:
            console.print(f"Next: [bold]{next_up.name}[/] ({escape(next_up.title)}). Read {next_up.lesson}, "
                          f"then run: python -m grader {next_up.name} --watch", soft_wrap=True)
    else:
        waiting = [check for check in exercise.checks if check.counts and check.status is not Status.PASSED]
        if waiting:
            render_check(waiting[0], console, all_hints)
            if len(waiting) > 1:
                console.print(f"\n[dim]…and {len(waiting) - 1} more check(s) to go after this one.[/]")
    console.print(f"\n[dim]Graded at {time.strftime('%H:%M:%S')} in {seconds:.2f} s (seed {report.seed}).[/]")


def render_watch_missing(task, console) -> None:
    """Watch mode's screen while the file is gone (some editors delete it for a moment while saving)."""
    from rich.markup import escape

    start_screen(console)
    console.print(f"[yellow]{escape(str(task.file))} is missing.[/] Waiting for it to come back "
                  f"(python -m grader {task.exercise.name} --reset writes the stub again).", soft_wrap=True)


class LiveProgress:
    """While grading on a terminal: each finished check as it comes, and the one running now with its time.

    Drawn with rich's live display, and erased when grading ends, just before
    the full report is printed. Piped, or with ``NO_COLOR``, nothing is drawn.
    """

    def __init__(self, console):
        from rich.live import Live

        self.title = ""
        self.names: list[str] = []
        self.lines: list[str] = []
        self.since = time.monotonic()
        self.live = Live(console=console, transient=True, refresh_per_second=8, get_renderable=self.renderable)

    @staticmethod
    def possible() -> bool:
        """Whether a live display could be wanted, asked before importing rich (12 ms before the sandbox starts):
        only on a terminal, or where rich is told to take its output for one."""
        forced = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")
        return getattr(sys.stdout, "isatty", lambda: False)() or any(os.environ.get(name) for name in forced)

    @staticmethod
    def wanted(console) -> bool:
        return console.is_terminal and not os.environ.get("NO_COLOR")

    def __enter__(self) -> LiveProgress:
        self.live.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.live.stop()

    def __call__(self, event: str, data) -> None:
        """Hear a grading event (``exercise``, ``collected``, ``check``, ``done``)."""
        from rich.markup import escape

        if event == "exercise":
            self.title, self.names, self.lines = f"{data['exercise']} · {escape(data['title'])}", [], []
        elif event == "collected":
            self.names = [check.name for check in data]
        elif event == "check":
            mark, colour = MARKS[data.status]
            self.lines.append(f"  [{colour}]{mark}[/] {escape(data.name)}")
        self.since = time.monotonic()

    def renderable(self):
        from rich.markup import escape
        from rich.text import Text

        if not self.title:
            running = "starting the sandbox and importing torch"
        elif len(self.lines) < len(self.names):
            running = self.names[len(self.lines)]
        else:
            running = "loading the suite and your file"
        elapsed = time.monotonic() - self.since
        lines = [f"[bold]{self.title}[/]", *self.lines, f"  [cyan]… {escape(running)}[/]  [dim]{elapsed:.1f} s[/]"]
        return Text.from_markup("\n".join(lines))
