"""Starts processes and threads meant to outlive the grader, one of them in a new session."""
import os
import subprocess
import sys
import threading
import time


def spawn():
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(600)
        os._exit(0)
    threading.Thread(target=time.sleep, args=(600,), daemon=False).start()


spawn()


def train_step(model, X, y, loss_fn, optimizer):
    spawn()
    return 0.0
