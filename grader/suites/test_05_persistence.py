"""Hidden suite for exercise 05 (saving and loading).

Every check looks at what the learner's code leaves behind: the files it
writes (read back here with ``weights_only=True`` only, so a learner's file can
never run code in the grader), and the models and optimizers it restores. How
the code is spelled does not matter: ``pathlib`` or ``os.path``, file objects or
paths, ``mkdir`` or ``os.makedirs``, a check of its own for a missing file or
``torch.load``'s own ``FileNotFoundError`` all pass.

Device checks take the ``device`` fixture. On the CPU they load files made to
look as if they were saved on a GPU this machine does not have (the storages
are tagged ``cuda:99``): only ``map_location`` can load those. With
``--device cuda`` the same checks also save on the GPU and load on the CPU and
back, and training resumes bit for bit on the GPU.
"""

import copy

import pytest
import torch

from grader.checking import fmt, kind_of
from grader.checking.persistence import (ELSEWHERE, LR, FsPath, Trap, checkpoint_of, expect_epoch_and_loss, expect_on,
                                         expect_restored, expect_returned_path, expect_state_dict, make_data,
                                         make_model, make_net, names, optimizer_difference, optimizer_state_elsewhere,
                                         optimizer_state_of, read_back, refused_by_unpickler, reraise_unless_stub,
                                         save_as_if_on_gpu, state_of, train_once, trained)


def pickled_globals(path) -> list[str]:
    """The globals a pickle in ``path`` would load, read without running any of it (empty where torch cannot tell)."""
    reader = getattr(torch.serialization, "get_unsafe_globals_in_checkpoint", None)  # PyTorch 2.5 and later
    try:
        return list(reader(path)) if reader else []
    except Exception:  # noqa: BLE001 - not a file torch can read: read_back has said why
        return []


def read_saved(path, who: str, advice: str, methods: str):
    """``read_back``, naming a method saved without being called (``model.state_dict`` without its parentheses)."""
    try:
        return read_back(path, who, advice)
    except AssertionError as exc:
        pickled = pickled_globals(path) if path.is_file() else []
        if "builtins.getattr" in pickled or (not pickled and "pickled getattr" in str(exc)):
            raise AssertionError(
                f"the file {who} wrote holds a method itself, not what the method returns (it cannot be loaded with "
                f"weights_only=True): call it, with the parentheses: {methods}") from None
        raise


def without_last_bias(state: dict) -> tuple[dict, str]:
    """A copy of a state dict without its last entry ending in ``bias``, and that entry's name."""
    name = [key for key in state if key.endswith("bias")][-1]
    return {key: value for key, value in state.items() if key != name}, name


STRICT = ("model.load_state_dict is strict by default and raises for such a file: do not pass strict=False "
          "(or check the keys it reports and raise)")


# -- save_model ------------------------------------------------------------------------


@pytest.mark.check(
    id="save_model_state_dict_only",
    name="save_model writes only the state dict: tensors, by name",
    points=2,
    hint=["Save what the model has learned, not the model object: there is a method that gives every tensor by name.",
          "`torch.save(model.state_dict(), path)`. `torch.save(model, path)` pickles the whole module, and the file "
          "then needs `weights_only=False` (and your class) to load."],
)
def test_save_model_state_dict_only(learner, seed, tmp_path):
    model = make_model(seed)
    path = tmp_path / "model.pth"
    learner.save_model(model, path)
    saved = read_saved(path, "save_model", "save model.state_dict(), not the model object", "model.state_dict()")
    expect_state_dict(saved, state_of(model), "the file save_model wrote")


