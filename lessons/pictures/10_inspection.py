"""Make the pictures of lesson 10 (looking inside a model): python lessons/pictures/10_inspection.py OUT_DIR

Writes two PNGs into OUT_DIR:

- 10_samples.png      six noisy samples of each of the four kinds of stroke
- 10_activations.png  the trained model's hidden activations for twelve test images (three per class),
                      and what training changed in the weights of eight hidden units, drawn as images

It makes the lesson's data and model and trains them with the lesson's loop itself
instead of importing an exercise or a solution, so it draws the same pictures whatever
state a learner's files are in. Saving and the command line come from common.py,
shared by all the picture scripts.
"""

from __future__ import annotations

import sys
from pathlib import Path

from common import run, save  # first: it sets matplotlib up to write files only

import matplotlib.pyplot as plt
import torch
from torch import nn

CLASS_NAMES = ["row", "column", "diagonal", "anti-diagonal"]


def make_strokes(n_per_class: int, size: int = 16, seed: int = 0):
    """The lesson's images: [N, 1, size, size] strokes of four kinds with noise, and their labels [N]."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(4).repeat_interleave(n_per_class)
    images = torch.zeros(len(labels), 1, size, size)
    steps = torch.arange(size)
    for i, label in enumerate(labels.tolist()):
        where = int(torch.randint(3, size - 3, (1,), generator=generator))
        if label == 0:
            images[i, 0, where, :] = 1.0
        elif label == 1:
            images[i, 0, :, where] = 1.0
        else:
            shift = (where - size // 2) // 3
            columns = steps + shift if label == 2 else size - 1 - steps + shift
            inside = (columns >= 0) & (columns < size)
            images[i, 0, steps[inside], columns[inside]] = 1.0
    images += 0.2 * torch.randn(images.shape, generator=generator)
    return images, labels


def trained_model(images, labels) -> tuple[nn.Sequential, torch.Tensor]:
    """The lesson's model and loop (seed 0, Adam with lr=0.01, 30 full-batch steps), and its first weights."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16 * 16, 32), nn.ReLU(), nn.Linear(32, 4))
    initial = model[1].weight.detach().clone()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(30):
        model.train()
        loss = loss_fn(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval(), initial


def samples_picture(images, labels, path: Path) -> None:
    figure, axes = plt.subplots(4, 6, figsize=(7.5, 5.4))
    for label, row in enumerate(axes):
        for column, image in zip(row, images[labels == label][:6]):
            column.imshow(image[0], cmap="gray", vmin=-0.5, vmax=1.5)
            column.set_xticks([])
            column.set_yticks([])
        row[0].set_ylabel(f"{label}: {CLASS_NAMES[label]}", fontsize=9)
    figure.suptitle("Four kinds of stroke, 16x16 pixels, one image per square: [N, 1, 16, 16]")
    save(figure, path)


def activations_picture(model: nn.Sequential, initial, test_images, test_labels, path: Path) -> None:
    picked = torch.cat([torch.nonzero(test_labels == label)[:3, 0] for label in range(4)])
    kept = {}
    handle = model[2].register_forward_hook(lambda module, inputs, output: kept.update(hidden=output.detach().clone()))
    try:
        with torch.no_grad():
            model(test_images[picked])
    finally:
        handle.remove()
    figure = plt.figure(figsize=(11, 4.6))
    grid = figure.add_gridspec(2, 6, width_ratios=[3.2, 0.15, 1, 1, 1, 1])
    heat = figure.add_subplot(grid[:, 0])
    shown = heat.imshow(kept["hidden"], cmap="viridis", aspect="auto")
    heat.set_yticks(range(len(picked)), [f"{CLASS_NAMES[int(test_labels[i])]}" for i in picked], fontsize=8)
    heat.set_xlabel("hidden unit (output of the ReLU after the first Linear layer)")
    heat.set_title("Hidden activations, three test images per class", fontsize=10)
    figure.colorbar(shown, ax=heat, fraction=0.04)
    # What training changed: the initial random weights are noise that would hide the pattern.
    learned = model[1].weight.detach() - initial
    strongest = kept["hidden"].abs().sum(dim=0).argsort(descending=True)[:8]
    for place, unit in enumerate(strongest.tolist()):
        axes = figure.add_subplot(grid[place // 4, 2 + place % 4])
        limit = float(learned[unit].abs().max())
        axes.imshow(learned[unit].reshape(16, 16), cmap="RdBu_r", vmin=-limit, vmax=limit)
        axes.set_title(f"unit {unit}", fontsize=8)
        axes.set_xticks([])
        axes.set_yticks([])
    figure.text(0.72, 0.95, "What training taught eight hidden units: the change in their weights (red +, blue -)",
                ha="center", fontsize=10)
    save(figure, path, crop=True)


if __name__ == "__main__":
    images, labels = make_strokes(100)
    test_images, test_labels = make_strokes(25, seed=1)
    sys.exit(run(sys.argv, {
        "10_samples.png": lambda path: samples_picture(images, labels, path),
        "10_activations.png": lambda path: activations_picture(*trained_model(images, labels), test_images,
                                                               test_labels, path),
    }))
