"""Every message the grader itself shows a learner, each written once, for a teacher to review in one read.

A suite's own messages stay in the suite. Whichever process tells a message
(the judge, the learner process, the watchdog or the report), it comes from
here. Plain strings only: the report process, the judge and the learner
process all import this module.
"""

from __future__ import annotations

# -- time ------------------------------------------------------------------------------------------------------


def check_too_long(seconds: float) -> str:
    return (f"the check took longer than {seconds:g} s and was stopped: look for a loop that never ends, "
            "or far too many epochs")


def import_too_long(filename: str, seconds: float) -> str:
    return (f"importing {filename} took longer than {seconds:g} s: is there a loop or a training run "
            "at the top level of the file? Put it under `if __name__ == \"__main__\":`")


def ran_past_limit_again(function: str, first_check: str, seconds: float) -> str:
    """A function that already ran out of time once in this grading gets ``seconds`` a call after that."""
    return (f"`{function}` ran past the time limit again: it already did in the check \"{first_check}\", so "
            f"each later call of it gets {seconds:g} s. Fix the loop there first")


def budget_used_up(budget_s: float) -> str:
    return (f"not run: this exercise used up its time ({budget_s:g} s lost to checks "
            "that did not finish); fix those first")


STOPPED_AT_TIME_LIMIT = "the learner's process was stopped when the check ran out of time"

# -- a process that ended ---------------------------------------------------------------------------------------


def process_ended(how: str) -> str:
    """``how``: the exit, as ``watchdog.describe_exit`` words it."""
    return (f"your code ended the grading process during this check ({how}): "
            "os._exit(), a crash in native code, or the process was killed")


def ended_while_imported(filename: str, how: str) -> str:
    return (f"{filename} ended the grading process while it was being imported ({how}): keep top-level code to "
            "definitions, and leave Python's and torch's own functions as they are")


def ended_early(how: str) -> str:
    """The checks a grading process did not reach before it ended between checks."""
    return f"not run: the grading process ended early ({how})"


def ended_before_suite(how: str) -> str:
    return f"the grading process ended before the suite was loaded ({how})"


def not_graded(why: str) -> str:
    """An exercise the grader could not grade at all (its sandbox failed)."""
    return f"not graded: {why}"


def no_result(step: str) -> str:
    """GitHub Classroom: a check the grader's step gave no result for (``step``: the step's name)."""
    return f"not graded: the grader gave no result for this check; the log of the step \"{step}\" says why"


# -- memory ------------------------------------------------------------------------------------------------------


def too_much_memory(gib: float) -> str:
    return f"used too much memory (more than {gib:g} GiB beyond the grader's own) and was stopped"


def too_much_memory_in_check(gib: float) -> str:
    return f"your code {too_much_memory(gib)}"


def too_much_memory_at_import(filename: str, gib: float) -> str:
    return f"{filename} {too_much_memory(gib)} while it was being imported"


# -- the learner's file ------------------------------------------------------------------------------------------


def file_missing(path: str, exercise: str) -> str:
    return (f"{path} does not exist: run python -m grader "
            f"{exercise} --reset to get the stub back (or check --source)")


def changed_while_graded(filename: str) -> str:
    return (f"{filename} changed while it was being graded: this report is for the version saved before "
            "grading began; grade again to see your latest edit")


def disappeared_kept(filename: str, backup: str) -> str:
    return f"{filename} disappeared while it was being graded; the graded version is kept in {backup}"


def disappeared_put_back(filename: str, backup: str) -> str:
    return f"{filename} disappeared while it was being graded; it has been put back (a copy is in {backup})"


def both_changed(script: str, notebook: str, then: str) -> str:
    """An exercise's ``.py`` file and notebook were both worked on; ``then``: what follows, in each place's words."""
    return f"{script} and {notebook} both differ from the kit's stub, so {then}"


# How ``both_changed`` goes on: for the command line (which refuses), Classroom, the gradebook (a teacher reads
# it) and Gradescope (a learner who can upload again).
UNCLEAR_WHICH = ("which one to grade is unclear: keep your work in one of them and move the other out of "
                 "the folder")
NEITHER_GRADED = "neither was graded: keep your work in one of them and move the other out of the folder"
NEITHER_GRADED_TEACHER = "neither was graded: keep the work in one of them"
NEITHER_GRADED_UPLOAD = "neither was graded: upload only the one you want graded, and submit again."