@pytest.mark.check(
    id="save_model_paths",
    name="save_model takes a str, a bare file name, a Path or any os.PathLike, and returns a pathlib.Path",
    points=1,
    hint=["Turn whatever you are given into a `pathlib.Path` first, and return that Path at the end.",
          "`path = Path(path)` accepts a str and any os.PathLike. A bare \"model.pth\" has no folder part: "
          "`os.path.dirname` gives '' there, and `os.makedirs('')` fails, while `Path(path).parent` is '.'."],
)
def test_save_model_paths(learner, seed, tmp_path, monkeypatch):
    model = make_model(seed)
    monkeypatch.chdir(tmp_path)
    for given, expected, described in (
        ("model.pth", tmp_path / "model.pth", 'a bare file name, "model.pth"'),
        (str(tmp_path / "from_a_str.pth"), tmp_path / "from_a_str.pth", "a str"),
        (tmp_path / "from_a_path.pt", tmp_path / "from_a_path.pt", "a pathlib.Path"),
        (FsPath(tmp_path / "from_a_pathlike.pt"), tmp_path / "from_a_pathlike.pt", "an os.PathLike that is not a Path"),
    ):
        try:
            result = learner.save_model(model, given)
        except OSError as exc:
            if isinstance(exc, FileExistsError):
                why = " (the folder exists already: creating it must not fail then)"
            elif given == "model.pth" and isinstance(exc, FileNotFoundError):
                why = " (the folder part of a bare file name is empty, and there is nothing to create)"
            else:
                why = ""
            raise AssertionError(f"given {described}, save_model raised {type(exc).__name__}: {exc}{why}") from None
        # str() of an os.PathLike that is not a Path is its repr, not its path: a file of that name gives it away.
        assert not (not expected.is_file() and any("FsPath object" in entry.name for entry in tmp_path.iterdir())), (
            f"given {described}, save_model wrote a file named after the object's repr: str() of an os.PathLike "
            "that is not a pathlib.Path does not give its path; use Path(path) or os.fspath(path)")
        assert expected.is_file(), f"given {described}, save_model wrote no file at {expected.name}"
        expect_returned_path(result, expected, "save_model", described)


@pytest.mark.check(
    id="save_model_makes_folders",
    name="save_model creates missing parent folders, and saves again into existing ones",
    points=1,
    hint=["`torch.save` does not create folders: create the missing ones before saving.",
          "`Path(path).parent.mkdir(parents=True, exist_ok=True)` (or `os.makedirs(folder, exist_ok=True)`): "
          "`parents` creates every missing level, `exist_ok` keeps a second save from failing."],
)
def test_save_model_makes_folders(learner, seed, tmp_path):
    model = make_model(seed)
    folder = tmp_path / "runs" / f"run_{seed % 1000}"
    for path, situation in ((folder / "model.pth", "into folders that do not exist yet"),
                            (folder / "again.pth", "a second time into the same folder")):
        try:
            learner.save_model(model, path)
        except (RuntimeError, OSError) as exc:
            reraise_unless_stub(exc)
            assert not path.is_dir(), (
                f"saving {situation}, save_model made a folder named {path.name}, where the file goes, and then "
                "could not write the file there: create the file's parent folder, Path(path).parent.mkdir(...), "
                "not the path itself")
            raise AssertionError(f"saving {situation} ({path.parent.relative_to(tmp_path)}/) raised "
                                 f"{type(exc).__name__}: {exc}") from None
        assert path.is_file(), f"saving {situation}, save_model wrote no file at {path.relative_to(tmp_path)}"


# -- load_model --------------------------------------------------------------------------


@pytest.mark.check(
    id="load_model_restores",
    name="load_model restores the exact saved values into the model it is given, returns it, and refuses a file "
         "that does not fit it",
    points=2,
    hint=["Loading the file gives you a state dict; the model only changes when you copy it in.",
          "`model.load_state_dict(torch.load(path, map_location=device, weights_only=True))`, "
          "then return `model` itself. Keep `load_state_dict` strict (its default): a file that does not fit "
          "the model must raise, not load in part."],
)
def test_load_model_restores(learner, seed, tmp_path):
    saved = make_model(seed)
    path = tmp_path / f"weights_{seed % 1000}.pth"
    torch.save(saved.state_dict(), path)
    fresh = make_model(seed + 1)
    result = learner.load_model(fresh, str(path))
    assert result is fresh, (
        f"load_model returned {kind_of(result)}, not the model it was given: "
        "load the weights into `model` and return it")
    expect_restored(fresh, state_of(saved), "load_model")
    # A file that does not fit the model (one entry short) must not load quietly, leaving a value from nowhere.
    partial, left_out = without_last_bias(saved.state_dict())
    path = tmp_path / f"partial_{seed % 1000}.pth"
    torch.save(partial, path)
    try:
        learner.load_model(make_model(seed + 2), path)
    except Exception as exc:  # noqa: BLE001 - any error tells the caller; strict load_state_dict raises RuntimeError
        reraise_unless_stub(exc)
    else:
        raise AssertionError(f"load_model returned normally for a file that has no {left_out} for the model, which "
                             f"then keeps a value that is not from the file: {STRICT}")


