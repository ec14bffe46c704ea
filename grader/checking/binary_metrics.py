"""Exercise 09's binary_metrics: probabilities and imbalanced targets, and what the usual mistakes give instead."""

from __future__ import annotations

import torch

from grader.checking.text import fmt
from grader.checking.values import apart, expect_metrics_dict


KEYS = ("accuracy", "precision", "recall", "f1")


def learner_metrics(learner, probabilities, targets, *threshold) -> dict[str, float]:
    """Call ``binary_metrics`` and check it returns the contract's dict of four Python floats."""
    return expect_metrics_dict(learner.binary_metrics(probabilities.clone(), targets.clone(), *threshold),
                               "binary_metrics", KEYS,
                               "a 0/0 (nothing predicted positive, or nothing truly positive) counts as 0")


def counts(predicted: torch.Tensor, actual: torch.Tensor) -> dict[str, float]:
    """The four metrics worked out from bool predictions and bool targets, 0/0 counting as 0."""
    tp = int((predicted & actual).sum())
    n_predicted, n_actual = int(predicted.sum()), int(actual.sum())
    precision = tp / n_predicted if n_predicted else 0.0
    recall = tp / n_actual if n_actual else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"accuracy": int((predicted == actual).sum()) / len(actual), "precision": precision, "recall": recall,
            "f1": f1}


def metrics_problem(seed: int, n: int = 60):
    """Probabilities clear of 0.5 and imbalanced targets, whose precision and recall differ from each other,
    from those of class 0 and from the means over both classes, so that a swap, the wrong class or an average
    over both classes shows, and is told as what it is (``positive_class_mistakes``)."""
    generator = torch.Generator().manual_seed(seed)
    for _ in range(1000):
        actual = torch.rand(n, generator=generator) < 0.35
        # Right about 70 % of the time, with probabilities never within 0.01 of the threshold.
        right = torch.rand(n, generator=generator) < 0.7
        predicted = torch.where(right, actual, ~actual)
        margin = 0.01 + 0.48 * torch.rand(n, generator=generator)
        probabilities = torch.where(predicted, 0.5 + margin, 0.5 - margin)
        expected = counts(predicted, actual)
        negative = counts(~predicted, ~actual)
        values = [expected["precision"], expected["recall"], negative["precision"], negative["recall"],
                  *((expected[key] + negative[key]) / 2 for key in ("precision", "recall"))]
        if apart(values, 0.02):
            return probabilities, actual.float(), expected, negative
    raise RuntimeError("could not make a metrics problem")  # never happens for any seed tried


def expect_no_percentage(value: float, wanted: float, what: str) -> None:
    """Fail if ``value`` is the fraction ``wanted`` given as a percentage."""
    assert not (abs(value - 100 * wanted) < 1e-3), (
        f"{what} was {fmt(value)}, a percentage; return a fraction between 0 and 1 ({fmt(wanted)})")


def positive_class_mistakes(key: str, expected: dict, negative: dict) -> dict[str, float]:
    """What the usual mistakes give for the precision or recall (``key``) of ``metrics_problem``, each described."""
    other, wanted = "recall" if key == "precision" else "precision", expected[key]
    return {
        f"which is the {other}: precision divides the true positives by the rows predicted positive, recall by the "
        "rows truly positive": expected[other],
        f"the {key} of class 0; give it for the positive class, label 1: {fmt(wanted)}": negative[key],
        f"the mean over both classes (a macro average); give it for the positive class only: {fmt(wanted)}":
            (negative[key] + wanted) / 2,
    }


def as_decided(predicted: torch.Tensor) -> torch.Tensor:
    """Probabilities far from 0.5 that make exactly the rows of ``predicted`` positive at the default threshold."""
    return torch.where(predicted, torch.tensor(0.9), torch.tensor(0.1))


def same_metrics(a: dict, b: dict) -> bool:
    return all(abs(a[key] - b[key]) <= 1e-6 for key in KEYS)


def expect_decided_at(learner, threshold: float, result: dict, probabilities, targets, called: str) -> None:
    """Fail unless ``result`` are the metrics of the predictions ``probabilities >= threshold``.

    Compared with the learner's own metrics of the same decisions made clear-cut (``as_decided``), so that
    only the threshold is judged, whatever the formulas of the metrics; ``called`` names the threshold used.
    """
    if same_metrics(result, learner_metrics(learner, as_decided(probabilities >= threshold), targets)):
        return
    assert not same_metrics(result, learner_metrics(learner, as_decided(probabilities > threshold), targets)), (
        f"with {called} the rows whose probability is exactly {threshold} were counted "
        "negative: a probability at the threshold is predicted positive (>=, not >)")
    at_half = as_decided(probabilities >= 0.5)
    assert not (threshold != 0.5 and same_metrics(result, learner_metrics(learner, at_half, targets))), (
        f"with {called} the metrics are those of a threshold of 0.5: use the threshold argument")
    raise AssertionError(f"with {called} the metrics differ from those of the predictions "
                         f"probability >= {threshold}")


def zero_division_problem(seed: int) -> list:
    """Three situations with a 0/0 among the metrics, each as (what it is, probabilities, bool targets)."""
    generator = torch.Generator().manual_seed(seed)
    n = 20
    some = torch.rand(n, generator=generator) < 0.5
    some[0], some[1] = True, False
    low, high = 0.4 * torch.rand(n, generator=generator), 0.6 + 0.4 * torch.rand(n, generator=generator)
    return [
        ("nothing is predicted positive", low, some),
        ("nothing is truly positive", torch.where(some, high, low), torch.zeros(n, dtype=torch.bool)),
        ("nothing is positive at all", low, torch.zeros(n, dtype=torch.bool)),
    ]


def expect_not_plain_average(value, wanted, expected):
    """F1 is not the arithmetic mean of precision and recall."""
    arithmetic = (expected["precision"] + expected["recall"]) / 2
    assert not (abs(value - arithmetic) <= 1e-6), (
        f"f1 was {fmt(value)}, the plain average of precision and recall; F1 is their harmonic mean, {fmt(wanted)}")


def threshold_cases(seed: int, n: int = 40):
    """(threshold, probabilities, targets) for 0.25, 0.75 and 0.5, some rows exactly at the threshold."""
    generator = torch.Generator().manual_seed(seed)
    targets = (torch.rand(n, generator=generator) < 0.5).float()
    for threshold in (0.25, 0.75, 0.5):  # exact in binary, so float32 and Python floats agree on them
        probabilities = torch.rand(n, generator=generator)
        probabilities[torch.randperm(n, generator=generator)[:8]] = threshold  # some rows exactly at the threshold
        yield threshold, probabilities, targets


def expect_zero_division_as_zero(result: dict, expected: dict, situation: str) -> None:
    """Precision, recall and F1 as expected, a 0/0 counting as 0."""
    for key in ("precision", "recall", "f1"):  # the accuracy is no 0/0, and has a check of its own
        assert abs(result[key] - expected[key]) <= 1e-6, (
            f"when {situation}, {key} was {fmt(result[key])}; expected {fmt(expected[key])} (a 0/0 counts as 0)")


def expect_same_as_floats(result: dict, with_floats: dict, dtype) -> None:
    """The metrics for targets of another dtype equal those for float targets."""
    differing = [key for key in KEYS if abs(result[key] - with_floats[key]) > 1e-6]
    assert not differing, (
        f"with {dtype} targets the {', '.join(differing)} differ from those with the same targets as floats "
        f"({differing[0]} was {fmt(result[differing[0]])} instead of {fmt(with_floats[differing[0]])})")
