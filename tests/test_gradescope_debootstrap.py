"""The Gradescope bundle's ``setup.sh`` and ``run_autograder``, run for real in a fresh Debian root.

Opt-in, outside the default run: it takes minutes and needs root, ``debootstrap``,
``unshare`` and a network that reaches Debian's mirror and PyPI::

    KIT_DEBOOTSTRAP_TEST=1 python -m pytest tests/test_gradescope_debootstrap.py -s

What it does, as Gradescope does on its own image: ``debootstrap --variant=minbase``
makes a bare Debian root (no Python at all); the bundle built by ``python -m grader
gradescope build 00 02`` is unpacked into ``/autograder/source`` with the zip's
permissions, ``run_autograder`` copied to ``/autograder``; ``setup.sh`` runs once, as
root, inside the root (``chroot``, in a mount namespace of its own with ``/proc``),
and then ``run_autograder`` grades an upload of the solutions, one of the stubs and
an empty one. Each phase's time is printed (``-s`` shows them).

torch comes through ``setup.sh``'s documented override, ``TORCH_REQUIREMENT`` (a wheel
file), so the test does not download PyTorch's CPU index; the wheel is
``KIT_TORCH_WHEEL``, or else the one ``pip download torch==<this torch's version>``
finds with this machine's pip configuration. Its Python tag must match the root's
``python3`` (bookworm's is 3.11). torch's own dependencies and the rest of
``requirements.txt`` come from PyPI (``TORCH_INDEX_URL=https://pypi.org/simple``).

Settings: ``KIT_DEBOOTSTRAP_SUITE`` (default ``bookworm``), ``KIT_DEBOOTSTRAP_MIRROR``
(default ``http://deb.debian.org/debian``). Where HTTPS goes through a proxy with its own
certificate authority, ``PIP_CERT`` (a CA bundle on this machine) is copied into the
root and handed to ``setup.sh``'s pip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import KIT, grade_json
from tests.test_gradescope import unpack  # the /autograder layout Gradescope makes

pytestmark = pytest.mark.skipif(os.environ.get("KIT_DEBOOTSTRAP_TEST") != "1",
                                reason="opt-in: KIT_DEBOOTSTRAP_TEST=1 runs setup.sh in a fresh Debian root (minutes)")

SUITE = os.environ.get("KIT_DEBOOTSTRAP_SUITE", "bookworm")
MIRROR = os.environ.get("KIT_DEBOOTSTRAP_MIRROR", "http://deb.debian.org/debian")
GRADED = ("exercise_00_tensors.py", "exercise_02_models.py")
SEED = 4242
# The root's own PATH, as a root login shell on Debian has it: nothing of this machine's.
ROOT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def timed(label: str, command: list[str], timeout: float, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``command``, print how long it took, and return it (its output kept for the failure message)."""
    start = time.monotonic()
    process = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    print(f"[debootstrap test] {label}: {time.monotonic() - start:.0f} s, exit {process.returncode}", flush=True)
    return process


def in_root(root: Path, script: str, timeout: float, label: str, **variables: str) -> subprocess.CompletedProcess:
    """``script`` under bash inside ``root``, as root, with a clean environment plus ``variables``.

    ``unshare --mount`` gives it a mount namespace of its own: the ``/proc`` and ``/dev``
    mounted there vanish with it, so nothing is left mounted under ``root`` afterwards.
    """
    inside = " ".join(f"{name}={value}" for name, value in variables.items())
    setup = (f'mount -t proc proc "{root}/proc" && mount --rbind /dev "{root}/dev" && '
             f'exec chroot "{root}" /usr/bin/env -i HOME=/root PATH={ROOT_PATH} LANG=C.UTF-8 {inside} '
             f'/bin/bash -c "$1"')
    return timed(label, ["unshare", "--mount", "--propagation", "private", "sh", "-c", setup, "sh", script], timeout)


def torch_wheel(folder: Path) -> Path:
    """The CPU torch wheel to hand setup.sh: ``KIT_TORCH_WHEEL``, or pip's own find for this torch's version."""
    given = os.environ.get("KIT_TORCH_WHEEL")
    if given:
        return Path(given)
    import torch

    version = torch.__version__.split("+")[0]
    process = subprocess.run([sys.executable, "-m", "pip", "download", f"torch=={version}", "--no-deps",
                              "--only-binary", ":all:", "--dest", str(folder)],
                             capture_output=True, text=True, timeout=900)
    wheels = sorted(folder.glob("torch-*.whl"))
    assert process.returncode == 0 and wheels, f"set KIT_TORCH_WHEEL: pip download failed: {process.stderr[-2000:]}"
    return wheels[0]


def grade_upload(root: Path, files: dict[str, Path], label: str) -> dict:
    """Put ``files`` in /autograder/submission, run run_autograder in the root, return its results.json."""
    submission = root / "autograder" / "submission"
    shutil.rmtree(submission)
    submission.mkdir()
    for name, path in files.items():
        shutil.copy(path, submission / name)
    process = in_root(root, f"cd /autograder && ./run_autograder --seed {SEED}", 600, label)
    assert process.returncode == 0, process.stdout[-4000:] + process.stderr[-4000:]
    return json.loads((root / "autograder" / "results" / "results.json").read_text())


