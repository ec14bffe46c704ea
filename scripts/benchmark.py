"""How fast is grading, compared with the smallest training script?

Runs, alternately, the floor command (import torch and build one optimizer,
what any training script pays) and a grading command, and reports the median
wall time of each and their ratio. Alternating keeps a busy machine from
favouring one side.

    python scripts/benchmark.py                 # grade exercise_03 --solutions, 7 rounds
    python scripts/benchmark.py --rounds 11 -- --all --solutions
    python scripts/benchmark.py --against ../kit-before -- --all --solutions   # and another checkout, alternately
    python scripts/benchmark.py --progress      # the overview when no file changed (state file reused)
    python scripts/benchmark.py --watch 03      # from a save to the new result in watch mode
    python scripts/benchmark.py --watch 03 --pause 1   # ... saving a second after each result, as a learner would

``--against DIR`` also grades, in each round, with the kit checked out in DIR
(say a ``git worktree`` of an older commit), so that a change is measured
against the same floor and the same moments of a noisy machine.

The watch and overview measurements have no floor to compare with: their targets are absolute (the
overview well under a second, a watch re-grade within 0.5 s of the save).
"""

from __future__ import annotations

import argparse
import os
import selectors
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KIT_ROOT = Path(__file__).resolve().parent.parent
FLOOR = [sys.executable, "-c", "import torch; torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)"]


def wall_time(command: list[str], cwd: Path = KIT_ROOT) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if result.returncode not in (0, 1):
        sys.exit(f"{' '.join(command)} failed ({result.returncode}): {result.stderr.decode()[-500:]}")
    return elapsed


def report(label: str, times: list[float]) -> None:
    print(f"{label}  median {statistics.median(times):.3f} s  ({', '.join(f'{t:.2f}' for t in times)})")


def progress(rounds: int) -> None:
    """``python -m grader`` over the reference solutions, once to fill the state file, then timed."""
    with tempfile.TemporaryDirectory() as cache:
        os.environ["XDG_CACHE_HOME"] = cache
        command = [sys.executable, "-m", "grader", "--solutions"]
        wall_time(command)
        report("python -m grader --solutions (nothing changed)", [wall_time(command) for _ in range(rounds)])


def watch(exercise: str, rounds: int, pause: float = 0.0) -> None:
    """Save the reference solution again and again (each time a little different) in watch mode."""
    from grader import course

    filename = course.find_exercise(exercise).filename
    with tempfile.TemporaryDirectory() as folder:
        learner = Path(folder) / filename
        shutil.copy(KIT_ROOT / "solutions" / filename, learner)
        process = subprocess.Popen([sys.executable, "-m", "grader", exercise, "--watch", "--source", folder],
                                   cwd=KIT_ROOT, stdout=subprocess.PIPE, env={**os.environ, "XDG_CACHE_HOME": folder})
        selector = selectors.DefaultSelector()
        selector.register(process.stdout, selectors.EVENT_READ)

        def next_screen() -> None:
            seen = b""
            while b"Graded at" not in seen:
                if not selector.select(120):
                    sys.exit("watch mode showed nothing new for 120 s")
                seen += os.read(process.stdout.fileno(), 65536)

        next_screen()  # the first grading starts the worker: not counted
        times = []
        for round_number in range(rounds):
            source = (KIT_ROOT / "solutions" / filename).read_text() + f"\n# save {round_number}\n"
            time.sleep(pause)  # the learner reads the result first (watch mode prepares the next grading meanwhile)
            start = time.perf_counter()
            learner.write_text(source)
            next_screen()
            times.append(time.perf_counter() - start)
        process.terminate()
        process.wait()
        report(f"save -> result, python -m grader {exercise} --watch, saves {pause:g} s after each result", times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--progress", action="store_true", help="time the overview when nothing changed")
    parser.add_argument("--watch", metavar="EXERCISE", help="time a re-grade in watch mode")
    parser.add_argument("--against", type=Path, metavar="DIR",
                        help="also grade with the kit checked out in DIR, alternately, and compare")
    parser.add_argument("--pause", type=float, default=0.0, metavar="SECONDS",
                        help="with --watch: wait this long after each result before saving again (default 0)")
    parser.add_argument("grader_args", nargs="*", default=["exercise_03", "--solutions"])
    options = parser.parse_args()
    sys.path.insert(0, str(KIT_ROOT))
    if options.progress:
        return progress(options.rounds)
    if options.watch:
        return watch(options.watch, options.rounds, options.pause)
    grading = [sys.executable, "-m", "grader", *options.grader_args, "--device", "cpu"]
    kits = {"python -m grader " + " ".join(options.grader_args): KIT_ROOT}
    if options.against:
        if not (options.against / "grader" / "__main__.py").is_file():
            sys.exit(f"--against {options.against}: no kit there (no grader/__main__.py)")
        kits[f"the same, in {options.against}"] = options.against.resolve()
    wall_time(FLOOR)  # warm the file cache; not counted
    for kit in kits.values():
        wall_time(grading, kit)
    floors, gradings = [], {label: [] for label in kits}
    for _ in range(options.rounds):
        floors.append(wall_time(FLOOR))
        for label, kit in kits.items():
            gradings[label].append(wall_time(grading, kit))
    floor = statistics.median(floors)
    report("floor command    ", floors)
    for label, times in gradings.items():
        report(label, times)
        print(f"ratio             {statistics.median(times) / floor:.2f}")


if __name__ == "__main__":
    main()
