"""A sandbox imports ahead only what the exercises it grades need (``grader.course.Exercise.warm_up``).

matplotlib, what autograd imports for a backward pass given output gradients, and what building the first
optimizer imports cost about a second of a sandbox's start.
Exercise 00 needs none of them, unless the learner's own file names matplotlib, an optimizer or ``torch.func``; an
instructor's own suite may need anything. Learner code starts from the sandbox's memory, so it sees what was imported ahead.
"""

from __future__ import annotations

import subprocess
import sys

from grader import course
from grader.runner import Task, Worker
from tests.helpers import KIT, grade_in

# A learner file whose make_tensor reports the module table as it was when the file began to be imported.
# It must name neither matplotlib nor an optimizer, or the sandbox would import them ahead (``Task.warm_up``).
PROBE = '''import sys

AHEAD = {name: name in sys.modules for name in ("matplot" + "lib.pyplot", "torch._dynamo")}


def make_tensor(values, requires_grad=False):
    raise RuntimeError(f"imported ahead: {AHEAD}")
'''


def test_an_exercise_that_neither_plots_nor_trains_is_graded_without_importing_either(grader_cache, tmp_path):
    learner_file = tmp_path / "exercise_00_tensors.py"
    learner_file.write_text(PROBE)
    with Worker() as worker:  # a sandbox of its own: the session's warm one has imported everything
        report, _ = grade_in(worker, "0", learner_file)
    checks = {check["id"]: check for check in report["exercises"][0]["checks"]}
    assert "{'matplotlib.pyplot': False, 'torch._dynamo': False}" in checks["make_tensor_float32"]["message"]


def test_what_is_imported_ahead_follows_the_suite_and_the_learners_file(tmp_path):
    exercise = course.find_exercise("0")
    built_in = Task(exercise, tmp_path / exercise.filename, KIT / "grader" / "suites" / exercise.suite_filename)
    assert built_in.warm_up(b"x = 1\n") == set()
    assert built_in.warm_up(b"import matplotlib.pyplot as plt\n") == {"plotting"}
    assert built_in.warm_up(b"from matplotlib import pyplot\n") == {"plotting"}
    assert built_in.warm_up(b"# the CPU, where matplotlib lives\n") == set()
    assert built_in.warm_up(b"from torch import optim\n") == {"training"}
    assert built_in.warm_up(b"return torch.func.grad(f)(x)\n") == {"training"}
    assert built_in.warm_up(b"# so that an optimizer can train it\n") == set()
    own_suite = Task(exercise, tmp_path / exercise.filename, tmp_path / "suites" / exercise.suite_filename)
    assert own_suite.warm_up(None) == set(course.WARM_UPS)  # an instructor's suite may plot or train anywhere
    training = course.find_exercise("3")
    assert Task(training, tmp_path / training.filename,
                KIT / "grader" / "suites" / training.suite_filename).warm_up(None) == {"plotting", "training"}


def test_the_gradients_warm_up_imports_what_a_backward_pass_with_output_gradients_needs():
    # The judge differentiates through a learner's forward pass by handing autograd the output gradients
    # (boundary.host.Host.backward). The first such call imports torch's symbolic shapes and sympy: without the
    # warm-up it happens in every learner process that exercise 02's gradient check starts.
    code = """
import sys
import torch
from grader.sandbox import zygote
before = set(sys.modules)
zygote.warm_gradients()
warmed = set(sys.modules) - before
x = torch.zeros(3, requires_grad=True)
torch.autograd.grad(x * 2, [x], torch.ones(3))
print("torch.fx.experimental.symbolic_shapes" in warmed, sorted(set(sys.modules) - before - warmed))
"""
    process = subprocess.run([sys.executable, "-c", code], cwd=KIT, capture_output=True, text=True, timeout=120)
    assert process.returncode == 0, process.stderr
    assert process.stdout.strip() == "True []"


def test_show_is_noted_on_the_figure_when_learner_code_imports_pyplot_only_later():
    # In a learner process that starts without matplotlib, patch_show waits for pyplot to be imported.
    code = """
import sys
from grader.boundary import figures, host
host.patch_show()
assert "matplotlib.pyplot" not in sys.modules
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
figure = plt.figure()
plt.show()
print(getattr(figure, figures.SHOWN, False))
"""
    process = subprocess.run([sys.executable, "-c", code], cwd=KIT, capture_output=True, text=True, timeout=120)
    assert process.returncode == 0, process.stderr
    assert process.stdout.strip() == "True"
