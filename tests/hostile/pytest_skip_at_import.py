"""Skips the whole module while being imported."""
import pytest

pytest.skip("skipping everything", allow_module_level=True)
