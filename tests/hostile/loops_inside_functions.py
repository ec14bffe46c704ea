"""Every graded function loops forever; one ignores the alarm signal and swallows everything."""
import signal


def train_step(model, X, y, loss_fn, optimizer):
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    while True:
        pass


def test_step(model, X, y, loss_fn):
    while True:
        try:
            while True:
                pass
        except BaseException:
            pass


def fit(model, train, test, loss_fn, optimizer, epochs, eval_every=1):
    while True:
        pass


def plot_loss_curves(history):
    while True:
        pass
