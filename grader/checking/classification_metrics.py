"""Exercise 07's classification_metrics: logits of imbalanced classes, and what the usual averages give instead."""

from __future__ import annotations

import torch

from grader.checking.text import fmt
from grader.checking.values import apart, expect_metrics_dict


def confusion(predictions: torch.Tensor, targets: torch.Tensor, n_classes: int) -> torch.Tensor:
    """``matrix[t, p]``: how many rows of true class t were predicted as p."""
    return torch.bincount(targets * n_classes + predictions, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def averages(matrix: torch.Tensor, over: torch.Tensor) -> dict[str, float]:
    """Precision and recall averaged (plainly) over the classes ``over``, a 0/0 counting as 0."""
    matrix = matrix.double()
    hits, predicted, actual = matrix.diag(), matrix.sum(0), matrix.sum(1)
    precision = torch.where(predicted > 0, hits / predicted.clamp(min=1), torch.zeros_like(hits))
    recall = torch.where(actual > 0, hits / actual.clamp(min=1), torch.zeros_like(hits))
    return {"precision": precision[over].mean().item(), "recall": recall[over].mean().item()}


def learner_metrics(learner, logits, targets) -> dict[str, float]:
    """Call ``classification_metrics`` and check that it returns the contract's dict of Python floats."""
    return expect_metrics_dict(learner.classification_metrics(logits.clone(), targets.clone()),
                               "classification_metrics", ("accuracy", "precision", "recall"),
                               "a class with 0/0 (never predicted, or never true) counts as 0")


def logits_for(predictions: torch.Tensor, n_classes: int, generator: torch.Generator) -> torch.Tensor:
    """Random logits whose argmax is ``predictions``, with values of both signs (so no rounding helps)."""
    logits = torch.randn(len(predictions), n_classes, generator=generator)
    logits[torch.arange(len(predictions)), predictions] = logits.max(dim=1).values + 0.5 + torch.rand(len(predictions), generator=generator)
    return logits


def accuracy_problem(seed: int):
    """Logits of 40 rows and 4 classes, their targets, and the accuracy of argmax(logits)."""
    generator = torch.Generator().manual_seed(seed)
    n, n_classes = 40, 4
    targets = torch.randint(0, n_classes, (n,), generator=generator)
    predictions = torch.where(torch.rand(n, generator=generator) < 0.6, targets,
                              torch.randint(0, n_classes, (n,), generator=generator))
    logits = logits_for(predictions, n_classes, generator)
    return logits, targets, (predictions == targets).double().mean().item()


def macro_problem(seed: int):
    """Imbalanced classes, every class both true and predicted somewhere; micro, macro, weighted and swapped all differ."""
    generator = torch.Generator().manual_seed(seed)
    n_classes = 4
    for _ in range(100):
        sizes = torch.randint(3, 25, (n_classes,), generator=generator)
        targets = torch.arange(n_classes).repeat_interleave(sizes)
        targets = targets[torch.randperm(len(targets), generator=generator)]
        predictions = torch.where(torch.rand(len(targets), generator=generator) < 0.6, targets,
                                  torch.randint(0, n_classes, (len(targets),), generator=generator))
        matrix = confusion(predictions, targets, n_classes)
        if not (bool((matrix.sum(0) > 0).all()) and bool((matrix.sum(1) > 0).all())):
            continue
        macro = averages(matrix, torch.arange(n_classes))
        accuracy = (predictions == targets).double().mean().item()
        weights = sizes.double() / sizes.sum()
        hits = matrix.double().diag()
        weighted_precision = (weights * hits / matrix.sum(0).double()).sum().item()
        if apart([macro["precision"], macro["recall"], accuracy, weighted_precision], 0.01):
            return logits_for(predictions, n_classes, generator), targets, macro, accuracy, weighted_precision
    raise RuntimeError("could not make a metrics problem")  # never happens for any seed tried


def macro_mistakes(key: str, macro: dict, accuracy: float, weighted_precision: float) -> dict[str, float]:
    """What the usual mistakes give for the precision or recall (``key``) of ``macro_problem``, each described."""
    other = "recall" if key == "precision" else "precision"
    mistakes = {
        "the same as the accuracy: that is the micro average (counts pooled over all classes); the macro average "
        f"is {fmt(macro[key])}": accuracy,
        f"which is the macro {other}: precision divides by the rows predicted as a class, recall by the rows truly "
        "of it": macro[other],
    }
    if key == "precision":
        mistakes["each class weighted by its number of rows; the macro average weighs every class the same: "
                 f"{fmt(macro[key])}"] = weighted_precision
    return mistakes


def classes_problem(seed: int):
    """Logits and targets where two classes are predicted but never true, one true but never predicted, one nowhere.

    Returns them with the macro precision and recall over the classes present, and for each of the two the
    averages over other sets of classes, each described as the mistake that gives it. A class on one side only
    adds 0 to both sums, so the sets must differ in size for each average to differ: 6 present, 7 in all, 4 in
    the targets, 5 predicted. Each of precision and recall is kept apart from its mistakes and from the other.
    """
    generator = torch.Generator().manual_seed(seed)
    n_classes = 7
    for _ in range(100):
        classes = torch.randperm(n_classes, generator=generator)
        if classes[6] == n_classes - 1:
            # The class that appears nowhere is never the last: averaging over range(largest label + 1), a common
            # way, would leave it out by chance and pass (4 seeds in 16).
            continue
        both, only_predicted, only_true = classes[:3], classes[3:5], classes[5]  # classes[6] appears nowhere
        targets = both[torch.randint(0, 3, (30,), generator=generator)]
        predictions = torch.where(torch.rand(30, generator=generator) < 0.7, targets,
                                  both[torch.randint(0, 3, (30,), generator=generator)])
        targets = torch.cat([targets, only_true.repeat(3), both[:3]])
        predictions = torch.cat([predictions, both[:3], only_predicted.repeat_interleave(2)[:3]])
        matrix = confusion(predictions, targets, n_classes)
        present = torch.tensor(sorted(set(targets.tolist()) | set(predictions.tolist())))
        expected = averages(matrix, present)
        over_all = averages(matrix, torch.arange(n_classes))
        over_targets = averages(matrix, torch.tensor(sorted(set(targets.tolist()))))
        over_predicted = averages(matrix, torch.tensor(sorted(set(predictions.tolist()))))
        mistaken = {key: {
            f"averaged over all {n_classes} columns of the logits; class {int(classes[6])} appears nowhere and is "
            "left out": over_all[key],
            f"averaged only over the classes in targets; classes {int(only_predicted[0])} and "
            f"{int(only_predicted[1])} are predicted but never true and count too": over_targets[key],
            f"averaged only over the predicted classes; class {int(only_true)} is true but never predicted and "
            "counts too": over_predicted[key],
        } for key in ("precision", "recall")}
        if all(apart([expected["precision"], expected["recall"], *mistaken[key].values()], 0.01)
               for key in ("precision", "recall")):
            return logits_for(predictions, n_classes, generator), targets, expected, mistaken
    raise RuntimeError("could not make a metrics problem")  # never happens for any seed tried