@pytest.mark.check(
    id="load_model_eval_mode",
    name="load_model returns the model in evaluation mode",
    points=1,
    hint=["A loaded model is usually used for predictions: dropout and batch norm must behave as in evaluation.",
          "Call `model.eval()` before returning it."],
)
def test_load_model_eval_mode(learner, seed, tmp_path):
    path = tmp_path / "weights.pth"
    torch.save(make_model(seed).state_dict(), path)
    fresh = make_model(seed + 1)
    fresh.train()
    learner.load_model(fresh, path)
    training = [name or "the model" for name, module in fresh.named_modules() if module.training]
    assert not training, ("after load_model the model is still in training mode (dropout would still drop values "
                          "and batch norm would keep changing its statistics)")


@pytest.mark.check(
    id="load_model_missing_file",
    name="load_model raises FileNotFoundError naming the path of a missing file",
    points=1,
    hint=["A missing file is an error the caller must hear about: do not return the untouched model.",
          "`torch.load` raises FileNotFoundError (naming the path) by itself; if you check first, raise "
          "`FileNotFoundError(f\"... {path}\")` yourself."],
)
def test_load_model_missing_file(learner, seed, tmp_path):
    path = tmp_path / "nowhere" / f"model_{seed % 100000}.pth"
    try:
        result = learner.load_model(make_model(seed), path)
    except FileNotFoundError as exc:
        text = f"{exc} {exc.filename or ''}"
        assert str(path) in text or path.name in text, (
            f"load_model raised FileNotFoundError({str(exc)!r}) for a missing file; the message must name the path")
    except Exception as exc:  # noqa: BLE001 - any other exception is the wrong one
        reraise_unless_stub(exc)
        raise AssertionError(f"for a file that does not exist, load_model raised {type(exc).__name__}, "
                             "not FileNotFoundError") from None
    else:
        raise AssertionError(f"for a file that does not exist, load_model returned {kind_of(result)} "
                             "instead of raising FileNotFoundError")


@pytest.mark.check(
    id="load_weights_only",
    name="load_model and load_checkpoint never run code hidden in a file (weights_only=True)",
    points=1,
    hint=["A pickle can hold instructions to call any function while it is loaded; torch.load has a safe mode.",
          "Pass `weights_only=True` to `torch.load` (it is the default since PyTorch 2.6; never pass False "
          "for a file you did not make)."],
)
def test_load_weights_only(learner, seed, tmp_path):
    for who in ("load_model", "load_checkpoint"):
        marker = tmp_path / f"{who}_ran_hidden_code"
        model = make_net(seed)
        weights = {**model.state_dict(), "note": Trap(marker)}
        path = tmp_path / f"for_{who}.pt"
        if who == "load_model":
            torch.save(weights, path)
            call = lambda: learner.load_model(make_net(seed + 1), path)  # noqa: E731
        else:
            optimizer = torch.optim.Adam(model.parameters(), lr=LR)
            torch.save({**checkpoint_of(model, optimizer, 1, 0.5), "model_state_dict": weights}, path)
            call = lambda: learner.load_checkpoint(path, make_net(seed + 1), None)  # noqa: E731
        refused = False
        try:
            call()
        except Exception as exc:  # noqa: BLE001 - torch.load refusing the file is what is expected
            reraise_unless_stub(exc)
            refused = refused_by_unpickler(exc)
            if not refused and not marker.exists():
                raise  # another error, before the file was even read: reported with its line
        assert not marker.exists(), (
            f"{who} loaded a file that hides a function call, and the call ran (it could have "
            "been anything): load with torch.load(..., weights_only=True)")
        assert refused, (f"{who} returned normally for a file that holds more than tensors; "
                         "torch.load(..., weights_only=True) refuses it: let that error reach the caller")


