"""Probe models whose forward pass shows the state it ran in: their records, and what the outcome shows."""

# A probe's record (``seen``) is written in the learner's process, so it only names a mistake;
# a verdict rests on the outcome (the loss returned, the layer trained), which ``states_of_loss`` reads.

from __future__ import annotations

import math

STATES = ((True, True), (True, False), (False, True), (False, False))  # (training, gradients tracked)

# What a message adds where a probe's own record claims what the outcome contradicts (exercises 03 and 04, then 07
# and 09, word it their way).
RECORD_CHANGED = ("; the model's own record (model.seen) says otherwise, so something rewrote it: leave the model's "
                  "attributes alone")
PROBE_RECORD_CHANGED = ("; the probe model's own record of its forward passes says otherwise, so something changed "
                        "that record: leave the model's attributes alone")


def as_number(value) -> float | None:
    """A returned loss as a float (a Python number or a one-element tensor); None for anything else."""
    import torch

    if type(value) in (float, int):
        number = float(value)
    elif type(value) is torch.Tensor and value.numel() == 1:
        number = value.detach().double().item()
    else:
        return None
    return number if math.isfinite(number) else None


def states_of_loss(value, losses: dict) -> list:
    """The states whose loss ``value`` is (none when it is no number, or another number).

    ``losses`` maps each state to its loss, or to a list of candidate losses.
    """
    number = as_number(value)
    if number is None:
        return []
    return [state for state, candidates in losses.items()
            if any(abs(number - loss) <= 1e-4 * max(1.0, abs(loss))
                   for loss in (candidates if isinstance(candidates, list) else [candidates]))]


def forward_records(model, function: str, model_name: str = "the probe model") -> list:
    """A probe's record of its forward passes (``model.seen``, pairs of flags) as it came back; fails if none."""
    seen = getattr(model, "seen", None)
    assert type(seen) is list and all(type(entry) is tuple and len(entry) == 2
                                      and all(type(flag) is bool for flag in entry) for entry in seen), (
        f"{function} replaced {model_name}'s record of its forward passes (model.seen) "
        "with something else: leave the model's attributes alone")
    assert seen, f"{function} never called the model (no forward pass)"
    return seen


def expect_training_mode(model, function: str, in_training: bool, in_eval: bool, returned: list,
                         record_changed: str, *, eval_mode: str, no_grad: str, nothing: str,
                         first_only: bool = False) -> None:
    """Fail unless a training step ran its forward passes in training mode with gradients tracked.

    Evidence first: ``in_training`` and ``in_eval`` say whether the step trained the probe's layer of each mode
    (``trained`` or ``touched``), ``returned`` lists the states whose loss it returned (``states_of_loss``). The
    messages are ``eval_mode``, ``no_grad`` and ``nothing`` (no outcome shows either), each followed by
    ``record_changed`` when the probe's own record claims training mode. Once the outcome shows training mode,
    the record (its first forward pass only, with ``first_only``) names what else happened.
    """
    seen = getattr(model, "seen", None)
    claimed = type(seen) is list and bool(seen) and all(
        entry == (True, True) for entry in (seen[:1] if first_only else seen))
    note = record_changed if claimed else ""
    assert not (in_eval or (not in_training and any(not training for training, _ in returned))), eval_mode + note
    if not in_training and returned != [(True, True)]:
        assert returned != [(True, False)], no_grad + note
        forward_records(model, function)
        raise AssertionError(nothing + note)
    seen = forward_records(model, function)[:1 if first_only else None]
    assert all(training for training, _ in seen), eval_mode
    assert all(grad_enabled for _, grad_enabled in seen), no_grad


def expect_off(flag: str, shown: list, seen: list, wrong: str, unknown: str, record_changed: str) -> None:
    """Fail unless an evaluation's outcome shows a forward pass with ``flag`` ("training" or "grad") off.

    ``shown`` lists the states the outcome can come from (``states_of_loss``); ``seen`` is the probe's record
    (``forward_records``), which only adds ``record_changed`` to ``wrong`` when it claims the flag was off.
    ``unknown`` is the message when the outcome shows no state at all.
    """
    index = ("training", "grad").index(flag)
    claimed = not any(entry[index] for entry in seen)
    assert claimed and not any(state[index] for state in shown), wrong + (record_changed if claimed else "")
    assert shown, unknown