def import_exited(filename: str, where: str) -> str:
    return (f"{filename} ended the program while it was being imported ({where}: sys.exit / SystemExit); "
            "keep top-level code to definitions")


def import_interrupted(filename: str, where: str) -> str:
    return f"{filename} raised KeyboardInterrupt while it was being imported ({where})"


def import_raised(filename: str, where: str, error: str) -> str:
    return f"could not import {filename}: {where}: {error}"


def assignment_skipped(where: str) -> str:
    """A notebook's kept assignment raised while the notebook was loaded without the cells the grader leaves out
    (``notebook.guarded``): printed by the graded code itself, with the error's type after it."""
    return f"{where} was not graded: without the cells the grader leaves out, it raised "


def not_written(stub: str) -> str:
    return f"`{stub}` is not written yet: it still raises NotImplementedError (see its TODO)"


def calls_not_written(caller: str, stub: str) -> str:
    return f"`{caller}` calls `{stub}`, which is not written yet: it still raises NotImplementedError (see its TODO)"


def missing_name(filename: str, name: str) -> str:
    return (f"{filename} has no `{name}`: the check needs it, with the "
            "name and arguments the exercise gives (was it renamed or deleted?)")


CHECK_FAILED = "the check failed"  # the suite's assertion said nothing more


def while_checking(error: str) -> str:
    """An exception raised outside the learner's frames: usually their function's arguments, or what it returned."""
    return f"while checking your code: {error}"


# -- learner code that tried to leave a check ---------------------------------------------------------------------


def called_exit(code: str) -> str:
    """``code``: the argument as written, ``''`` for none."""
    return f"your code called sys.exit({code}) during the check; return a value instead of exiting"


RAISED_KEYBOARD_INTERRUPT = "your code raised KeyboardInterrupt during the check"
CALLED_PYTEST_EXIT = ("your code called pytest.exit() during the check; that does not end grading, "
                      "and the check is not passed")
CALLED_PYTEST_XFAIL = ("your code called pytest.xfail() during the check; a check your code marks as failing "
                       "is not passed")
CALLED_PYTEST_SKIP = "your code called pytest.skip() during the check; a check your code skips is not passed"
STOPPED_SILENTLY = ("the check did not run to its end: something stopped it "
                    "without an exception reaching the grader")


def tampered(files: list[str]) -> str:
    return (f"the grader's own files were changed while your code ran ({', '.join(files)}): "
            "that is tampering, so these checks do not count; the files have been put back")


# -- the boundary between the judge and the learner process -------------------------------------------------------

NOT_RUNNING = "the learner's process is not running"
DID_NOT_START = "the learner's process did not start"
SENT_NO_ANSWER = "your code's process sent no answer"
ANSWER_UNREAD = "your code's process answered with something the grader does not read"
ERROR_UNREAD = "your code's process described an error in a way the grader does not read"


def not_plain_data(kind: str) -> str:
    return f"your code's process answered with something that is not plain data ({kind})"


def return_not_sent(error: str) -> str:
    return f"what your code returned could not be sent to the grader ({error})"


def return_not_read(error: str) -> str:
    return f"what your code returned could not be read ({error})"


def request_not_read(error: str) -> str:
    return f"the grader's request could not be read here ({error})"


def state_not_taken(error: str) -> str:
    return f"the learner's process could not take the grader's state ({error})"


def machinery_failed(error: str) -> str:
    return (f"the grader failed in your code's process while running this check ({error}); unless your code "
            "changes the grader's own modules, this is a bug in the kit: please report it with this message")


# -- the check's own fault, and checks not run here ---------------------------------------------------------------


def check_broken(suite: str, fault: str) -> str:
    return f"the check itself is broken, not your code: {suite}, {fault}; tell your teacher"


def crossing_refused(error: str) -> str:
    """Said of the check (``check_broken``): it handed the learner's code something that cannot cross."""
    return (f"it handed the learner's code something that cannot be sent to the learner's "
            f"process ({error}); pass tensors, models, optimizers and plain values")


NEEDS_CUDA = "needs a CUDA GPU: this grading runs on the CPU (use --device cuda on a machine with one)"
SKIPPED = "skipped"  # a suite's own pytest.skip() that gave no reason

# -- what is left out of a report ---------------------------------------------------------------------------------

OUTPUT_CUT = "\n[… more output not shown]"  # after a check's output, where the watchdog stopped keeping it
TEXT_CUT = "\n[… truncated]"  # after any text a report would otherwise hold too much of
