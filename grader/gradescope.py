"""``python -m grader.gradescope``, as teachers call it: the command lives in ``grader.platforms.gradescope``."""

import sys

from grader.platforms.gradescope import main

if __name__ == "__main__":
    sys.exit(main())
