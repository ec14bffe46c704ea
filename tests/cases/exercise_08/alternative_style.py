"""Exercise 08, written in other valid styles: torch._foreach_* momentum, groups from named_parameters,
a while loop with a counter, torch.no_grad, the best weights as cloned tensors, torch.save of a dict built
inline, os.makedirs, and the plateau scheduler told apart by its class."""

import os

import torch


def sgd_momentum_step(params, velocities, lr, momentum=0.9, weight_decay=0.0):
    """One step of SGD with momentum, on all parameters at once."""
    with torch.no_grad():
        pairs = [(p, v) for p, v in zip(params, velocities) if p.grad is not None]
        if not pairs:
            return
        ps = [p for p, _ in pairs]
        vs = [v for _, v in pairs]
        grads = [p.grad.clone() for p in ps]
        if weight_decay:
            torch._foreach_add_(grads, ps, alpha=weight_decay)
        torch._foreach_mul_(vs, momentum)
        torch._foreach_add_(vs, grads)
        torch._foreach_add_(ps, vs, alpha=-lr)


def decay_parameter_groups(model, weight_decay):
    """Two groups, built from named_parameters."""
    trainable = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    return [
        {"params": [p for _, p in trainable if p.dim() > 1], "weight_decay": weight_decay},
        {"params": [p for _, p in trainable if p.dim() <= 1], "weight_decay": 0.0},
    ]


def fit_with_validation(model, train_loader, val_loader, loss_fn, optimizer, epochs, *, scheduler=None,
                        patience=None, checkpoint_path=None):
    """Train with validation, early stopping and the best weights kept."""
    if not epochs >= 1:
        raise ValueError("epochs must be 1 or more")
    if patience is not None and not patience >= 1:
        raise ValueError("patience must be 1 or more")
    device = next(model.parameters()).device
    history = {"epoch": [], "train_loss": [], "val_loss": [], "lr": []}
    best, best_weights, bad_epochs = None, None, 0
    epoch = 0
    while epoch < epochs:
        epoch += 1
        lr = optimizer.param_groups[0]["lr"]
        model.train()
        train_total = torch.zeros(())
        n_train = 0
        for inputs, targets in train_loader:
            inputs, targets = inputs.to(device), targets.to(device)
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            optimizer.step()
            train_total += loss.detach().cpu() * targets.shape[0]
            n_train += targets.shape[0]
        model.eval()
        val_total, n_val = 0.0, 0
        with torch.no_grad():
            for inputs, targets in val_loader:
                inputs, targets = inputs.to(device), targets.to(device)
                val_total += float(loss_fn(model(inputs), targets)) * targets.shape[0]
                n_val += targets.shape[0]
        val_loss = val_total / n_val
        history["epoch"].append(epoch)
        history["train_loss"].append((train_total / n_train).item())
        history["val_loss"].append(val_loss)
        history["lr"].append(float(lr))
        if best is None or val_loss < best:
            best, bad_epochs = val_loss, 0
            best_weights = {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}
            if checkpoint_path:
                folder = os.path.dirname(os.fspath(checkpoint_path))
                if folder:
                    os.makedirs(folder, exist_ok=True)
                torch.save(dict(epoch=epoch, model_state_dict=model.state_dict(),
                                optimizer_state_dict=optimizer.state_dict(), val_loss=val_loss), checkpoint_path)
        else:
            bad_epochs += 1
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            scheduler.step(val_loss)
        elif scheduler is not None:
            scheduler.step()
        if patience and bad_epochs == patience:
            epoch = epochs  # the loop ends here
    model.load_state_dict(best_weights)
    return history
