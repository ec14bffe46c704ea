"""The suites' own classifiers (exercises 07 and 09): one remembers its forward passes, one shows their state."""

from __future__ import annotations

import torch
from torch import nn


class Probe(nn.Module):
    """The contract's classifier, remembering each forward pass: mode, gradient tracking and output."""

    def __init__(self, in_features: int, n_classes: int, hidden: int = 8):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                    nn.Linear(hidden, n_classes))
        self.seen: list[tuple[bool, bool, torch.Tensor]] = []

    def forward(self, x):
        logits = self.logits(x)
        self.seen.append((self.training, torch.is_grad_enabled(), logits.detach().clone()))
        return logits

    def logits(self, x):
        """The logits of ``x``, as the contract's classifier returns them."""
        return self.layers(x)


# Learner code runs in a process of its own, so a probe's record of its forward passes (``seen``) is a report
# that code can rewrite: it only names the mistake. The verdict needs the outcome too: the loss returned, and
# which head the backward passes reached.

class StateProbe(nn.Module):
    """A classifier whose logits tell the state of its forward pass.

    In training mode the logits come from ``train_head``, in evaluation mode from ``eval_head``, which gives the
    same numbers with the opposite sign (the problems that use it make sure); with gradient tracking on,
    ``grad_head``'s output is added. So the four states give four different losses, and only a forward pass in
    training mode with gradient tracking on gives ``train_head`` gradients and leaves ``eval_head`` alone. It also
    remembers each forward pass's state (``seen``), to name a mistake.
    """

    def __init__(self, in_features: int, n_classes: int, hidden: int = 8):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU())
        self.train_head = nn.Linear(hidden, n_classes)
        self.eval_head = nn.Linear(hidden, n_classes)
        self.grad_head = nn.Linear(hidden, n_classes)
        self.seen: list[tuple[bool, bool]] = []

    def forward(self, x):
        self.seen.append((self.training, torch.is_grad_enabled()))
        return self.output_in(x, self.training, torch.is_grad_enabled())

    def output_in(self, x, training: bool, grad_enabled: bool):
        """What the probe outputs for ``x`` in the state ``(training, grad_enabled)``."""
        hidden = self.body(x)
        logits = (self.train_head if training else self.eval_head)(hidden)
        return logits + self.grad_head(hidden) if grad_enabled else logits