@pytest.mark.check(
    id="load_model_from_gpu",
    name="load_model loads a model saved on a GPU onto the grading device (map_location)",
    points=2,
    hint=["A file remembers the device each tensor was saved from; a machine without that GPU cannot put "
          "them back there.",
          "`torch.load(path, map_location=device, weights_only=True)` puts every tensor on `device`; then "
          "`model.to(device)` moves the model's own parameters there too."],
)
def test_load_model_from_gpu(learner, seed, device, tmp_path):
    saved = make_model(seed)
    path = tmp_path / "trained_on_a_gpu.pth"
    save_as_if_on_gpu(saved.state_dict(), path)
    fresh = make_model(seed + 1)
    try:
        learner.load_model(fresh, path, device)
    except RuntimeError as exc:
        reraise_unless_stub(exc)
        if "deserialize" not in str(exc):
            raise
        said = str(exc).split(". ")[0]
        raise AssertionError(f"load_model could not read a state dict saved on a GPU ({ELSEWHERE}) that this "
                             f"machine does not have (torch.load said: {said}): pass map_location=device to "
                             "torch.load") from None
    expect_on(fresh, device, f"load_model(..., device={str(device)!r})")
    expect_restored(fresh, state_of(saved), "load_model")
    if device.type == "cuda":
        # The real thing: saved from the GPU, loaded on the CPU, and back on the GPU.
        on_gpu = make_model(seed + 2).to(device)
        path = tmp_path / "saved_from_cuda.pth"
        torch.save(on_gpu.state_dict(), path)
        for target in ("cpu", device):
            fresh = make_model(seed + 3)  # built on the CPU
            learner.load_model(fresh, path, target)
            who = f"load_model(..., device={str(target)!r}) of a model saved on {device}"
            expect_on(fresh, torch.device(target), who)
            expect_restored(fresh, state_of(on_gpu), f"load_model of a model saved on {device}")


# -- checkpoints -------------------------------------------------------------------------


@pytest.mark.check(
    id="checkpoint_contents",
    name="save_checkpoint writes one file with the epoch, the loss, and the model's and optimizer's state",
    points=2,
    hint=["A checkpoint is one dict with four keys: \"epoch\", \"model_state_dict\", \"optimizer_state_dict\" "
          "and \"loss\".",
          "Store `int(epoch)`, `model.state_dict()`, `optimizer.state_dict()` and `float(loss)`: state dicts and "
          "plain numbers, never the model or optimizer objects."],
)
def test_checkpoint_contents(learner, seed, tmp_path):
    model, optimizer, loss = trained(seed)
    epoch = 3 + seed % 97
    path = tmp_path / "checkpoint.pt"
    learner.save_checkpoint(path, model, optimizer, epoch, loss)
    saved = read_saved(path, "save_checkpoint", "store state dicts and plain numbers, never the model or optimizer objects",
                       "model.state_dict() and optimizer.state_dict()")
    assert isinstance(saved, dict), f"the checkpoint holds {kind_of(saved)}, not a dict"
    missing = [key for key in ("epoch", "model_state_dict", "optimizer_state_dict", "loss") if key not in saved]
    assert not missing, (f"the checkpoint has no key {', '.join(map(repr, missing))}"
                         f" (its keys: {names(map(repr, saved)) or 'none'})")
    for key, kind, value in (("epoch", int, epoch), ("loss", float, loss)):
        stored = saved[key]
        assert type(stored) is kind, f"the checkpoint's {key!r} is {kind_of(stored)}; store a Python {kind.__name__}"
        assert stored == value, f"the checkpoint's {key!r} is {fmt(stored)}, but save_checkpoint was given {fmt(value)}"
    expect_state_dict(saved["model_state_dict"], state_of(model), "the checkpoint's 'model_state_dict'")
    stored = saved["optimizer_state_dict"]
    assert isinstance(stored, dict) and set(stored) == {"state", "param_groups"} and isinstance(stored["state"], dict) and isinstance(stored["param_groups"], list), (
        f"the checkpoint's 'optimizer_state_dict' is {kind_of(stored)}"
        + (f" with keys {names(map(repr, stored))}" if isinstance(stored, dict) else "")
        + ", not the optimizer's state dict: store optimizer.state_dict()")
    difference = optimizer_difference(optimizer_state_of(stored), optimizer_state_of(optimizer.state_dict()))
    assert not difference, f"the checkpoint's 'optimizer_state_dict' is not the optimizer's state: {difference}"


