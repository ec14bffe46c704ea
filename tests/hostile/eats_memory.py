"""Allocates memory without bound."""
import torch

hoard = []


def train_step(model, X, y, loss_fn, optimizer):
    while True:
        hoard.append(torch.ones(64 * 2**20 // 4))  # 64 MiB at a time, touched


def test_step(model, X, y, loss_fn):
    return train_step(model, X, y, loss_fn, None)
