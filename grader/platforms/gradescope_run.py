"""One submission graded inside the Gradescope bundle (``python -m grader.gradescope run``).

The learner's upload is untrusted: their files (``.py`` or notebook) are found
anywhere under ``submission/`` by their exact names (``grader.platforms.finder``, the
gradebook's finder), the chosen one copied into a fresh folder, and graded
there by the bundle's own grader (``python -m grader --format gradescope``, run
from the bundle's folder as a separate process with a time limit). Its results
get the instructor's visibility, a visible "Files in your upload" entry and a
summary for people; when grading breaks, a results.json says why instead.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader import course, wording
from grader.commands import UsageError
from grader.files import written_whole
from grader.platforms import finder

CONFIG_NAME = "gradescope.json"
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
MAX_FILE_BYTES = 1_000_000  # an exercise file is a few kB; a bigger "exercise" is not graded
MAX_NOTEBOOK_BYTES = 20_000_000  # a notebook saved with its plots is bigger, but not by this much
STDERR_LINES = 15  # how much of a broken grader's stderr a fallback results.json quotes
IGNORED_NAMES = {"__MACOSX", "__pycache__"}  # what zip tools and Python leave behind
WHEN_SHOWN = {"hidden": "hidden from you", "after_due_date": "shown after the due date",
              "after_published": "shown when your instructor publishes the grades"}


# -- what was uploaded ----------------------------------------------------------------


@dataclass
class Upload:
    """The learner's files found in the submission, and what a person should be told about the rest."""

    files: dict[str, Path] = field(default_factory=dict)
    """The file to grade for each exercise of the bundle, by exercise name."""
    notes: list[str] = field(default_factory=list)
    """Sentences about the upload: duplicates, near-miss names, files ignored."""
    problems: bool = False
    """Whether anything in the notes needs the learner's attention."""
    unresolved: dict[str, str] = field(default_factory=dict)
    """Exercise name -> why it was not graded although uploaded (its .py file and notebook both changed)."""


def meant_for(name: str, exercises: list[course.Exercise]) -> course.Exercise | None:
    """The exercise a misnamed file was probably meant to be, such as ``Exercise_03_training (1).py`` for 03."""
    lowered = re.sub(r"[\s\-.()]+", "_", name.lower())
    match = re.search(r"exercise_?0*(\d+)", lowered)
    if match is None and Path(name).suffix.lower() in (".py", ".ipynb"):
        # Looser guesses only for code: "03_training.py", "models.py" (not "data.csv").
        match = re.match(r"0*(\d+)_", lowered)
        if match is None:
            return next((e for e in exercises if re.search(rf"(^|_){e.slug}(_|$)", lowered)), None)
    if match is None:
        return None
    return next((e for e in exercises if e.number == int(match.group(1))), None)


def skipped_folder(name: str) -> bool:
    """Hidden folders and what zip tools and Python leave behind hold no learner's work."""
    return name.startswith(".") or name in IGNORED_NAMES


def nearest_the_top(path: Path) -> tuple:
    """Sort key of one exercise's copies: the shallowest first, then alphabetical."""
    return len(path.parts), path.as_posix()


