"""The PyTorch Workflow Kit's grader: runs hidden pytest suites against a learner's exercise files.

``python -m grader --help`` for the command line; ``check("03")`` from a notebook cell
(``grader.incell``); ``docs/writing-suites.md`` for
writing suites of your own. Importing this package imports no torch.
"""

__version__ = "0.1.0"


def check(exercise, path=None, **options):
    """Grade the notebook this is called from: ``from grader import check; check("03")`` (see ``grader.incell``)."""
    from grader.incell import check as check_notebook  # imported here: the command line never needs it

    return check_notebook(exercise, path, **options)
