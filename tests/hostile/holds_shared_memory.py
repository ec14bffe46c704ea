"""Holds 1 GiB of shared memory that a measurement of resident, non-shared memory never sees.

``train_step`` touches every page of an anonymous ``MAP_SHARED`` mapping;
``test_step`` writes four ``memfd`` files of 256 MiB each (pages that belong to
no mapping at all). Both then hold on to what they took. Graded with
``--memory-limit 300``, each must be stopped as using too much memory.
"""
import mmap
import os
import time

GIB = 2**30
PAGE = mmap.PAGESIZE
held = []


def train_step(model, X, y, loss_fn, optimizer):
    block = mmap.mmap(-1, GIB, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)
    held.append(block)
    for offset in range(0, GIB, PAGE):
        block[offset] = 1
    time.sleep(30)
    return 0.0


def test_step(model, X, y, loss_fn):
    chunk = b"\1" * (16 * 2**20)
    for number in range(4):
        fd = os.memfd_create(f"held-{number}")
        held.append(fd)
        for _ in range(16):  # 256 MiB a file: under the sandbox's file-size limit
            os.write(fd, chunk)
    time.sleep(30)
    return 0.0


def fit(model, train, test, loss_fn, optimizer, epochs, eval_every=1):
    raise NotImplementedError("fit")


def plot_loss_curves(history):
    raise NotImplementedError("plot_loss_curves")
