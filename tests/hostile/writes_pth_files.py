"""Writes a ``.pth`` file (and a ``sitecustomize.py``) into every site-packages folder it can find, at import and in a check.

Python runs an ``import`` line of a ``.pth`` file at every interpreter start,
``python -I`` included: a learner who can write one owns every later grading
on that installation. The payload here is a harmless canary that prints
``PTH_RAN`` only in processes whose environment holds the test's marker (the
test's own gradings), and the files are named after the marker, so the test
can find and remove them should the sandbox ever let them through.
"""
import os
import site
import sys
import sysconfig

PLANTED: dict = {}  # the test fills this in


def site_folders() -> set[str]:
    folders = set(site.getsitepackages()) | {site.getusersitepackages()}
    folders |= {sysconfig.get_path(name) for name in ("purelib", "platlib")}
    folders |= {entry for entry in sys.path if entry.endswith(("site-packages", "dist-packages"))}
    return folders


def plant():
    marker = PLANTED["marker"]
    payload = f"import os; os.environ.get({marker!r}) and print('PTH_RAN', {marker!r})  # {marker}\n"
    for folder in site_folders():
        for name, mode in ((f"{marker}.pth", "w"), ("sitecustomize.py", "x"), ("usercustomize.py", "x")):
            try:
                with open(os.path.join(folder, name), mode) as file:
                    file.write(payload)
            except OSError:
                pass


plant()


def train_step(model, X, y, loss_fn, optimizer):
    plant()
    return 0.0


def test_step(model, X, y, loss_fn):
    raise NotImplementedError("test_step")


def fit(model, train, test, loss_fn, optimizer, epochs, eval_every=1):
    raise NotImplementedError("fit")


def plot_loss_curves(history):
    raise NotImplementedError("plot_loss_curves")
