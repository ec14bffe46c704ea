"""``python -m grader.gradebook``, as teachers call it: the command lives in ``grader.platforms.gradebook``."""

import sys

from grader.platforms.gradebook import main

if __name__ == "__main__":
    sys.exit(main())
