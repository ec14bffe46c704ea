"""``--reset``, run for real: the stub comes back, the learner's version is kept, nothing is lost."""

from __future__ import annotations

import json
import shutil

import pytest

from grader import course
from tests.helpers import KIT, run_grader, statuses

EXERCISES = KIT / "exercises"
STUB_03 = (EXERCISES / "exercise_03_training.py").read_bytes()
# The learner's edit, with bytes a text-mode copy would change: non-ASCII and a Windows line end.
EDITED_03 = STUB_03.replace(b"    raise NotImplementedError(\"train_step\")\n",
                            "    return 0.0  # mon essai, \u00e0 revoir\r\n".encode("utf-8"), 1)


@pytest.fixture
def kit(tmp_path):
    """A learner's copy of exercises/ and a home folder of its own (backups must not go to the real one)."""
    folder = tmp_path / "exercises"
    shutil.copytree(EXERCISES, folder)
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "XDG_CACHE_HOME": str(tmp_path / "xdg-cache")}

    def reset(*names: str, folder=folder):
        return run_grader(*names, "--reset", "--source", str(folder), cwd=tmp_path, env=env)

    return folder, tmp_path / "xdg-cache" / "pytorch-workflow-kit" / "backups", reset


def files_of(folder):
    """``{name: bytes}`` of every file in ``folder``."""
    return {path.name: path.read_bytes() for path in folder.iterdir()}


def test_edited_file_is_kept_as_a_backup_and_the_stub_comes_back(kit):
    folder, backups, reset = kit
    (folder / "exercise_03_training.py").write_bytes(EDITED_03)
    process = reset("exercise_03")
    assert process.returncode == 0, process.stderr
    [backup] = backups.iterdir()
    assert backup.read_bytes() == EDITED_03
    assert (folder / "exercise_03_training.py").read_bytes() == STUB_03
    assert process.stdout == (f"exercise_03: your version is saved as {backup}; "
                              "exercises/exercise_03_training.py is the stub again\n")
    # Nothing else in the folder changed, and no temporary file was left beside the learner's.
    assert files_of(folder) == files_of(EXERCISES)


def test_resetting_twice_keeps_both_earlier_versions(kit):
    folder, backups, reset = kit
    versions = [EDITED_03, EDITED_03 + b"# second attempt\n"]
    for version in versions:
        (folder / "exercise_03_training.py").write_bytes(version)
        assert reset("3").returncode == 0
    # Both resets ran within a second or two: the counter in the name keeps them apart.
    assert sorted(path.read_bytes() for path in backups.iterdir()) == sorted(versions)


def test_untouched_exercise_is_left_alone_and_nothing_is_backed_up(kit):
    folder, backups, reset = kit
    before = (folder / "exercise_03_training.py").stat().st_mtime_ns
    process = reset("exercise_03")
    assert process.returncode == 0, process.stderr
    assert process.stdout == "exercise_03: exercises/exercise_03_training.py is already the stub; nothing to do\n"
    assert (folder / "exercise_03_training.py").stat().st_mtime_ns == before
    assert not backups.exists()


def test_missing_file_is_written_fresh_from_the_stub(kit):
    folder, backups, reset = kit
    (folder / "exercise_05_persistence.py").unlink()
    process = reset("5")
    assert process.returncode == 0, process.stderr
    assert process.stdout == ("exercise_05: exercises/exercise_05_persistence.py was missing; "
                              "it is written fresh from the stub\n")
    assert files_of(folder) == files_of(EXERCISES)
    assert not backups.exists()


def test_several_exercises_are_reset_in_the_order_named(kit):
    folder, backups, reset = kit
    (folder / "exercise_03_training.py").write_bytes(EDITED_03)
    (folder / "exercise_07_classification.py").unlink()
    process = reset("7", "exercise_00", "03", "3")
    assert process.returncode == 0, process.stderr
    lines = process.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["exercise_07", "exercise_00", "exercise_03"]
    assert "written fresh" in lines[0] and "nothing to do" in lines[1] and "stub again" in lines[2]
    assert files_of(folder) == files_of(EXERCISES)
    assert [path.read_bytes() for path in backups.iterdir()] == [EDITED_03]


@pytest.mark.parametrize("arguments, words", [
    ([], "only the exercises you name"),
    (["--all"], "only the exercises you name"),
    (["3", "--all"], "not both"),
    (["3", "--solutions"], "never touches the reference solutions"),
    (["3", "banana"], "unknown exercise 'banana'"),
])
def test_usage_errors_say_what_to_do_and_reset_nothing(kit, arguments, words):
    folder, backups, reset = kit
    (folder / "exercise_03_training.py").write_bytes(EDITED_03)
    process = reset(*arguments)
    assert process.returncode == 2
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], process.stderr
    assert "Traceback" not in process.stderr and not process.stdout
    assert (folder / "exercise_03_training.py").read_bytes() == EDITED_03
    assert not backups.exists()


def test_reset_in_a_folder_that_does_not_exist_is_a_usage_error(kit, tmp_path):
    _, _, reset = kit
    process = reset("3", folder=tmp_path / "no-such-folder")
    assert process.returncode == 2 and "no folder" in process.stderr and not process.stdout
    assert not (tmp_path / "no-such-folder").exists()


def test_the_solutions_are_never_reset_even_when_named_as_the_source(kit, tmp_path):
    # --solutions is refused outright (above); this is the same folder reached through --source.
    _, backups, reset = kit
    before = files_of(KIT / "solutions")
    process = reset("3", folder=KIT / "solutions")
    assert process.returncode == 2 and "reference solutions" in process.stderr and not process.stdout
    assert files_of(KIT / "solutions") == before
    assert not backups.exists()


def test_reset_then_grade_gives_not_started(kit, grade_warm):
    folder, _, reset = kit
    shutil.copy(KIT / "solutions" / "exercise_03_training.py", folder / "exercise_03_training.py")
    assert reset("3").returncode == 0
    report, returncode = grade_warm("3", folder / "exercise_03_training.py")
    assert returncode == 1
    assert set(statuses(report["exercises"][0]).values()) == {"not_started"}


def test_grader_copy_of_the_stubs_matches_exercises():
    frozen = json.loads((KIT / "grader" / "stubs.json").read_text(encoding="utf-8"))
    expected = {name: (EXERCISES / name).read_bytes().decode("utf-8")
                for e in course.EXERCISES for name in (e.filename, e.notebook)}
    assert frozen == {"format": 1, "stubs": expected}, (
        "grader/stubs.json differs from exercises/: run python scripts/freeze_stubs.py")


def test_stubs_are_shipped_with_the_grader_package():
    # Learners who install the grader with pip have no exercises/: the package must carry the stubs.
    tomllib = pytest.importorskip("tomllib")  # Python 3.11 and later
    pyproject = tomllib.loads((KIT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "stubs.json" in pyproject["tool"]["setuptools"]["package-data"]["grader"]


def test_backups_made_in_the_same_second_never_replace_each_other(tmp_path, monkeypatch):
    from grader import files

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setattr(files.time, "strftime", lambda pattern: "20250101-120000")  # one second, frozen
    saved = [files.keep_backup(data, "exercise_03_training.py") for data in (b"one", b"two", b"three")]
    assert len(set(saved)) == 3
    assert [path.read_bytes() for path in saved] == [b"one", b"two", b"three"]
    assert all(path.parent == tmp_path / ".cache" / "pytorch-workflow-kit" / "backups" for path in saved)
