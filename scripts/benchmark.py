"""How fast is grading, compared with the smallest training script?

Runs, alternately, the floor command (import torch and build one optimizer,
what any training script pays) and a grading command, and reports the median
wall time of each and their ratio. Alternating keeps a busy machine from
favouring one side.

    python scripts/benchmark.py                 # grade exercise_03 --solutions, 7 rounds
    python scripts/benchmark.py --rounds 11 -- --all --solutions
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

KIT_ROOT = Path(__file__).resolve().parent.parent
FLOOR = [sys.executable, "-c", "import torch; torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)"]


def wall_time(command: list[str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=KIT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if result.returncode not in (0, 1):
        sys.exit(f"{' '.join(command)} failed ({result.returncode}): {result.stderr.decode()[-500:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("grader_args", nargs="*", default=["exercise_03", "--solutions"])
    options = parser.parse_args()
    grading = [sys.executable, "-m", "grader", *options.grader_args, "--device", "cpu"]
    wall_time(FLOOR), wall_time(grading)  # warm the file cache; not counted
    floors, gradings = [], []
    for _ in range(options.rounds):
        floors.append(wall_time(FLOOR))
        gradings.append(wall_time(grading))
    floor, graded = statistics.median(floors), statistics.median(gradings)
    print(f"floor command     median {floor:.3f} s  ({', '.join(f'{t:.2f}' for t in floors)})")
    print(f"python -m grader {' '.join(options.grader_args)}  median {graded:.3f} s  ({', '.join(f'{t:.2f}' for t in gradings)})")
    print(f"ratio             {graded / floor:.2f}")


if __name__ == "__main__":
    main()
