"""Exercise 08 in another style again: v.copy_(...) and p.data updates, groups by list comprehensions,
a for loop with break, inference_mode, a deep copy of the whole best model, an epoch counter compared
with the best epoch, pathlib and a checkpoint dict built first."""

import copy
import math
from pathlib import Path

import torch


def sgd_momentum_step(params, velocities, lr, momentum=0.9, weight_decay=0.0):
    """p.data never records history, so no torch.no_grad() is needed."""
    for i in range(len(params)):
        p, v = params[i], velocities[i]
        if p.grad is None:
            continue
        g = p.grad.data + weight_decay * p.data
        v.copy_(momentum * v + g)
        p.data.add_(v, alpha=-lr)


def decay_parameter_groups(model, weight_decay):
    """Two list comprehensions over model.parameters()."""
    params = list(model.parameters())
    decay = [p for p in params if p.requires_grad and len(p.shape) >= 2]
    no_decay = [p for p in params if p.requires_grad and len(p.shape) < 2]
    return [dict(params=decay, weight_decay=weight_decay), dict(params=no_decay, weight_decay=0.0)]


def run_epoch(model, loader, loss_fn, optimizer=None):
    """Mean loss per sample; trains when given an optimizer, else only measures."""
    device = next(model.parameters()).device
    total, n = 0.0, 0
    for X, y in loader:
        X, y = X.to(device), y.to(device)
        loss = loss_fn(model(X), y)
        if optimizer is not None:
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        total += loss.item() * X.size(0)
        n += X.size(0)
    return total / n


def fit_with_validation(model, train_loader, val_loader, loss_fn, optimizer, epochs, *, scheduler=None,
                        patience=None, checkpoint_path=None):
    """For loop with break; the best model kept as a deep copy."""
    if epochs < 1 or (patience is not None and patience < 1):
        raise ValueError("epochs and patience must be at least 1")
    history = {key: [] for key in ("epoch", "train_loss", "val_loss", "lr")}
    best_loss, best_epoch, best_model = math.inf, 0, None
    for epoch in range(1, epochs + 1):
        history["lr"].append(float(optimizer.param_groups[0]["lr"]))
        model.train()
        history["train_loss"].append(run_epoch(model, train_loader, loss_fn, optimizer))
        model.eval()
        with torch.inference_mode():
            val_loss = run_epoch(model, val_loader, loss_fn)
        history["val_loss"].append(val_loss)
        history["epoch"].append(epoch)
        if best_model is None or val_loss < best_loss:
            best_loss, best_epoch, best_model = val_loss, epoch, copy.deepcopy(model)
            if checkpoint_path is not None:
                checkpoint = {"epoch": epoch, "model_state_dict": model.state_dict(),
                              "optimizer_state_dict": optimizer.state_dict(), "val_loss": val_loss}
                Path(checkpoint_path).parent.mkdir(parents=True, exist_ok=True)
                torch.save(checkpoint, Path(checkpoint_path))
        if scheduler is not None:
            if type(scheduler).__name__ == "ReduceLROnPlateau":
                scheduler.step(val_loss)
            else:
                scheduler.step()
        if patience is not None and epoch - best_epoch >= patience:
            break
    model.load_state_dict(best_model.state_dict())
    return history
