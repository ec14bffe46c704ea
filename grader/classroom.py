"""``python -m grader.classroom``, as teachers call it: the command lives in ``grader.platforms.classroom``."""

import sys

from grader.platforms.classroom import main

if __name__ == "__main__":
    sys.exit(main())
