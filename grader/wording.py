"""What a learner reads when a check did not end by itself: written once, whichever process tells it."""

from __future__ import annotations


def check_too_long(seconds: float) -> str:
    return (f"the check took longer than {seconds:g} s and was stopped: look for a loop that never ends, "
            "or far too many epochs")


def process_ended(how: str) -> str:
    """``how``: the exit, as ``watchdog.describe_exit`` words it."""
    return (f"your code ended the grading process during this check ({how}): "
            "os._exit(), a crash in native code, or the process was killed")
