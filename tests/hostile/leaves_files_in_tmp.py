"""Leaves files in ``/tmp``, ``/dev/shm`` and every folder it can write below them, later ends its process.

The next exercise is graded in a fresh grading child, which must find none of
them (within one grading child the learner process may: they are its own).
Each function first looks for files left earlier (``LEFTOVERS ...`` in its
error when it finds some, ``no leftovers`` when it finds none). Files are named
after the test's marker, so nothing else is mistaken for them.
"""
import os

PLANTED: dict = {}  # the test fills this in
ROOTS = ("/tmp", "/dev/shm")
MOST_FOLDERS = 200


def folders() -> list[str]:
    found = []
    for root in {*ROOTS, os.environ.get("TMPDIR", "/tmp"), os.environ.get("HOME", "/tmp"), os.getcwd()}:
        for folder, _, _ in os.walk(root):
            found.append(folder)
            if len(found) > MOST_FOLDERS:
                return found
    return found


def leftovers() -> list[str]:
    return [os.path.join(folder, PLANTED["marker"]) for folder in folders()
            if os.path.exists(os.path.join(folder, PLANTED["marker"]))]


def leave_files():
    for folder in folders():
        try:
            with open(os.path.join(folder, PLANTED["marker"]), "w") as file:
                file.write("left by an earlier grading child\n")
        except OSError:
            pass


def train_step(model, X, y, loss_fn, optimizer):
    found = leftovers()
    if found:
        raise RuntimeError(f"LEFTOVERS {found}")
    leave_files()
    raise RuntimeError("left files")


def test_step(model, X, y, loss_fn):
    found = leftovers()
    raise RuntimeError(f"LEFTOVERS {found}" if found else "no leftovers")


def fit(model, train, test, loss_fn, optimizer, epochs, eval_every=1):
    os._exit(7)


def plot_loss_curves(history):
    raise NotImplementedError("plot_loss_curves")


def predict(model, X):  # exercise 04, graded in the next grading child
    return test_step(model, X, None, None)


def evaluate(model, X, y, loss_fn):
    return test_step(model, X, y, loss_fn)
