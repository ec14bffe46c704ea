"""Searches its own memory, inherited from the zygote, for another learner's file graded earlier in the same gradebook.

The zygote forks every grading child; whatever it ever held (each earlier
learner's file, sent to it in a fork request) may still be in its freed memory,
and so in every later child's. The test puts a marker, ``OTHER_LEARNER_`` and 32 hex digits, in an earlier
learner's file, and gives this file only the digits' SHA-256 (``PLANTED``), so
the marker is in memory only if the other file is. As a control, it appends a
second such marker to this file, whose digest is ``PLANTED["own_digest"]``.
``train_step`` and ``test_step`` read ``/proc/self/mem`` region by region;
what they found shows in the points a gradebook gives, which carries no
messages: ``train_step`` works (a point) only if it found the other learner's
file, ``test_step`` only if it found its own (the control).
"""
import hashlib

import torch

PLANTED: dict = {}  # the test fills this in


CHUNK = 64 * 2**20


def digests_in(data: bytes) -> set[str]:
    """The SHA-256 of the 32 characters after each occurrence of the prefix."""
    prefix = PLANTED["prefix"].encode()
    found, start = set(), data.find(prefix)
    while start != -1:
        found.add(hashlib.sha256(data[start + len(prefix):start + len(prefix) + 32]).hexdigest())
        start = data.find(prefix, start + 1)
    return found


def search_own_memory() -> set[str]:
    found = set()
    with open("/proc/self/maps") as maps:
        regions = [line.split() for line in maps]
    with open("/proc/self/mem", "rb", buffering=0) as memory:
        for fields in regions:
            if not fields[1].startswith("rw") or (len(fields) > 5 and fields[5].startswith("/")):
                continue
            start, end = (int(value, 16) for value in fields[0].split("-"))
            for offset in range(start, end, CHUNK):
                try:
                    memory.seek(offset)
                    found |= digests_in(memory.read(min(CHUNK + 64, end - offset)))
                except (OSError, OverflowError, ValueError):
                    break
    return found


def told(what: str) -> None:
    found = search_own_memory()
    if PLANTED[what] not in found:
        raise RuntimeError(f"own file found: {PLANTED['own_digest'] in found}; "
                           f"another learner's file found: {PLANTED['digest'] in found}")


def train_step(model, X, y, loss_fn, optimizer):
    told("digest")
    model.train()
    loss = loss_fn(model(X), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def test_step(model, X, y, loss_fn):
    told("own_digest")
    model.eval()
    with torch.inference_mode():
        return loss_fn(model(X), y).item()


def fit(model, train, test, loss_fn, optimizer, epochs, eval_every=1):
    raise NotImplementedError("fit")


def plot_loss_curves(history):
    raise NotImplementedError("plot_loss_curves")
