"""An exception at the top level."""
raise RuntimeError("boom at import")