@pytest.fixture(scope="module")
def debian_root(tmp_path_factory) -> Path:
    """A fresh Debian root with the bundle unpacked and setup.sh run in it; removed afterwards."""
    for tool in ("debootstrap", "unshare", "chroot"):
        if not shutil.which(tool):
            pytest.fail(f"KIT_DEBOOTSTRAP_TEST=1 needs {tool} (apt-get install debootstrap)")
    if os.geteuid() != 0:
        pytest.fail("KIT_DEBOOTSTRAP_TEST=1 needs root (debootstrap and chroot)")
    work = tmp_path_factory.mktemp("debootstrap")
    root = work / "root"
    try:
        made = timed(f"debootstrap --variant=minbase {SUITE}",
                     ["debootstrap", "--variant=minbase", SUITE, str(root), MIRROR], 1200)
        assert made.returncode == 0, made.stdout[-4000:] + made.stderr[-4000:]
        assert not (root / "usr" / "bin" / "python3").exists()  # setup.sh must install Python itself

        bundle = work / "gradescope-autograder.zip"
        built = subprocess.run([sys.executable, "-m", "grader.gradescope", "build", "00", "02", "--output", str(bundle)],
                               cwd=KIT, env={**os.environ, "PYTHONPATH": str(KIT)}, capture_output=True, text=True,
                               timeout=300)
        assert built.returncode == 0, built.stderr
        unpack(bundle, root / "autograder")

        wheel = torch_wheel(work / "wheels")
        shutil.copy(wheel, root / "tmp" / wheel.name)
        variables = {"TORCH_REQUIREMENT": f"/tmp/{wheel.name}", "TORCH_INDEX_URL": "https://pypi.org/simple"}
        if os.environ.get("PIP_CERT"):
            shutil.copy(os.environ["PIP_CERT"], root / "tmp" / "pip-cert.pem")
            variables["PIP_CERT"] = "/tmp/pip-cert.pem"
        (root / "etc" / "resolv.conf").write_bytes(Path("/etc/resolv.conf").read_bytes())
        # As Gradescope runs it: once, as root, from the source folder.
        setup = in_root(root, "cd /autograder/source && bash ./setup.sh", 1800, "setup.sh", **variables)
        print(setup.stdout[-1500:], setup.stderr[-1500:], sep="\n")
        assert setup.returncode == 0, setup.stdout[-6000:] + setup.stderr[-6000:]
        yield root
    finally:
        # Nothing is mounted under root (the mounts lived in unshare's namespace): a plain removal is safe.
        if not any(line.split()[1].startswith(str(root)) for line in Path("/proc/mounts").read_text().splitlines()):
            shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(work / "wheels", ignore_errors=True)  # a copy of torch: hundreds of MB


def test_setup_sh_installs_the_pinned_cpu_torch_and_the_kits_dependencies(debian_root):
    probe = in_root(debian_root, "/autograder/venv/bin/python3 -c 'import sys, torch; "
                                 "print(sys.version_info[:2], torch.__version__, torch.cuda.is_available())'",
                    120, "import torch")
    assert probe.returncode == 0, probe.stderr
    requirement = next(line for line in (debian_root / "autograder" / "source" / "requirements.txt").read_text().split()
                       if line.startswith("torch"))
    print(f"[debootstrap test] {probe.stdout.strip()} (requirements.txt: {requirement})")
    assert "+cpu" in probe.stdout and "False" in probe.stdout


def test_run_autograder_gives_the_solutions_every_point(debian_root):
    results = grade_upload(debian_root, {name: KIT / "solutions" / name for name in GRADED}, "run_autograder, solutions")
    checks = [test for test in results["tests"] if test["number"] != "0"]
    assert checks and all(test["status"] == "passed" for test in checks), results
    assert results["score"] == sum(test["max_score"] for test in checks) > 0
    # The same score as the grader on this machine gives the same files with the same seed.
    report, _ = grade_json("0", "2", "--source", str(KIT / "solutions"), "--seed", str(SEED))
    assert results["score"] == report["score"] == report["max_score"]
    assert len(checks) == sum(len(exercise["checks"]) for exercise in report["exercises"])


def test_run_autograder_gives_a_stub_nothing_and_says_what_an_empty_upload_lacks(debian_root):
    results = grade_upload(debian_root, {GRADED[0]: KIT / "exercises" / GRADED[0]}, "run_autograder, a stub")
    assert results["score"] == 0 and all(test["status"] == "failed" for test in results["tests"])
    empty = grade_upload(debian_root, {}, "run_autograder, empty upload")
    assert empty["score"] == 0
    assert all(f"no file named {name} in your upload" in empty["output"] for name in GRADED)
    assert "--source" not in json.dumps(empty)