@pytest.mark.check(
    id="checkpoint_folders",
    name="save_checkpoint creates missing parent folders and returns the path as a pathlib.Path",
    points=1,
    hint=["As in `save_model`: create the missing folders before saving, and return where the file went.",
          "`path = Path(path)`, `path.parent.mkdir(parents=True, exist_ok=True)`, save, `return path`."],
)
def test_checkpoint_folders(learner, seed, tmp_path):
    model, optimizer, loss = trained(seed, steps=1)
    folder = tmp_path / "checkpoints" / f"run_{seed % 1000}"
    for path, situation in ((folder / "epoch_10.pt", "into folders that do not exist yet"),
                            (folder / "epoch_20.pt", "a second time into the same folder")):
        try:
            result = learner.save_checkpoint(str(path), model, optimizer, 10, loss)
        except (RuntimeError, OSError) as exc:
            reraise_unless_stub(exc)
            raise AssertionError(f"saving a checkpoint {situation} ({path.parent.relative_to(tmp_path)}/) raised "
                                 f"{type(exc).__name__}: {exc}") from None
        assert path.is_file(), f"saving {situation}, save_checkpoint wrote no file at {path.relative_to(tmp_path)}"
        expect_returned_path(result, path, "save_checkpoint", "a str")


@pytest.mark.check(
    id="load_checkpoint_restores",
    name="load_checkpoint restores the model and the optimizer, returns (epoch, loss), leaves a model in training mode as it was, "
         "and refuses a checkpoint that does not fit",
    points=2,
    hint=["Both the model and the optimizer have a method that takes back the state dict they once gave.",
          "`model.load_state_dict(checkpoint[\"model_state_dict\"])`, `optimizer.load_state_dict("
          "checkpoint[\"optimizer_state_dict\"])`, then `return checkpoint[\"epoch\"], checkpoint[\"loss\"]`.",
          "Leave the model's mode as it is (no `model.eval()` in load_checkpoint): the training loop sets it. "
          "And keep `load_state_dict` strict (its default): a checkpoint that does not fit the model must raise."],
)
def test_load_checkpoint_restores(learner, seed, tmp_path):
    model, optimizer, loss = trained(seed)
    epoch = 3 + seed % 97
    path = tmp_path / "checkpoint.pt"
    torch.save(checkpoint_of(model, optimizer, epoch, loss), path)
    fresh = make_net(seed + 1)
    # A new optimizer with another learning rate: loading must restore the saved one too.
    fresh_optimizer = torch.optim.Adam(fresh.parameters(), lr=LR / 10)
    result = learner.load_checkpoint(path, fresh, fresh_optimizer)
    expect_restored(fresh, state_of(model), "load_checkpoint")
    difference = optimizer_difference(optimizer_state_of(fresh_optimizer.state_dict()),
                                      optimizer_state_of(optimizer.state_dict()))
    assert not difference, f"after load_checkpoint the optimizer is not the saved one: {difference}"
    expect_epoch_and_loss(result, epoch, loss)
    switched = [name for name, module in fresh.named_modules() if not module.training]
    assert not switched, (
        f"load_checkpoint put {'the model' if not fresh.training else 'the layers ' + ', '.join(switched)}, given in "
        "training mode, into evaluation mode: leave the model's mode as it is (no model.eval() in load_checkpoint); "
        "the training loop that resumes sets it")
    # A checkpoint that does not fit the model (one entry short) must not load quietly.
    partial, left_out = without_last_bias(state_of(model))
    path = tmp_path / "partial_checkpoint.pt"
    torch.save({**checkpoint_of(model, optimizer, epoch, loss), "model_state_dict": partial}, path)
    other = make_net(seed + 3)
    try:
        learner.load_checkpoint(path, other, torch.optim.Adam(other.parameters(), lr=LR))
    except Exception as exc:  # noqa: BLE001 - any error tells the caller; strict load_state_dict raises RuntimeError
        reraise_unless_stub(exc)
    else:
        raise AssertionError(f"load_checkpoint returned normally for a checkpoint whose model_state_dict has no "
                             f"{left_out} for the model, which then keeps a value that is not from the file: {STRICT}")


