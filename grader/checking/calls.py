"""Calling the learner's code from a check: what it raised, with a stub's NotImplementedError let through."""

from __future__ import annotations


def exception_from(function, *args, **kwargs) -> Exception | None:
    """What ``function(*args, **kwargs)`` raised, or None when it returned; for checks that expect an error.

    A stub's ``NotImplementedError`` goes on up (the check is "not started", not failed), and so does
    anything that is not an ``Exception`` (``KeyboardInterrupt``, an escape from the grading).
    """
    try:
        function(*args, **kwargs)
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - the check judges which exception it was
        return exc
    return None
