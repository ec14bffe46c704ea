"""Correct code that prints a great deal: it must still get full marks (the test puts the solution before it)."""
import sys

for _ in range(5000):
    print("debugging output " * 20)
    print("warnings " * 20, file=sys.stderr)
