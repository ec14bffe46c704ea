"""raise SystemExit(0) while being imported."""
raise SystemExit(0)
