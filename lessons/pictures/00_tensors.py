"""Make the pictures of lesson 00 (tensors and autograd): python lessons/pictures/00_tensors.py OUT_DIR

Writes three PNGs into OUT_DIR:

- 00_graph.png    the computation graph of y = x**2 + 3*x at x = 2, forward values and backward gradients
- 00_slope.png    the loss of the line as a function of w alone, with the slope autograd gives at two points
- 00_descent.png  the loss over (w, b) as contours, and the path of 1000 steps of gradient descent by hand

It computes what it draws with torch itself, instead of importing an exercise
or a solution, so it draws the same pictures whatever state a learner's files
are in. The course's data, saving and the command line come from common.py,
shared by all the picture scripts.
"""

from __future__ import annotations

import sys
from pathlib import Path

from common import line_data, run, save  # first: it sets matplotlib up to write files only

import matplotlib.pyplot as plt
import torch
from matplotlib.patches import FancyBboxPatch

X, Y = line_data()  # the course's 50 inputs, shape [50, 1], and y = 0.7x + 0.3


def mse(w, b):
    """The lesson's loss: mean((w*x + b - y)**2) over the course's data."""
    return ((w * X + b - Y) ** 2).mean()


def graph(path: Path) -> None:
    """Boxes for the tensors of y = x**2 + 3*x, arrows forward (values) and backward (gradients)."""
    x = torch.tensor(2.0, requires_grad=True)
    square, triple = x**2, 3 * x
    y = square + triple
    y.backward()

    figure, axes = plt.subplots(figsize=(8, 3.6))
    axes.set_xlim(0, 10)
    axes.set_ylim(0, 4.6)
    axes.axis("off")
    boxes = {  # name: (centre x, centre y, text, colour)
        "x": (1.3, 2.2, f"x = {x.item():g}\nrequires_grad=True\n(a leaf)", "#cfe3f6"),
        "square": (5.0, 3.4, f"x**2 = {square.item():g}\ngrad_fn=PowBackward0", "#eeeeee"),
        "triple": (5.0, 1.0, f"3*x = {triple.item():g}\ngrad_fn=MulBackward0", "#eeeeee"),
        "y": (8.6, 2.2, f"y = {y.item():g}\ngrad_fn=AddBackward0", "#fde2c8"),
    }
    for cx, cy, text, colour in boxes.values():
        axes.add_patch(FancyBboxPatch((cx - 1.15, cy - 0.5), 2.3, 1.0, boxstyle="round,pad=0.05",
                                      facecolor=colour, edgecolor="black", linewidth=0.8))
        axes.text(cx, cy, text, ha="center", va="center", fontsize=9)

    def arrow(start, end, colour, label, offset, style="->"):
        (x0, y0), (x1, y1) = start, end
        axes.annotate("", xy=(x1, y1), xytext=(x0, y0),
                      arrowprops={"arrowstyle": style, "color": colour, "linewidth": 1.4})
        axes.text((x0 + x1) / 2 + offset[0], (y0 + y1) / 2 + offset[1], label, color=colour, fontsize=8.5,
                  ha="center", va="center")

    forward, backward = "tab:blue", "tab:red"
    # Forward: x feeds both branches, both feed y.
    arrow((2.45, 2.5), (3.85, 3.3), forward, "square it", (-0.3, 0.3))
    arrow((2.45, 1.9), (3.85, 1.1), forward, "times 3", (-0.3, -0.3))
    arrow((6.15, 3.3), (7.45, 2.5), forward, "add", (0.25, 0.3))
    arrow((6.15, 1.1), (7.45, 1.9), forward, "add", (0.25, -0.3))
    # Backward: each branch sends back its local slope; x.grad is their sum.
    arrow((3.85, 3.0), (2.45, 2.2), backward, "2·x = 4", (0.25, -0.05))
    arrow((3.85, 1.4), (2.45, 2.0), backward, "3", (0.25, 0.05))
    axes.text(1.3, 0.95, f"x.grad = 4 + 3 = {x.grad.item():g}", color=backward, fontsize=10, ha="center",
              fontweight="bold")
    axes.text(5.0, 4.4, "forward: values flow right (blue)      backward(): gradients flow left (red)",
              ha="center", fontsize=9)
    save(figure, path)


