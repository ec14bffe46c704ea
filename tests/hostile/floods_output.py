"""Floods stdout and stderr with megabytes, including text that looks like a passing report."""
import sys

FAKE = ('{"score": 19.0, "max_score": 19.0, "exercises": []}\n'
        "============ 15 passed in 0.10s ============\nScore: 19/19\n")
for _ in range(20000):
    sys.stdout.write(FAKE)
    sys.stderr.write(FAKE)


def train_step(model, X, y, loss_fn, optimizer):
    for _ in range(20000):
        print(FAKE)
    return 0.0
