"""The verdict boundary: checks run in a judge process that never imports the learner's file.

A suite written here and a learner file written here are graded with the real
command line; each check's message reports what it saw, so the test can read it.
"""

from __future__ import annotations

import pickle

import pytest
import torch

from grader.boundary import values
from tests.helpers import KIT, grade_in

# The learner's file records, at import, which process imported it, in the folder both processes share.
RECORDING_LEARNER = '''
import os
import torch
from torch import nn

with open("/tmp/imported-by", "a") as record:
    record.write(f"{os.getpid()}\\n")


def seeded_model():
    return nn.Linear(3, 2)


def draw():
    return torch.rand(4)


def train_step(model, X, y, loss_fn, optimizer):
    model.train()
    optimizer.zero_grad()
    loss = loss_fn(model(X), y)
    loss.backward()
    optimizer.step()
    model.seen.append("stepped")
    X.mul_(2)
    return loss.item()


def make_loader():
    data = torch.utils.data.TensorDataset(torch.arange(6.0).reshape(6, 1), torch.arange(6.0))
    return torch.utils.data.DataLoader(data, batch_size=4)


class Twice(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(2, 1)

    def forward(self, x):
        return 2 * self.layer(x)
'''

SUITE = '''
import os
import sys

import pytest
import torch
from torch import nn


class Probe(nn.Linear):
    def __init__(self):
        super().__init__(2, 1)
        self.seen = []


@pytest.mark.check(id="who_imported", name="who imported the learner's file", points=1)
def test_who_imported(learner):
    learner.draw()  # the learner process has certainly imported the file by now
    with open("/tmp/imported-by") as record:
        importers = record.read().split()
    names = [name for name in sys.modules if name.startswith("exercise_")]
    raise AssertionError(f"judge={os.getpid()} importers={','.join(importers)} modules={','.join(names) or 'none'}")


@pytest.mark.check(id="seeded_alike", name="a seeded learner model has the weights the judge expects", points=1)
def test_seeded_alike(learner):
    torch.manual_seed(7)
    theirs = learner.seeded_model()
    torch.manual_seed(7)
    ours = nn.Linear(3, 2)
    assert torch.equal(theirs.weight, ours.weight) and torch.equal(theirs.bias, ours.bias), "weights differ"
    assert isinstance(theirs, nn.Linear) and theirs.in_features == 3, "not a Linear(3, 2)"
    after = torch.rand(4)
    torch.manual_seed(7)
    nn.Linear(3, 2)
    assert torch.equal(after, torch.rand(4)), "the generator did not come back where the learner left it"


@pytest.mark.check(id="lent_objects", name="what a call changes in the judge's objects comes back", points=1)
def test_lent_objects(learner):
    torch.manual_seed(0)
    model, X, y = Probe(), torch.rand(8, 2), torch.rand(8, 1)
    model.eval()
    start = model.weight.detach().clone()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    steps = []
    optimizer.register_step_post_hook(lambda *args: steps.append(1))
    original = X.clone()
    loss = learner.train_step(model, X, y, nn.MSELoss(), optimizer)
    assert type(loss) is float, f"loss came back as {type(loss).__name__}"
    assert model.training, "the mode did not come back"
    assert model.seen == ["stepped"], f"the probe's records did not come back: {model.seen}"
    assert not torch.equal(model.weight, start), "the parameters did not come back"
    assert model.weight.grad is not None, "the gradients did not come back"
    assert steps == [1], f"steps seen here: {steps}"
    assert torch.equal(X, 2 * original), "a tensor changed in place did not come back"


@pytest.mark.check(id="remote_objects", name="a learner's loader is used through a handle", points=1)
def test_remote_objects(learner):
    loader = learner.make_loader()
    assert isinstance(loader, torch.utils.data.DataLoader), f"{type(loader).__mro__}"
    assert len(loader) == 2 and loader.batch_size == 4, "len or batch_size"
    batches = [X.shape[0] for X, _ in loader]
    assert batches == [4, 2], f"batches {batches}"


@pytest.mark.check(id="gradients_through", name="the judge trains a learner's model with its own loop", points=1)
def test_gradients_through(learner):
    torch.manual_seed(1)
    model = learner.Twice()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    X = torch.rand(16, 2)
    y = X.sum(dim=1, keepdim=True)
    first = None
    for _ in range(30):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(X), y)
        loss.backward()
        optimizer.step()
        first = first if first is not None else loss.item()
    assert model.layer.weight.grad is not None, "no gradient reached the mirrored layer"
    with torch.no_grad():
        assert torch.allclose(model(X), 2 * model.layer(X)), "the learner process does not use the judge's weights"
    assert loss.item() < first / 2, f"loss went from {first} to {loss.item()}"
'''


