"""The records a judge sends the report process: one small dataclass a kind, one encode, one decode.

A judge writes one JSON object a line down a pipe of its own (``Channel``), each
signed with a secret the learner process never sees. The watchdog reads them
with ``decode``, which gives None, never an exception, for a line that is not
signed with the secret or not exactly the shape of a known record: that pipe is
the one thing from the sandbox the report believes. Nothing here imports torch
or pytest (the report process reads records too).
"""

import dataclasses
import hmac
import json
import math
import os
from typing import ClassVar

from grader.results import Status

PHASES = ("import", "checks")


class Malformed(ValueError):
    """A record that is not the shape its kind says."""


@dataclasses.dataclass(frozen=True)
class CheckInfo:
    """A check as its suite declares it (``@pytest.mark.check``)."""

    id: str
    name: str
    points: float
    hints: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Collected:
    """The suite is loaded, and these are its checks in the order they run; only an exercise's first judge says it."""

    kind: ClassVar[str] = "collected"
    checks: tuple[CheckInfo, ...]


@dataclasses.dataclass(frozen=True)
class Phase:
    """The judge begins importing the learner's file (``import``) or running the checks (``checks``)."""

    kind: ClassVar[str] = "phase"
    phase: str

    def __post_init__(self):
        if self.phase not in PHASES:
            raise Malformed(f"no phase {self.phase!r}")


@dataclasses.dataclass(frozen=True)
class Start:
    """A check begins."""

    kind: ClassVar[str] = "start"
    id: str


@dataclasses.dataclass(frozen=True)
class Result:
    """A check's verdict: the fields its ``CheckResult`` takes, and what later checks must know."""

    kind: ClassVar[str] = "result"
    id: str
    status: Status
    message: str = ""
    traceback: str = ""
    duration_s: float = 0.0
    hung_in: tuple[str, ...] = ()
    """The learner function that ran out of time in this check, if known: each later call of it gets a short limit."""


@dataclasses.dataclass(frozen=True)
class SuiteError:
    """The suite cannot be used as written (the instructor's error, never the learner's); no check runs."""

    kind: ClassVar[str] = "suite_error"
    message: str


@dataclasses.dataclass(frozen=True)
class ChildError:
    """The judge itself failed outside any check (the grader's error)."""

    kind: ClassVar[str] = "child_error"
    message: str


@dataclasses.dataclass(frozen=True)
class Resume:
    """The judge's learner process ended between checks, and the judge can start no other (it made the one PID
    namespace it can: ``LearnerProcess.start``): a fresh judge goes on with the checks left."""

    kind: ClassVar[str] = "resume"


@dataclasses.dataclass(frozen=True)
class Finished:
    """The judge is done: every check it was to run has its result."""

    kind: ClassVar[str] = "finished"


KINDS = {kind.kind: kind for kind in (Collected, Phase, Start, Result, SuiteError, ChildError, Resume, Finished)}


def encode(record, secret: str) -> bytes:
    """One line of JSON: the record's kind, its fields and the secret."""
    fields = {field.name: getattr(record, field.name) for field in dataclasses.fields(record)}
    return (json.dumps({"type": record.kind, **fields, "secret": secret}, default=plain) + "\n").encode()


def plain(value):
    """What ``json`` cannot write by itself: a status as its word, the checks' metadata as objects."""
    if isinstance(value, Status):
        return value.value
    if isinstance(value, CheckInfo):
        return dataclasses.asdict(value)
    raise TypeError(f"a record holds no {type(value).__name__}")


def decode(line: bytes, secret: str):
    """The record ``line`` holds, or None when it is not signed with ``secret`` or not of a known shape."""
    try:
        data = json.loads(line)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    if not isinstance(data, dict) or not signed(data.pop("secret", None), secret):
        return None
    kind = data.pop("type", None)
    if not isinstance(kind, str) or kind not in KINDS:
        return None
    try:
        return read(KINDS[kind], data)
    except (Malformed, TypeError):
        return None


def signed(said, secret: str) -> bool:
    """Whether ``said`` is the secret, compared in constant time."""
    if not isinstance(said, str):
        return False
    return hmac.compare_digest(said.encode("utf-8", "surrogatepass"), secret.encode("utf-8"))


def read(kind: type, data):
    """An instance of the dataclass ``kind`` from ``data``, its fields and nothing else, each of its type."""
    if not isinstance(data, dict):
        raise Malformed(f"{kind.__name__} is not an object")
    fields = {field.name: field for field in dataclasses.fields(kind)}
    if set(data) - set(fields):
        raise Malformed(f"{kind.__name__} has no field {sorted(set(data) - set(fields))[0]!r}")
    values = {}
    for name, field in fields.items():
        if name in data:
            values[name] = READERS[field.type](data[name])
        elif field.default is dataclasses.MISSING:
            raise Malformed(f"{kind.__name__} lacks {name!r}")
    return kind(**values)


def text(value) -> str:
    if not isinstance(value, str):
        raise Malformed("not a string")
    return value


def number(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise Malformed("not a finite number")
    return float(value)


def texts(value) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise Malformed("not a list")
    return tuple(text(item) for item in value)


def status(value) -> Status:
    try:
        return Status(text(value))
    except ValueError as exc:
        raise Malformed(str(exc)) from None


def check_infos(value) -> tuple[CheckInfo, ...]:
    if not isinstance(value, list):
        raise Malformed("not a list")
    return tuple(read(CheckInfo, item) for item in value)


# A field's reader, by its annotation (this module does not postpone annotations: these are the types themselves).
READERS = {str: text, float: number, Status: status, tuple[str, ...]: texts, tuple[CheckInfo, ...]: check_infos}


# Written down the learner's output pipe just before each record, so that the watchdog, which reads the two
# pipes in whatever order they come, keeps each piece of output with the check that printed it. Learner code
# can write it too: that only moves its own output between its checks, and nothing reads output for a verdict.
OUTPUT_MARK = b"\x00grader-record\x00"


class Channel:
    """The judge's end of its record pipe: each record goes down it encoded and signed.

    ``output_fd``, once the judge sets it, is the learner's output pipe: each record is marked there first
    (``OUTPUT_MARK``)."""

    def __init__(self, fd: int, secret: str):
        self.fd = fd
        self.secret = secret
        self.output_fd: int | None = None

    def send(self, record) -> None:
        if self.output_fd is not None:
            os.write(self.output_fd, OUTPUT_MARK)  # shorter than a pipe's atomic write: never cut into
        data = encode(record, self.secret)
        while data:
            data = data[os.write(self.fd, data):]
