"""Exercise 00: tensors and autograd. The warm-up before the workflow.

Lesson: lessons/00_tensors.md. Grade it with: python -m grader exercise_00

Three small functions, each one idea from the lesson:

    make_tensor              a list of numbers -> a float32 tensor, tracking gradients or not
    gradient                 the derivative of any function at a point, found by autograd
    manual_linear_gradients  the gradients that training a line y = w*x + b will follow

The file imports only torch, so it can be graded on its own.
"""

from __future__ import annotations

import torch
from torch import Tensor


def make_tensor(values: list[float], requires_grad: bool = False) -> Tensor:
    """Turn a flat list of numbers into a 1-D ``float32`` tensor.

    The list may hold floats, ints or both: the result is ``float32`` either
    way, with shape ``[len(values)]``. With ``requires_grad=True`` the tensor
    tracks gradients: it is a leaf of the computation graph, so after a
    ``backward()`` its own ``.grad`` holds the gradient.
    """
    # TODO: build the tensor with torch.tensor(...): make it float32 whatever the list
    #       holds (ints too), and pass requires_grad in the same call, so that the
    #       tensor you return is the leaf whose .grad backward() fills.
    raise NotImplementedError("make_tensor")


def gradient(f, x: float) -> float:
    """Return the derivative d f(x) / dx at the point ``x``, computed by autograd.

    ``f`` takes a tensor and returns a one-element tensor, for example
    ``torch.sin`` or ``lambda t: t**3 - 2*t``. Compute in ``float32``. Return a
    Python ``float``. Every call starts afresh: calling ``gradient`` twice with
    the same ``f`` and ``x`` gives the same answer.
    """
    # TODO: make a new float32 tensor holding x that tracks gradients (a new one on
    #       every call, so nothing is left over from an earlier call).
    # TODO: call f on it, call backward() on the result, and return the tensor's
    #       .grad as a Python float.
    raise NotImplementedError("gradient")


def manual_linear_gradients(w: float, b: float, x: Tensor, y: Tensor) -> tuple[float, float]:
    """Return ``(dL/dw, dL/db)`` for ``L = mean((w*x + b - y)**2)``, computed by autograd.

    ``w`` and ``b`` are Python floats; ``x`` and ``y`` are tensors of the same
    shape (``[N, 1]`` or ``[N]``). The mean runs over every element. Return the
    two gradients as a tuple of Python floats, and leave ``x`` and ``y`` as
    they were.
    """
    # TODO: make w and b tensors that track gradients (x and y need none).
    # TODO: compute the predictions w * x + b, then the loss: the mean of the squared
    #       differences from y.
    # TODO: one backward() on the loss; return (dL/dw, dL/db) as two Python floats.
    raise NotImplementedError("manual_linear_gradients")


if __name__ == "__main__":
    # Once your functions work, run this file: it tries each one, then learns
    # y = 0.7x + 0.3 with nothing but the gradients from manual_linear_gradients.
    print(make_tensor([1, 2, 3.5]), make_tensor([0.5], requires_grad=True))
    print(f"d/dx x**2 at x=3: {gradient(lambda t: t**2, 3.0):.4f}")   # 6.0000
    print(f"d/dx sin(x) at x=0: {gradient(torch.sin, 0.0):.4f}")      # 1.0000

    X = torch.arange(0.0, 1.0, 0.02).unsqueeze(1)
    y = 0.7 * X + 0.3
    w, b, lr = 0.0, 0.0, 0.5
    for step in range(1, 1001):
        dw, db = manual_linear_gradients(w, b, X, y)
        w, b = w - lr * dw, b - lr * db
        if step in (1, 10, 100, 1000):
            print(f"step {step:4d}: w={w:.4f} b={b:.4f}")
