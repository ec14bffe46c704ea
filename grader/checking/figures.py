"""Plots: calling a learner's plotting function, and what its Figure shows (labels, points, legends)."""

from __future__ import annotations

from grader.checking.text import kind_of


def is_unlabelled(label) -> bool:
    """Whether matplotlib named this artist itself because no ``label=`` was given.

    Such names start with an underscore: ``_child0``, ``_child1``, ``_line0``, ``_nolegend_``.
    They are matplotlib's internals, never shown to a learner as if they were labels.
    """
    return str(label).startswith("_")


def describe_labels(labels, kinds: tuple[str, str] = ("artist", "artists")) -> str:
    """What the learner labelled, for a message: ``labels found: 'Train loss'; 1 line has no label=``.

    ``labels`` are the labels of the drawn artists (or the texts of a legend's
    entries); ``kinds`` names one of them and several, as ``("line", "lines")``.
    """
    one, several = kinds
    labels = [str(label) for label in labels]
    given = sorted({label for label in labels if not is_unlabelled(label)})
    unlabelled = sum(is_unlabelled(label) for label in labels)
    if not labels:
        return f"no {one} at all"
    if not given:
        return f"the one {one} has no label=" if unlabelled == 1 else f"none of the {unlabelled} {several} has a label="
    found = f"labels found: {', '.join(map(repr, given))}"
    if unlabelled:
        found += f"; 1 {one} has no label=" if unlabelled == 1 else f"; {unlabelled} {several} have no label="
    return found


def figure_from(learner, function: str, *args, monkeypatch):
    """Call the learner's plotting ``function``; fail unless it returns a matplotlib Figure without showing it."""
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    shown = []
    monkeypatch.setattr(plt, "show", lambda *args, **kwargs: shown.append(True))
    monkeypatch.setattr(Figure, "show", lambda *args, **kwargs: shown.append(True))
    figure = getattr(learner, function)(*args)
    assert not shown, f"{function} called show(): return the Figure and let the caller decide"
    assert isinstance(figure, Figure), f"{function} returned {kind_of(figure)}, not a matplotlib Figure"
    return figure
