"""The learner process: whether a model lives there, and running a suite's function beside the learner's code."""

from __future__ import annotations


def is_learner_model(model) -> bool:
    """Whether ``model`` is the learner's own (made by their code), which lives in the learner process."""
    from grader.boundary.judge import Mirror

    return isinstance(model, Mirror)


def in_learner_process(anchor, function, *args, **kwargs):
    """Run ``function(*args, **kwargs)`` in the learner process, beside the learner's objects; return its result.

    ``anchor`` is the ``learner`` fixture or any object of the learner's; ``function`` must be defined at
    the top level of the suite or of a module of ``grader.checking`` (it is sent by name). Learner code can
    tamper with what runs there: treat the result as the learner's own answer, and check what decides a
    verdict here.
    """
    from grader.boundary.judge import process_of

    return process_of(anchor).call(function, args, kwargs)