@pytest.fixture(scope="module")
def graded(tmp_path_factory, warm_worker):
    root = tmp_path_factory.mktemp("boundary")
    (root / "suites").mkdir()
    (root / "suites" / "test_03_training.py").write_text(SUITE)
    (root / "learner").mkdir()
    (root / "learner" / "exercise_03_training.py").write_text(RECORDING_LEARNER)
    report, _ = grade_in(warm_worker, "3", root / "learner" / "exercise_03_training.py", suites=root / "suites")
    return {check["id"]: check for check in report["exercises"][0]["checks"]}


def test_the_judge_never_imports_the_learners_file(graded):
    message = graded["who_imported"]["message"]
    fields = dict(part.split("=", 1) for part in message.split())
    importers = fields["importers"].split(",")
    assert fields["modules"] == "none", message
    assert importers and fields["judge"] not in importers, message


@pytest.mark.parametrize("check_id", ["seeded_alike", "lent_objects", "remote_objects", "gradients_through"])
def test_objects_cross_the_boundary_as_checks_expect(graded, check_id):
    assert graded[check_id]["status"] == "passed", graded[check_id]["message"]


class RunsCode:
    def __reduce__(self):
        import os

        return (os.makedirs, ("/tmp/should-never-exist",))


class ForgedTensor:
    def __reduce__(self):
        return (values.rebuild_tensor, ("float32", (1000,), b"four", "cpu", False, False))


class NotADtype:
    def __reduce__(self):
        return (values.rebuild_tensor, ("Tensor", (1,), b"four", "cpu", False, False))


@pytest.mark.parametrize("payload", [RunsCode(), eval, {"key": RunsCode()}, [ForgedTensor()], NotADtype(),
                                     torch.optim.SGD, pickle.loads])
def test_a_reply_that_would_run_code_or_build_anything_else_is_refused(payload):
    with pytest.raises(pickle.UnpicklingError):
        values.load(pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))


def test_plain_replies_are_read():
    tensors = [torch.tensor(3), torch.randn(3, 4).t(), torch.zeros(0, 2), torch.ones(2, dtype=torch.bfloat16),
               torch.tensor([True, False]), torch.nn.Parameter(torch.ones(2)), torch.empty(2, 3, device="meta")]
    reply = {"value": [1, 2.5, "x", None, b"raw", {1, 2}, torch.Size([2]), torch.float64, torch.device("cpu"),
                       values.TensorValue(torch.ones(2), False, False, False), *tensors]}
    read = values.load(values.dump(reply))["value"]
    assert read[:9] == reply["value"][:9]
    assert isinstance(read[9], values.TensorValue) and torch.equal(read[9].data, torch.ones(2))
    for sent, got in zip(tensors, read[10:]):
        assert type(got) is type(sent) and got.dtype == sent.dtype and got.shape == sent.shape
        assert sent.is_meta or torch.equal(got.detach(), sent.detach())


def test_a_tensor_read_where_gradients_were_off_takes_an_in_place_add_that_needs_them():
    """The learner process reads a call's tensors before it takes on the judge's grad mode: after a call under
    no_grad, a residual block's `x += out` refused its input (a view made in no_grad mode)."""
    with torch.no_grad():
        x = values.load(values.dump({"value": torch.ones(2, 3)}))["value"]
    out = torch.ones(2, 3, requires_grad=True) * 2
    x += out
    assert x.requires_grad and torch.equal(x.detach(), torch.full((2, 3), 3.0))


def test_a_short_limit_already_past_ends_the_call_as_a_timeout():
    """A notice can arrive after the deadline it sets: the judge must still report the short limit's timeout
    (a socket timeout of 0 would have made the socket non-blocking, and the silence look like a crash)."""
    import socket
    import time

    from grader.boundary.judge import LearnerProcess
    from grader.learner import LearnerHung

    process = LearnerProcess(None, "exercise_03_training", [])
    process.sock, learner_end = socket.socketpair()
    try:
        with pytest.raises(LearnerHung, match="`spin` ran past the time limit again"):
            process.receive(None, [(time.monotonic() - 1, ("spin", "spin 0", 0.25))])
        assert not process.running
    finally:
        learner_end.close()


