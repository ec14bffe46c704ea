"""A matplotlib Figure crosses as plain data, and the judge draws a Figure of its own from it.

What the suites read is kept: the Axes with their title and axis labels, each
line (data, label, marker, line style), each scatter (points, label), and the
texts of every legend. The judge's Figure answers the same matplotlib calls
(``get_axes``, ``get_lines``, ``collections``, ``get_legend().get_texts()``),
so checks written against a learner's Figure read the judge's copy unchanged.
"""

from __future__ import annotations

import torch

from grader.boundary.values import FigureSpec

SHOWN = "_kit_shown"  # set on a Figure by the learner process when learner code calls its show()


def describe(figure) -> FigureSpec:
    """The learner process's side: the Figure as plain data."""
    axes = []
    for ax in figure.get_axes():
        lines = [{"x": _numbers(line.get_xdata()), "y": _numbers(line.get_ydata()), "label": str(line.get_label()),
                  "marker": str(line.get_marker()), "linestyle": str(line.get_linestyle())}
                 for line in ax.get_lines()]
        collections = []
        for collection in ax.collections:
            offsets = collection.get_offsets() if hasattr(collection, "get_offsets") else []
            collections.append({"points": _numbers(offsets), "label": str(collection.get_label()),
                                "scatter": type(collection).__name__ == "PathCollection"})
        legend = ax.get_legend()
        axes.append({"title": ax.get_title(), "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel(),
                     "lines": lines, "collections": collections,
                     "legend": None if legend is None else [text.get_text() for text in legend.get_texts()]})
    legends = [[text.get_text() for text in legend.get_texts()] for legend in getattr(figure, "legends", [])]
    return FigureSpec(axes, legends, bool(getattr(figure, SHOWN, False)))


def _numbers(values) -> torch.Tensor:
    import numpy

    try:
        return torch.from_numpy(numpy.asarray(values, dtype=numpy.float64).copy())
    except (TypeError, ValueError):  # dates or text on an axis: not something a check here compares
        return torch.zeros(0)


def rebuild(spec: FigureSpec):
    """The judge's side: a Figure (not registered with pyplot) that holds what the learner's Figure held."""
    from matplotlib.collections import PathCollection
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    figure = Figure()
    for index, described in enumerate(spec.axes):
        ax = figure.add_subplot(len(spec.axes), 1, index + 1)
        ax.set_title(described["title"])
        ax.set_xlabel(described["xlabel"])
        ax.set_ylabel(described["ylabel"])
        for line in described["lines"]:
            ax.add_line(Line2D(line["x"].numpy(), line["y"].numpy(), label=line["label"], marker=line["marker"],
                               linestyle=line["linestyle"]))
        for collection in described["collections"]:
            points = collection["points"].numpy().reshape(-1, 2) if collection["points"].numel() else None
            ax.add_collection(PathCollection([], offsets=points, label=collection["label"]))
        if described["legend"] is not None:
            ax.legend([Line2D([], []) for _ in described["legend"]], described["legend"])
    for texts in spec.legends:
        figure.legend([Line2D([], []) for _ in texts], texts)
    if spec.shown:
        figure.show()  # what the learner's code did, so a suite that watches Figure.show sees it
    return figure
