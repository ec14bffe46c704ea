"""Fixtures shared by the kit's own tests (the functions they share are in ``tests/helpers.py``)."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def grader_cache(tmp_path_factory):
    """The grader's cache folder (backups, progress) for every grading the tests start: never the user's own.

    Set as ``XDG_CACHE_HOME`` for the whole session, so that in-process gradings and the processes the tests
    start both use it; each pytest-xdist worker has a folder of its own.
    """
    folder = tmp_path_factory.mktemp("grader-cache")
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(folder)
    yield folder
    if before is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = before