def collect(submission: Path, exercises: list[course.Exercise]) -> Upload:
    """Find each exercise's file (``.py`` or notebook) anywhere under ``submission``, with ``grader.platforms.finder``.

    Of several copies of one name, the shallowest is graded; of a ``.py`` file
    and a notebook, the one that differs from the kit's stub, as ``python -m
    grader`` chooses; when both differ, neither (``Upload.unresolved``).
    """
    upload = Upload()
    by_name = {name: exercise for exercise in exercises for name in (exercise.filename, exercise.notebook)}
    candidates: dict[str, list[Path]] = {}
    misnamed: dict[str, list[str]] = {}
    ignored: list[str] = []
    paths = finder.walk(submission, skipped_folder) if submission.is_dir() else []
    for path in paths:
        name = path.name
        if name.startswith("."):  # .DS_Store, macOS's ._ copies
            continue
        shown = path.relative_to(submission.parent).as_posix()
        exercise = by_name.get(name)
        if exercise is not None:
            limit = MAX_NOTEBOOK_BYTES if name == exercise.notebook else MAX_FILE_BYTES
            if not stat.S_ISREG(path.lstat().st_mode):
                upload.notes.append(f"{shown} is a link or a special file, not a file: not graded.")
                upload.problems = True
            elif path.lstat().st_size > limit:
                upload.notes.append(f"{shown} is larger than {limit // 1000} kB: not graded.")
                upload.problems = True
            else:
                candidates.setdefault(name, []).append(path)
            continue
        other = course.find_exercise(name) if re.fullmatch(r"exercise_\d+_[a-z0-9_]+\.(py|ipynb)", name) else None
        if other is not None and name in (other.filename, other.notebook):
            upload.notes.append(f"{shown} is not part of this assignment: not graded.")
            continue
        guess = meant_for(name, exercises)
        if guess is not None:
            misnamed.setdefault(guess.name, []).append(shown)
        else:
            ignored.append(shown)
    shown = lambda path: path.relative_to(submission.parent).as_posix()  # noqa: E731
    for exercise in exercises:
        found = finder.choose_file(exercise, candidates, nearest_the_top)
        if found.both_changed:
            script, notebook = found.both_changed
            upload.unresolved[exercise.name] = wording.both_changed(shown(script), shown(notebook),
                                                                    wording.NEITHER_GRADED_UPLOAD)
            upload.notes.append(f"{exercise.name}: {upload.unresolved[exercise.name]}")
            upload.problems = True
            ignored += misnamed.get(exercise.name, [])
        elif found.file is not None:
            chosen = upload.files[exercise.name] = found.file
            ignored += misnamed.get(exercise.name, [])
            copies = [path for path in found.left_out if path.name == chosen.name]
            if copies:
                upload.notes.append(f"{chosen.name} was found {len(copies) + 1} times: graded {shown(chosen)} (the "
                                    f"one nearest the top of the upload), ignored {', '.join(map(shown, copies))}.")
            for stub in (path for path in found.left_out if path.name != chosen.name):
                upload.notes.append(f"{shown(stub)} is still the kit's stub, so {shown(chosen)} was graded.")
        elif exercise.name in misnamed:
            names = ", ".join(misnamed[exercise.name])
            upload.notes.append(f"{exercise.name}: found {names}, but the file must be named exactly "
                                f"{exercise.filename} (or {exercise.notebook} for a notebook): rename it and "
                                "upload again.")
            upload.problems = True
        else:
            upload.notes.append(f"{exercise.name}: no file named {exercise.filename} (or the notebook "
                                f"{exercise.notebook}) in your upload.")
            upload.problems = True
    if ignored:
        ignored.sort()
        listed = ", ".join(ignored[:10]) + (f" and {len(ignored) - 10} more" if len(ignored) > 10 else "")
        upload.notes.append(f"Also in your upload, not graded: {listed}.")
    return upload


def upload_entry(upload: Upload, exercises: list[course.Exercise], submission: Path) -> dict:
    """A results entry worth no points that always shows the learner what was graded, even when checks are hidden."""
    lines = [f"{upload.files[exercise.name].name}: graded "
             f"{upload.files[exercise.name].relative_to(submission.parent).as_posix()}"
             for exercise in exercises if exercise.name in upload.files]
    lines += upload.notes
    return {"name": "Files in your upload", "number": "0", "score": 0.0, "max_score": 0.0,
            "status": "failed" if upload.problems else "passed", "output": "\n".join(lines),
            "visibility": "visible"}


# -- grading -------------------------------------------------------------------------