def test_generator_states_follow_every_kind_of_change():
    """The states that cross with every call are read again only when a cheap look says they moved: each kind of
    change (seeding, drawing, a Gaussian kept and then used, a state set by hand) must still be seen."""
    import array
    import random

    import numpy

    def full_numpy_state():
        name, keys, position, has_gauss, gauss = numpy.random.get_state()
        return (str(name), keys.tobytes(), int(position), int(has_gauss), float(gauss))

    changes = [lambda: numpy.random.seed(3), lambda: numpy.random.rand(5), lambda: numpy.random.randn(1),
               lambda: numpy.random.randn(1),  # the Gaussian kept by the last draw: the words do not move
               lambda: numpy.random.set_state(saved), lambda: random.seed(4), lambda: random.random(),
               lambda: random.gauss(0, 1), lambda: random.gauss(0, 1), lambda: torch.manual_seed(5)]
    saved = numpy.random.get_state()
    before = values.generator_states()  # put back at the end: other tests in this process may draw too
    seen = []
    try:
        for change in changes:
            values.generator_states()
            change()
            states = values.generator_states()
            assert states["numpy"] == full_numpy_state()
            version, internal, gauss_next = random.getstate()
            assert states["random"] == (version, array.array("Q", internal).tobytes(), gauss_next)
            seen.append(states)
        assert len({pickle.dumps(states) for states in seen}) == len(changes), "a change went unseen"
        values.set_generator_states(seen[2])
        assert values.generator_states() == seen[2], "a state set from the other side is not what is read back"
    finally:
        values.set_generator_states(before)


def test_half_a_line_a_call_printed_is_shown_with_the_check_that_made_the_call(warm_worker, tmp_path):
    """The learner process writes out what its streams hold before each reply: a line left unfinished
    (``print(..., end="")``) is shown with its check, not with a later one, or lost when the process is ended."""
    from grader import course
    from grader.runner import Task

    exercise = course.find_exercise("00")
    solution = (KIT / "solutions" / exercise.filename).read_text(encoding="utf-8")
    marker = "def manual_linear_gradients(w: float, b: float, x: Tensor, y: Tensor) -> tuple[float, float]:\n"
    assert solution.count(marker) == 1
    (tmp_path / exercise.filename).write_text(solution.replace(marker, marker + "    print('half a line', end='')\n"))
    report = warm_worker.grade([Task(exercise, tmp_path / exercise.filename, KIT / "grader" / "suites" /
                                     exercise.suite_filename)], device="cpu", timeout=5.0, seed=3)
    outputs = {check.id: check.output for check in report.exercises[0].checks}
    assert outputs["linear_gradients_types"].startswith("half a line"), outputs
    assert outputs["linear_gradients_values"].startswith("half a line"), outputs
    assert not any(outputs[check] for check in outputs if not check.startswith("linear_gradients")), outputs


def test_a_failure_of_the_learner_process_machinery_is_not_told_as_the_learners_code_ending_it(warm_worker, tmp_path):
    """What the learner process does around a call (dropping the last check's objects, a backward pass) is the
    kit's code: where it raises, the check says the grader failed, not that the learner's code ended the process.
    The file below breaks that machinery on purpose, the only way to make it fail without a bug in the kit."""
    from grader import course

    exercise = course.find_exercise("00")
    solution = (KIT / "solutions" / exercise.filename).read_text(encoding="utf-8")
    breaking = ("\nimport sys\n\n\ndef _broken(self):\n    raise KeyError('figures')\n\n\n"
                "sys.modules['grader.boundary.host'].Host.forget = _broken\n")
    (tmp_path / exercise.filename).write_text(solution + breaking)
    report, _ = grade_in(warm_worker, "00", tmp_path / exercise.filename)
    checks = report["exercises"][0]["checks"]
    assert not any("ended the grading process" in check["message"] for check in checks), checks
    # The process whose machinery failed is ended: the next check starts a fresh one, whose first call has nothing
    # of a last check to drop. So every other check fails that way, the first of each process passes.
    failed = [check for check in checks if check["status"] != "passed"]
    assert [check["id"] for check in failed] == [check["id"] for check in checks[1::2]], checks
    for check in failed:
        assert check["status"] == "error", check
        assert check["message"].startswith("the grader failed in your code's process while running this check "
                                           "(KeyError: 'figures')"), check
