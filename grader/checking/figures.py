"""Plots: calling a learner's plotting function, and what its Figure shows (labels, points, legends)."""

from __future__ import annotations

import numpy as np

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


def legend_texts(figure, axes) -> list[str] | None:
    """The texts of the Axes' legend and of any Figure legend; None when there is no legend at all."""
    legends = [legend for legend in [axes.get_legend(), *figure.legends] if legend is not None]
    if not legends:
        return None
    return [text.get_text() for legend in legends for text in legend.get_texts()]


def points_labelled(axes, label: str) -> np.ndarray:
    """The (x, y) points drawn with ``label``, by scatters or lines with markers, as an array of shape [k, 2]."""
    found = []
    for collection in axes.collections:
        if collection.get_label() == label:
            found.append(np.asarray(collection.get_offsets(), dtype=float).reshape(-1, 2))
    for line in axes.get_lines():
        if line.get_label() == label:
            assert line.get_marker() not in (None, "None", "none", "", " "), (
                f"{label!r} is drawn as a line without markers; draw the points themselves, "
                "as a scatter (or a line with a marker and no line style)")
            x = np.asarray(line.get_xdata(orig=False), dtype=float).reshape(-1)
            y = np.asarray(line.get_ydata(orig=False), dtype=float).reshape(-1)
            found.append(np.column_stack([x, y]))
    labels = [artist.get_label() for artist in [*axes.collections, *axes.get_lines()]]
    assert found, (f"nothing is drawn with the label {label!r} "
                   f"({describe_labels(labels, ('set of points', 'sets of points'))})")
    return np.concatenate(found)


def as_points(inputs, targets) -> np.ndarray:
    """Two tensors of the same length as (x, y) points, an array of shape [k, 2] (on the CPU, detached)."""
    return np.column_stack([inputs.detach().cpu().double().reshape(-1).numpy(),
                            targets.detach().cpu().double().reshape(-1).numpy()])


def same_points(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two sets of (x, y) points are the same, in any order."""
    if a.shape != b.shape:
        return False
    return bool(np.allclose(a[np.lexsort(a.T[::-1])], b[np.lexsort(b.T[::-1])], rtol=1e-5, atol=1e-5))
