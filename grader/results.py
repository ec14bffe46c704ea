"""What a grading produces: small dataclasses with a status enum.

These classes travel between processes as plain dictionaries (``to_dict`` /
``from_dict``) and are what every output format is written from. Nothing here
imports torch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum

from grader.wording import TEXT_CUT

TEXT_LIMIT = 8000  # characters of a traceback or of captured output kept in any report


def safe_text(value, limit: int = TEXT_LIMIT) -> str:
    """Text any writer can encode in any locale, at most ``limit`` characters, truncation marked.

    Learner code decides much of what a report says (messages, output, file and
    folder names). A lone surrogate (from a bad exception message, or a file name
    that is not UTF-8) would crash a UTF-8 writer, so each becomes U+FFFD here,
    once, where results are made, as does every terminal control character;
    and nothing it says can make a report huge.
    """
    text = str(value)
    if len(text) > limit:
        text = text[: limit - len(TEXT_CUT)] + TEXT_CUT
    text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text.translate(CONTROL_CHARACTERS)


# Terminal control characters (ESC, carriage return, C1 codes...) in learner text could clear the screen,
# retitle the window or draw a report of their own: each becomes U+FFFD. Newlines and tabs stay.
CONTROL_CHARACTERS = {code: "\ufffd" for code in [*range(0x00, 0x09), *range(0x0b, 0x20), *range(0x7f, 0xa0)]}


class Status(str, Enum):
    """The outcome of one check, exactly the statuses of the contract."""

    PASSED = "passed"
    FAILED = "failed"
    NOT_STARTED = "not_started"  # the stub still raises NotImplementedError
    ERROR = "error"  # learner code raised something else, or could not be imported
    TIMEOUT = "timeout"
    SKIPPED = "skipped"  # not graded here (for example: needs CUDA); left out of the score


@dataclass
class CheckResult:
    """One check of one exercise, as graded."""

    id: str
    """Stable identifier; gradebooks refer to it."""
    name: str
    """What the check proves, in a short sentence."""
    max_points: float
    status: Status = Status.NOT_STARTED
    message: str = ""
    """What was observed, in words a learner understands (one line)."""
    hints: list[str] = field(default_factory=list)
    """From a nudge to a near-answer; the report shows the first by default."""
    traceback: str = ""
    """The learner's own frames of the traceback, when their code raised."""
    output: str = ""
    """What the learner's code printed during this check (truncated)."""
    duration_s: float = 0.0
    output_truncated: bool = False
    """Only the start of ``output`` was kept (and it ends saying so)."""
    lost: bool = False
    """No verdict came from the grading process: it ended, or the sandbox failed, before deciding this check
    (a time or memory limit is a verdict, not a loss). The status and message say what was known instead."""

    def __post_init__(self):
        self.name, self.message = safe_text(self.name, 300), safe_text(self.message, 1000)
        self.output_truncated = self.output_truncated or len(str(self.output)) > TEXT_LIMIT
        self.traceback, self.output = safe_text(self.traceback), safe_text(self.output)
        self.hints = [safe_text(hint, 1000) for hint in self.hints]

    @property
    def points(self) -> float:
        """All the points for a pass, none otherwise."""
        return self.max_points if self.status is Status.PASSED else 0.0

    @property
    def counts(self) -> bool:
        """Whether the check is part of the score (skipped checks are not)."""
        return self.status is not Status.SKIPPED

    def to_dict(self) -> dict:
        """A JSON-ready dictionary."""
        data = asdict(self)
        data["status"] = self.status.value
        return data

    @classmethod
    def from_dict(cls, data: dict) -> CheckResult:
        """The inverse of ``to_dict``."""
        return cls(**{**data, "status": Status(data["status"])})


@dataclass
class ExerciseResult:
    """Every check of one exercise, with the file that was graded."""

    exercise: str
    """The exercise's name, such as ``exercise_03``."""
    title: str
    file: str
    """The learner file that was graded, as given to the grader."""
    checks: list[CheckResult] = field(default_factory=list)
    duration_s: float = 0.0
    problem: str = ""
    """Set when the exercise as a whole could not be graded (the suite did not load)."""
    note: str = ""
    """Something the learner should know that is not a verdict (their file changed while it was graded)."""
    missing: bool = False
    """The learner's file was not there: the checks are not started because there is nothing to grade."""
    lost: bool = False
    """The grader could not grade this exercise at all (its sandbox failed): ``problem`` says why."""

    def __post_init__(self):
        self.title, self.file = safe_text(self.title, 300), safe_text(self.file, 1000)
        self.problem, self.note = safe_text(self.problem, 1000), safe_text(self.note, 1000)

    @property
    def score(self) -> float:
        return sum(check.points for check in self.checks if check.counts)

    @property
    def max_score(self) -> float:
        return sum(check.max_points for check in self.checks if check.counts)

    @property
    def complete(self) -> bool:
        """Every counted check passed, and there was at least one."""
        counted = [check for check in self.checks if check.counts]
        return bool(counted) and not self.problem and all(c.status is Status.PASSED for c in counted)

    @property
    def started(self) -> bool:
        """The learner has written something that the checks could run."""
        return any(check.status not in (Status.NOT_STARTED, Status.SKIPPED) for check in self.checks)

    def to_dict(self) -> dict:
        """A JSON-ready dictionary."""
        return {
            "exercise": self.exercise,
            "title": self.title,
            "file": self.file,
            "checks": [check.to_dict() for check in self.checks],
            "duration_s": self.duration_s,
            "problem": self.problem,
            "note": self.note,
            "missing": self.missing,
            "lost": self.lost,
        }

    @classmethod
    def from_dict(cls, data: dict) -> ExerciseResult:
        """The inverse of ``to_dict``."""
        checks = [CheckResult.from_dict(check) for check in data["checks"]]
        return cls(**{**data, "checks": checks})


@dataclass
class Report:
    """A whole grading run."""

    exercises: list[ExerciseResult]
    seed: int
    device: str
    """Where device-dependent checks ran: ``cpu`` or ``cuda``."""
    sandbox: str = ""
    """Empty when learner code ran inside the sandbox; otherwise why it did not."""

    @property
    def score(self) -> float:
        return sum(exercise.score for exercise in self.exercises)

    @property
    def max_score(self) -> float:
        return sum(exercise.max_score for exercise in self.exercises)

    @property
    def exit_code(self) -> int:
        """0 when every graded check passed (skipped ones do not count against), 1 otherwise."""
        for exercise in self.exercises:
            if exercise.problem:
                return 1
            if any(check.counts and check.status is not Status.PASSED for check in exercise.checks):
                return 1
        return 0