def read_config(source: Path) -> dict:
    """The bundle's gradescope.json, checked enough to grade with."""
    try:
        config = json.loads((source / CONFIG_NAME).read_text(encoding="utf-8"))
        exercises = [course.find_exercise(name) for name in config["exercises"]]
        if not exercises or None in exercises or config["visibility"] not in VISIBILITIES:
            raise ValueError("unknown exercise or visibility")
        float(config["timeout"]), float(config["time_limit"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"no usable {source / CONFIG_NAME} ({exc}): rebuild the bundle with "
                         "python -m grader.gradescope build") from exc
    config["exercises"] = exercises
    return config


def grade_files(source: Path, folder: Path, config: dict, seed: int | None, output: Path) -> tuple[dict | None, str]:
    """Run the bundle's grader on ``folder``; return its results (None if it gave none) and what went wrong."""
    command = [sys.executable, "-E", "-B", "-m", "grader", "--all", "--empty-source-ok", "--source", str(folder),
               "--suites", str(source / "suites"), "--format", "gradescope", "--output", str(output),
               "--timeout", str(config["timeout"])]
    if seed is not None:
        command += ["--seed", str(seed)]
    print("grading:", " ".join(command), flush=True)
    with tempfile.TemporaryFile() as stderr:
        # Its own session, so that on a timeout everything it started can be ended at once.
        process = subprocess.Popen(command, cwd=source, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr,
                                   start_new_session=True)
        why = ""
        try:
            process.wait(timeout=float(config["time_limit"]))
        except subprocess.TimeoutExpired:
            why = f"grading took longer than the time limit of {float(config['time_limit']):g} s"
            process.send_signal(signal.SIGTERM)  # the grader ends what it started on SIGTERM
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        stderr.seek(0)
        said = stderr.read().decode(errors="replace")
    if said.strip():
        print(said, end="" if said.endswith("\n") else "\n")
    tail = "\n".join(said.strip().splitlines()[-STDERR_LINES:])
    if why:
        return None, why + (f"\n{tail}" if tail else "")
    if process.returncode not in (0, 1):
        return None, f"the grader ended with exit status {process.returncode}" + (f"\n{tail}" if tail else "")
    try:
        results = json.loads(output.read_text(encoding="utf-8"))
        if not isinstance(results, dict) or not isinstance(results.get("tests"), list):
            raise ValueError("not a results object")
        float(results["score"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return None, f"the grader wrote no usable results ({exc})" + (f"\n{tail}" if tail else "")
    return results, ""


def without_folder(text: str, folder: Path) -> str:
    """``text`` with the private grading folder taken out of paths: the learner knows only their file names."""
    return text.replace(f"{folder}{os.sep}", "").replace(str(folder), "your upload")


def finish(results: dict, upload: Upload, config: dict, exercises: list[course.Exercise],
           submission: Path, folder: Path) -> dict:
    """The grader's results with the instructor's visibility, the upload entry and a summary for people."""
    missing = {exercise.name: exercise for exercise in exercises if exercise.name not in upload.files}
    for test in results["tests"]:
        test["visibility"] = config["visibility"]
        if isinstance(test.get("output"), str):
            test["output"] = without_folder(test["output"], folder)
        exercise = str(test.get("name", "")).split(":")[0]
        if exercise in upload.unresolved:
            test["output"] = f"Not graded\n{upload.unresolved[exercise]}"
        elif exercise in missing:
            # The grader's own message speaks of folders and --source; a Gradescope learner only uploads files.
            test["output"] = (f"Not started\n{missing[exercise].filename} (or the notebook {missing[exercise].notebook}) "
                              "is not in your upload, so this check could not run: upload one of them under exactly "
                              "that name and submit again.")
    results["tests"].insert(0, upload_entry(upload, exercises, submission))
    graders_summary = without_folder(str(results.get("output", "")), folder)
    print(graders_summary)  # for the instructor's log, whatever learners may see
    visible = config["visibility"] == "visible"
    lines = []
    if visible:
        total = sum(float(test.get("max_score", 0)) for test in results["tests"])
        lines += [f"Score: {float(results['score']):g} of {total:g} points.", ""]
    if upload.problems:
        lines += ["Check your upload:", *(f"- {note}" for note in upload.notes), ""]
    if visible:
        lines.append(graders_summary)
    else:
        # Gradescope hides the total while checks are hidden; a summary here must not give it away.
        lines.append(f"Your score and the results of the checks are {WHEN_SHOWN[config['visibility']]}; "
                     "\"Files in your upload\" below shows what was graded.")
    results["output"] = "\n".join(lines).strip()
    results["stdout_visibility"] = "hidden"  # run_autograder's own log is for the instructor
    return results


def fallback(reason: str, upload: Upload | None, exercises: list[course.Exercise], submission: Path) -> dict:
    """A results.json for when grading itself broke: no points, the reason, and what the grader last said."""
    results = {"score": 0.0,
               "output": ("The autograder could not finish grading this submission, so no points were given. "
                          f"If this happens again, tell your instructor.\nReason: {reason}"),
               "stdout_visibility": "hidden", "tests": []}
    if upload is not None:
        results["tests"].append(upload_entry(upload, exercises, submission))
    return results


def write_results(results_dir: Path, results: dict) -> None:
    """Write results.json in one step, replacing whatever is there (learner code may have put something)."""
    results_dir.mkdir(parents=True, exist_ok=True)
    target = results_dir / "results.json"
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    with written_whole(target, encoding="utf-8") as file:
        file.write(json.dumps(results, indent=2) + "\n")


def run(root: Path, seed: int | None) -> dict:
    """Grade ``root/submission`` with the bundle in ``root/source``; return the results to write."""
    started = time.monotonic()
    source, submission = root / "source", root / "submission"
    config = read_config(source)
    exercises = config["exercises"]
    upload = collect(submission, exercises)
    for note in upload.notes:
        print("upload:", note)
    folder = Path(tempfile.mkdtemp(prefix="submission-"))
    report = Path(tempfile.mkdtemp(prefix="report-")) / "results.json"
    try:
        for path in upload.files.values():
            # Under its own name: exercise_03_training.py or .ipynb, the one chosen (the other is not copied).
            (folder / path.name).write_bytes(path.read_bytes())
        results, why = grade_files(source, folder, config, seed, report)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(report.parent, ignore_errors=True)
    if results is None:
        print("grading failed:", why)
        results = fallback(without_folder(why, folder), upload, exercises, submission)
    else:
        results = finish(results, upload, config, exercises, submission, folder)
    results["execution_time"] = round(time.monotonic() - started)
    return results
