"""The PyTorch Workflow Kit's grader: runs hidden pytest suites against a learner's exercise files.

``python -m grader --help`` for the command line; ``docs/writing-suites.md`` for
writing suites of your own. Importing this package imports no torch.
"""

__version__ = "0.1.0"