@pytest.mark.check(
    id="load_checkpoint_without_optimizer",
    name="load_checkpoint restores just the model when no optimizer is given",
    points=1,
    hint=["The optimizer is optional: `load_checkpoint(path, model)` is how you load a checkpoint to evaluate it.",
          "Restore the optimizer only `if optimizer is not None`."],
)
def test_load_checkpoint_without_optimizer(learner, seed, tmp_path):
    model, optimizer, loss = trained(seed)
    path = tmp_path / "checkpoint.pt"
    torch.save(checkpoint_of(model, optimizer, 7, loss), path)
    fresh = make_net(seed + 1)
    try:
        result = learner.load_checkpoint(path, fresh)
    except AttributeError as exc:
        if "NoneType" not in str(exc):
            raise
        raise AssertionError(f"load_checkpoint(path, model), with no optimizer, raised AttributeError: {exc}") from None
    expect_restored(fresh, state_of(model), "load_checkpoint without an optimizer")
    expect_epoch_and_loss(result, 7, loss)


@pytest.mark.check(
    id="load_checkpoint_from_gpu",
    name="load_checkpoint restores a checkpoint saved on a GPU onto the grading device (map_location)",
    points=1,
    hint=["As in `load_model`: a checkpoint saved on a GPU needs `map_location` to load anywhere else.",
          "`torch.load(path, map_location=device, weights_only=True)`, then `model.to(device)`, and only then "
          "`optimizer.load_state_dict(...)`: it puts the optimizer's state where the parameters are."],
)
def test_load_checkpoint_from_gpu(learner, seed, device, tmp_path):
    model, optimizer, loss = trained(seed)
    path = tmp_path / "trained_on_a_gpu.pt"
    save_as_if_on_gpu(checkpoint_of(model, optimizer, 12, loss), path)
    sources = [(path, device, model, optimizer)]
    if device.type == "cuda":
        # The real thing too: a checkpoint saved on the GPU, resumed on the CPU.
        on_gpu, gpu_optimizer, gpu_loss = trained(seed + 2, device)
        gpu_path = tmp_path / "saved_from_cuda.pt"
        torch.save(checkpoint_of(on_gpu, gpu_optimizer, 12, gpu_loss), gpu_path)
        sources.append((gpu_path, torch.device("cpu"), on_gpu, gpu_optimizer))
    for source, target, saved_model, saved_optimizer in sources:
        fresh = make_net(seed + 1)  # built on the CPU
        fresh_optimizer = torch.optim.Adam(fresh.parameters(), lr=LR)
        try:
            learner.load_checkpoint(source, fresh, fresh_optimizer, target)
        except RuntimeError as exc:
            reraise_unless_stub(exc)
            if "deserialize" not in str(exc):
                raise
            said = str(exc).split(". ")[0]
            raise AssertionError(f"load_checkpoint could not read a checkpoint saved on a GPU ({ELSEWHERE}) that this "
                                 f"machine does not have (torch.load said: {said}): pass map_location=device") from None
        who = f"load_checkpoint(..., device={str(target)!r})"
        expect_on(fresh, target, who)
        elsewhere = optimizer_state_elsewhere(fresh_optimizer, target)
        assert not elsewhere, (f"after {who}, {elsewhere} while the model is on {target}: move the model before "
                               "restoring the optimizer, whose state follows the parameters")
        expect_restored(fresh, state_of(saved_model), who)
        difference = optimizer_difference(optimizer_state_of(fresh_optimizer.state_dict()),
                                          optimizer_state_of(saved_optimizer.state_dict()))
        assert not difference, f"after {who} the optimizer is not the saved one: {difference}"


