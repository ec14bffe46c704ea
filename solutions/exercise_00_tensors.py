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
    # dtype=torch.float32 converts ints too (torch.tensor([1, 2]) alone would be int64,
    # and an integer tensor cannot require gradients at all).
    # Passing requires_grad here, in the same call, makes the new tensor a leaf: a
    # conversion after it (.float(), .to()) would return a new, non-leaf tensor whose
    # .grad stays None.
    return torch.tensor(values, dtype=torch.float32, requires_grad=requires_grad)


def gradient(f, x: float) -> float:
    """Return the derivative d f(x) / dx at the point ``x``, computed by autograd.

    ``f`` takes a tensor and returns a one-element tensor, for example
    ``torch.sin`` or ``lambda t: t**3 - 2*t``. Compute in ``float32``. Return a
    Python ``float``. Every call starts afresh: calling ``gradient`` twice with
    the same ``f`` and ``x`` gives the same answer.
    """
    # A new leaf tensor on every call: nothing from an earlier call can be left in
    # its .grad (gradients add up in .grad, they are never replaced).
    point = torch.tensor(float(x), requires_grad=True)
    # The forward pass records the computation graph from point to the output ...
    output = f(point)
    # ... and backward() walks it in reverse, filling point.grad with d output / d point.
    output.backward()
    # .item() turns the one-element gradient tensor into a plain Python float.
    return point.grad.item()


def manual_linear_gradients(w: float, b: float, x: Tensor, y: Tensor) -> tuple[float, float]:
    """Return ``(dL/dw, dL/db)`` for ``L = mean((w*x + b - y)**2)``, computed by autograd.

    ``w`` and ``b`` are Python floats; ``x`` and ``y`` are tensors of the same
    shape (``[N, 1]`` or ``[N]``). The mean runs over every element. Return the
    two gradients as a tuple of Python floats, and leave ``x`` and ``y`` as
    they were.
    """
    # The two parameters are the leaves we want gradients for; the data needs none.
    weight = torch.tensor(float(w), requires_grad=True)
    bias = torch.tensor(float(b), requires_grad=True)
    # The forward pass: the line's predictions, then the mean squared error.
    predictions = weight * x + bias
    loss = ((predictions - y) ** 2).mean()
    # One backward pass fills both .grad attributes at once.
    loss.backward()
    return weight.grad.item(), bias.grad.item()


if __name__ == "__main__":
    # A demonstration: each function once, then the running example of the course,
    # learning y = 0.7x + 0.3, with gradients from manual_linear_gradients alone.
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