def slope(path: Path) -> None:
    """The loss as a function of w (b held at 0.3), and the tangent that autograd's gradient describes."""
    ws = torch.linspace(-0.2, 1.6, 200)
    losses = [mse(w, 0.3).item() for w in ws]
    figure, axes = plt.subplots(figsize=(7, 4.2))
    axes.plot(ws, losses, color="black", linewidth=1.6, label="loss(w), with b = 0.3")
    for w0, colour in ((0.2, "tab:red"), (1.3, "tab:purple")):
        w = torch.tensor(w0, requires_grad=True)
        loss = mse(w, 0.3)
        loss.backward()
        grad = w.grad.item()
        near = torch.linspace(w0 - 0.3, w0 + 0.3, 2)
        axes.plot(near, loss.item() + grad * (near - w0), color=colour, linewidth=1.4, linestyle="--",
                  label=f"slope at w = {w0}: w.grad = {grad:.3f}")
        axes.plot([w0], [loss.item()], "o", color=colour)
        # An arrow along w, from the point, the way a step of gradient descent goes: against the slope.
        step = -0.25 if grad > 0 else 0.25
        axes.annotate("", xy=(w0 + step, loss.item() + 0.03), xytext=(w0, loss.item() + 0.03),
                      arrowprops={"arrowstyle": "->", "color": colour, "linewidth": 1.6})
        axes.text(w0 + step / 2, loss.item() + 0.04, "downhill", color=colour, fontsize=8.5, ha="center")
    axes.axvline(0.7, color="grey", linewidth=0.8, linestyle=":")
    axes.text(0.72, 0.16, "w = 0.7:\nslope 0,\nthe bottom", color="grey", fontsize=8.5)
    axes.set_xlabel("w")
    axes.set_ylabel("MSE loss")
    axes.set_title("The gradient is the slope of the loss: step the other way")
    axes.set_ylim(bottom=0)
    axes.legend(fontsize=8.5, loc="upper center")
    save(figure, path)


def descent(path: Path, steps: int = 1000, lr: float = 0.5) -> None:
    """Contours of the loss over (w, b) and the path of plain gradient descent from (0, 0)."""
    w = torch.tensor(0.0, requires_grad=True)
    b = torch.tensor(0.0, requires_grad=True)
    path_w, path_b = [0.0], [0.0]
    for _ in range(steps):
        loss = mse(w, b)
        w.grad, b.grad = None, None
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
        path_w.append(w.item())
        path_b.append(b.item())

    grid_w, grid_b = torch.meshgrid(torch.linspace(-0.1, 1.3, 120), torch.linspace(-0.1, 0.8, 120), indexing="ij")
    surface = ((grid_w.unsqueeze(-1) * X.squeeze(1) + grid_b.unsqueeze(-1) - Y.squeeze(1)) ** 2).mean(-1)
    figure, axes = plt.subplots(figsize=(7, 4.6))
    contours = axes.contour(grid_w, grid_b, surface, levels=[0.002, 0.01, 0.03, 0.07, 0.15, 0.3, 0.5],
                            cmap="viridis", linewidths=1)
    axes.clabel(contours, fontsize=7)
    axes.plot(path_w, path_b, "-", color="tab:red", linewidth=1.2, label="gradient descent, lr = 0.5")
    for step in (0, 1, 2, 10):
        axes.plot(path_w[step], path_b[step], "o", color="tab:red", markersize=4)
        axes.annotate(f"step {step}", (path_w[step], path_b[step]), textcoords="offset points",
                      xytext=(6, 4 if step != 2 else -12), fontsize=8)
    axes.plot([0.7], [0.3], "*", color="black", markersize=10, label="the answer: w = 0.7, b = 0.3")
    axes.set_xlabel("w")
    axes.set_ylabel("b")
    axes.set_title("Each step goes downhill across the contours of the loss")
    axes.legend(fontsize=8.5, loc="upper right")
    save(figure, path)


if __name__ == "__main__":
    sys.exit(run(sys.argv, {
        "00_graph.png": graph,
        "00_slope.png": slope,
        "00_descent.png": descent,
    }))
