"""Helpers shared by suites: exact type checks, numbers a learner can read, and what training did to a model.

Suites import these at collection time, before the learner's file is imported,
so the functions they use are bound before learner code could replace anything.
A helper that checks (``expect_*``, ``forward_records``, ``figure_from``) raises
``AssertionError`` with a message written for the learner; the grader reports
that message as the check's "what was observed". The others compute and fail nothing.

One module a topic, each name also importable from here (``from grader.checking import fmt``):

- ``text``: messages (``fmt``, ``fmt_list``, ``kind_of``, ``call_text``);
- ``values``: exact types, then values (``expect_float``, ``expect_close``, ``matching_value``, ``apart``, ...);
- ``training``: what a training step did to the parameters (``count_steps``, ``matching_outcome``, ...);
- ``probes``: models whose forward pass shows its state (``STATES``, ``states_of_loss``, ``expect_off``, ...);
- ``figures``: plots (``figure_from``, ``describe_labels``, ``points_labelled``, ``legend_texts``);
- ``models``: a learner's model made from a seed (``seeded_model``), the layers it ran (``linear_calls``);
- ``learner_process``: running a suite's function beside the learner's code (``in_learner_process``);
- ``calls``: what a call of the learner's code raised (``exception_from``).

The other modules hold the long machinery of the built-in suites (their reference runs, probe models and data),
named for their topic, so that each suite reads as a list of checks; a suite imports them by name
(``grader.checking.workflow``). They change with those suites: instructors' suites use the helpers above.
"""

from grader.checking.calls import exception_from
from grader.checking.figures import (as_points, describe_labels, figure_from, is_unlabelled, legend_texts,
                                     points_labelled, same_points)
from grader.checking.learner_process import in_learner_process, is_learner_model
from grader.checking.models import close, linear_calls, record_linear_calls, seeded_model
from grader.checking.probes import (PROBE_RECORD_CHANGED, RECORD_CHANGED, STATES, as_number, expect_off,
                                    expect_training_mode, forward_records, states_of_loss)
from grader.checking.text import call_text, fmt, fmt_list, kind_of
from grader.checking.training import (along, count_steps, expect_no_gradients, largest_difference,
                                      leave_stale_gradients, matching_outcome, parameters_of, steps_note, touched,
                                      trained)
from grader.checking.values import (apart, expect_close, expect_equal_tensors, expect_float, expect_metrics_dict,
                                    expect_not_swapped, expect_tensor, matching_value)

__all__ = [
    "PROBE_RECORD_CHANGED", "RECORD_CHANGED", "STATES", "along", "apart", "as_number", "as_points", "call_text",
    "close", "count_steps", "describe_labels", "exception_from", "expect_close", "expect_equal_tensors",
    "expect_float", "expect_metrics_dict", "expect_no_gradients", "expect_not_swapped", "expect_off", "expect_tensor",
    "expect_training_mode", "figure_from", "fmt", "fmt_list", "forward_records", "in_learner_process",
    "is_learner_model", "is_unlabelled", "kind_of", "largest_difference", "leave_stale_gradients", "legend_texts",
    "linear_calls", "matching_outcome", "matching_value", "parameters_of", "points_labelled", "record_linear_calls",
    "same_points", "seeded_model", "states_of_loss", "steps_note", "touched", "trained",
]
