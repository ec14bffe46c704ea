"""Copy the kit's exercise stubs into the grader package, as ``grader/stubs.json``.

Why the copy exists: ``python -m grader exercise_03 --reset`` puts the stub
back, but the stubs in ``exercises/`` cannot be where it reads them from.
Learners edit ``exercises/`` in place, so by the time they ask for a reset the
stub there is gone; and a learner who gets the grader through pip (GitHub
Classroom) has no kit ``exercises/`` at all, only the grader package. So the
pristine stubs travel inside the package, as data. ``exercises/`` stays the one
place they are written; this script copies them, and the kit's test
``tests/test_reset.py`` fails whenever the copy is out of date.

    python scripts/freeze_stubs.py          # after changing anything in exercises/
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

KIT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(KIT_ROOT))

from grader import course  # noqa: E402  (needs the path above when run as a script)
from grader.reset import STUBS_FILE, STUBS_FORMAT  # noqa: E402


def frozen_stubs(exercises: Path) -> dict:
    """What ``grader/stubs.json`` holds: every exercise of the course table, as read from ``exercises``."""
    # Decoded from bytes, not read in text mode, so a stub's line endings survive the round trip.
    # Each exercise's notebook stub too (made by scripts/make_notebooks.py), for --reset and for telling
    # which of a learner's two files is the one worked on (grader.pick).
    stubs = {name: (exercises / name).read_bytes().decode("utf-8")
             for e in course.EXERCISES for name in (e.filename, e.notebook)}
    return {"format": STUBS_FORMAT, "stubs": stubs}


def main() -> int:
    data = frozen_stubs(KIT_ROOT / "exercises")
    # Sorted keys and one stub a line keep the file's diffs readable in review.
    STUBS_FILE.write_text(json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {STUBS_FILE.relative_to(KIT_ROOT)}: {len(data['stubs'])} stubs from exercises/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