@pytest.mark.check(
    id="resume_exactly",
    name="training resumed from a checkpoint continues bit for bit as if it had never stopped, on the grading device",
    points=3,
    hint=["Resuming needs everything that changes during training: the model's parameters AND the optimizer's "
          "state (Adam keeps running averages and a step count).",
          "Save `optimizer.state_dict()` in `save_checkpoint` and call `optimizer.load_state_dict(...)` in "
          "`load_checkpoint`, after moving the model to the device.",
          "Load into the model and optimizer you are given (`load_state_dict` copies into the existing parameters, "
          "which the optimizer holds), never into new objects."],
)
def test_resume_exactly(learner, seed, device, tmp_path):
    X, y = make_data(seed, device)
    start = make_net(seed)
    # Six steps without stopping.
    uninterrupted = copy.deepcopy(start).to(device)
    uninterrupted_optimizer = torch.optim.Adam(uninterrupted.parameters(), lr=LR)
    for _ in range(6):
        train_once(uninterrupted, uninterrupted_optimizer, X, y)
    # Three steps, a checkpoint, a fresh model and optimizer (as in a new program), three more steps.
    first = copy.deepcopy(start).to(device)
    first_optimizer = torch.optim.Adam(first.parameters(), lr=LR)
    loss = 0.0
    for _ in range(3):
        loss = train_once(first, first_optimizer, X, y)
    path = tmp_path / "checkpoints" / "step_3.pt"
    learner.save_checkpoint(path, first, first_optimizer, 3, loss)
    # A checkpoint that only weights_only=False can load is save_checkpoint's fault: say so before loading it.
    read_saved(path, "save_checkpoint", "store state dicts and plain numbers, never the model or optimizer objects",
               "model.state_dict() and optimizer.state_dict()")
    saved_model, saved_optimizer = state_of(first), optimizer_state_of(first_optimizer.state_dict())
    resumed = make_net(seed + 1)  # built on the CPU, as a new program would, with other random values
    resumed_optimizer = torch.optim.Adam(resumed.parameters(), lr=LR)
    learner.load_checkpoint(path, resumed, resumed_optimizer, device)
    who = "save_checkpoint and load_checkpoint"
    expect_on(resumed, device, f"load_checkpoint(..., device={str(device)!r})")
    expect_restored(resumed, saved_model, who)
    difference = optimizer_difference(optimizer_state_of(resumed_optimizer.state_dict()), saved_optimizer)
    assert not difference, f"after {who} the optimizer is not the one that was saved: {difference}"
    elsewhere = optimizer_state_elsewhere(resumed_optimizer, device)
    assert not elsewhere, (f"after {who}, {elsewhere} while the model is on {device}: move the model before "
                           "restoring the optimizer")
    for _ in range(3):
        train_once(resumed, resumed_optimizer, X, y)
    for (name, want), got in zip(uninterrupted.named_parameters(), resumed.parameters()):
        if not torch.equal(want, got):
            gap = (want.detach() - got.detach()).abs().max().item()
            raise AssertionError(f"three steps after resuming, {name} differs from an uninterrupted run by up to "
                                 f"{fmt(gap)}; resuming must continue exactly (bit for bit): does the optimizer "
                                 "keep working on the model's own parameters?")
