"""Messages a learner can read: numbers rounded sensibly, values named by their type, calls as they are written."""

from __future__ import annotations

import math


def fmt(value) -> str:
    """A number rounded sensibly for a message: four significant digits."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return repr(value)
    if math.isnan(number) or math.isinf(number):
        return str(number)
    return f"{number:.4g}"


def fmt_list(values, limit: int = 6) -> str:
    """``[1, 2, 3, …]`` with at most ``limit`` items, each rounded by ``fmt``."""
    values = list(values)
    shown = ", ".join(fmt(value) if not isinstance(value, int) else str(value) for value in values[:limit])
    return f"[{shown}{', …' if len(values) > limit else ''}]"


def kind_of(value) -> str:
    """A learner-friendly name for a value's type."""
    kind = type(value)
    if kind.__module__ == "torch" and kind.__name__ == "Tensor":
        return f"a torch.Tensor of shape {list(value.shape)}"
    if kind.__module__ in ("builtins",):
        return f"a {kind.__name__}" if kind is not type(None) else "None"
    return f"a {kind.__module__}.{kind.__name__}"


def call_text(name: str, *args, show=repr, **kwargs) -> str:
    """A call as a learner would write it: ``call_text("fit", "model", epochs=3)`` is ``fit(model, epochs=3)``.

    Positional arguments are shown as they are given (text); keyword values through ``show``
    (``repr`` by default, so that the learner can repeat the call exactly).
    """
    shown = [str(arg) for arg in args] + [f"{key}={show(value)}" for key, value in kwargs.items()]
    return f"{name}({', '.join(shown)})"
