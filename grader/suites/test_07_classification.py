"""Hidden suite for exercise 07 (classification with DataLoaders).

Every check observes behaviour, never spelling: the data ``make_blobs`` returns,
what a Dataset and a loader hand out, which layers a forward pass runs through
(seen with forward hooks, so ``nn.Sequential`` and a hand-written ``forward``
both pass), what ``train_epoch`` does to a model and what it returns, and the
numbers the metrics give. The checks of one function never depend on another
learner function: loaders, models and datasets the suite needs are its own.
Data comes from each check's ``seed``, so nothing can be hard-coded.

The learner's code runs in a process of its own: a probe's record of its forward
passes (``seen``) comes back from there, and learner code could rewrite it. So a
record only counts forward passes and names mistakes; every verdict rests on what
the judge works out itself. ``train_epoch``'s loss is checked against the logits of
the epoch the check replays (the one that ends where the parameters did), and its
mode against ``StateProbe`` (``grader.checking.classifiers``), whose loss and gradients differ in
each state.
"""

import copy

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

from grader.checking import (PROBE_RECORD_CHANGED, STATES, along, count_steps, expect_close, expect_float,
                             expect_tensor, expect_training_mode, fmt, fmt_list, largest_difference,
                             leave_stale_gradients, linear_calls, matching_value, parameters_of, seeded_model,
                             states_of_loss, steps_note, touched)
from grader.checking.text import kind_of
from grader.checking.classification import (EPOCH_LR, accuracy_of, classifier_sizes, epoch_problem, expect_class_counts,
                                            expect_dataset_order, expect_linear_chain, expect_logits,
                                            expect_mean_loss_with_lr_zero, expect_nonlinear_hidden, expect_pair,
                                            expect_separated, expect_step_per_batch, learning_problem,
                                            mean_loss_mistake, numbered_dataset, one_epoch, recorded_logits,
                                            reference_epoch, replayed_epochs, sample_order, some_data,
                                            state_epoch_problem, train_head_gradients, two_epoch_orders)
from grader.checking.classification_metrics import (accuracy_problem, classes_problem, learner_metrics, macro_mistakes,
                                                    macro_problem)

# Every tensor here is tiny, so extra threads only cost: on a busy machine, cross_entropy's
# parallel loops made one training check take seconds instead of tens of milliseconds.
torch.set_num_threads(1)

# How many seeds, besides the first three, blobs_separated tries make_blobs with (5 classes in the plane).
BLOB_SEEDS = 32


# -- make_blobs ------------------------------------------------------------------


@pytest.mark.check(
    id="blobs_shapes",
    name="make_blobs returns X float32 [N, n_features] and y int64 [N]",
    points=1,
    hint=["N is n_per_class * n_classes; X has one row per point and one column per feature.",
          "Features are float32 (torch's default for random numbers); labels are class indices, int64 "
          "(`torch.arange` gives int64), one per row, so y has shape [N], not [N, 1]."],
)
def test_blobs_shapes(learner, seed):
    generator = torch.Generator().manual_seed(seed)
    for n_features in (int(torch.randint(3, 6, (1,), generator=generator)), None):
        n_per_class = int(torch.randint(5, 15, (1,), generator=generator))
        n_classes = int(torch.randint(2, 6, (1,), generator=generator))
        if n_features is None:
            X, y = learner.make_blobs(n_per_class, n_classes, seed=seed)
            n_features, described = 2, f"make_blobs({n_per_class}, {n_classes}) (n_features defaults to 2)"
        else:
            X, y = learner.make_blobs(n_per_class, n_classes, n_features, seed=seed)
            described = f"make_blobs({n_per_class}, {n_classes}, {n_features})"
        N = n_per_class * n_classes
        expect_tensor(X, f"X from {described}", shape=(N, n_features), dtype=torch.float32)
        expect_tensor(y, f"y from {described}", shape=(N,), dtype=torch.int64)


@pytest.mark.check(
    id="blobs_classes",
    name="make_blobs labels the classes 0 to n_classes - 1, n_per_class rows each",
    points=1,
    hint=["Count the rows of each class in y: every class from 0 to n_classes - 1 must have n_per_class of them.",
          "`torch.arange(n_classes).repeat_interleave(n_per_class)` gives the labels; make each row of X "
          "from the centre of the class in the same row of y."],
)
def test_blobs_classes(learner, seed):
    generator = torch.Generator().manual_seed(seed)
    n_per_class = int(torch.randint(6, 20, (1,), generator=generator))
    n_classes = int(torch.randint(3, 7, (1,), generator=generator))
    X, y = learner.make_blobs(n_per_class, n_classes, 2, seed=seed)
    expect_tensor(y, "y", shape=(n_per_class * n_classes,))
    expect_class_counts(y, n_classes, n_per_class)


@pytest.mark.check(
    id="blobs_seeded",
    name="make_blobs gives the same data for the same seed, other data for another",
    points=1,
    hint=["The data must depend on `seed` alone, not on whatever else used torch's random numbers before.",
          "Make a `torch.Generator().manual_seed(seed)` and pass `generator=` to every random call "
          "(`torch.randn`, `torch.rand`, ...)."],
)
def test_blobs_seeded(learner, seed):
    first = learner.make_blobs(10, 3, 2, seed=seed)
    torch.rand(100)  # other code uses the global generator in between
    again = learner.make_blobs(10, 3, 2, seed=seed)
    for part, a, b in (("X", first[0], again[0]), ("y", first[1], again[1])):
        expect_tensor(a, part)
        expect_tensor(b, part)
        assert a.shape == b.shape and torch.equal(a, b), \
            f"two calls with seed={seed} gave different {part}: the same seed must give the same data"
    torch.rand(100)
    default = learner.make_blobs(10, 3, 2), learner.make_blobs(10, 3, 2)
    assert torch.equal(default[0][0], default[1][0]), \
        "two calls without a seed (seed defaults to 0) gave different X"
    other = learner.make_blobs(10, 3, 2, seed=seed + 1)[0]
    assert not torch.equal(first[0], other), \
        f"seed={seed} and seed={seed + 1} gave exactly the same X: the seed must choose the data"


@pytest.mark.check(
    id="blobs_separated",
    name="make_blobs makes well-separated classes",
    points=1,
    hint=["Each class is a cluster around its own centre; the centres must be far apart compared with "
          "the spread of the points round them.",
          "Put the centres several units apart (say 5) and keep the noise small (a standard deviation "
          "below 1); random centres can land close together for some seeds, evenly spaced ones cannot."],
)
def test_blobs_separated(learner, seed):
    # Every seed must give separated classes. Centres put at random (in a box 20 wide, noise 0.8) pass these three
    # about 2 times in 3, and five classes in the plane about 3 times in 4: BLOB_SEEDS more seeds of those make a
    # pass by luck about one run in 10,000 (each costs about 0.8 ms). Evenly spaced centres pass every one of them.
    sizes = [(3, 2), (5, 2), (4, 3)] + [(5, 2)] * BLOB_SEEDS
    for offset, (n_classes, n_features) in enumerate(sizes):
        X, y = learner.make_blobs(60, n_classes, n_features, seed=seed + offset)
        expect_tensor(X, "X", shape=(60 * n_classes, n_features))
        expect_tensor(y, "y", shape=(60 * n_classes,))
        expect_separated(X, y, n_classes, n_features, seed + offset)


# -- BlobDataset -----------------------------------------------------------------


@pytest.mark.check(
    id="dataset_length",
    name="len(BlobDataset) is the number of samples",
    points=1,
    hint=["`len(dataset)` tells a DataLoader how many samples there are to batch.",
          "Return the number of rows of X (`len(self.X)`), not the number of features."],
)
def test_dataset_length(learner, seed):
    X, y = some_data(seed)
    dataset = learner.BlobDataset(X, y)
    length = len(dataset)
    assert length == len(X), (
        f"len(BlobDataset(X, y)) was {length} for {len(X)} samples of {X.shape[1]} features; "
        "it must be the number of samples")


@pytest.mark.check(
    id="dataset_items",
    name="BlobDataset[i] is the pair (X[i], y[i]), and a DataLoader can batch it",
    points=1,
    hint=["`dataset[i]` returns one sample: its features and its label, in that order, as X and y hold them "
          "(float32 features, int64 labels).",
          "`return self.X[index], self.y[index]`: a DataLoader stacks these pairs into batches. Convert nothing: "
          "a float32 model needs float32 features, and nn.CrossEntropyLoss needs int64 class indices."],
)
def test_dataset_items(learner, seed):
    X, y = some_data(seed)
    dataset = learner.BlobDataset(X, y)
    generator = torch.Generator().manual_seed(seed)
    for index in (0, int(torch.randint(1, len(X) - 1, (1,), generator=generator)), len(X) - 1):
        item = dataset[index]
        expect_pair(item, index, X, y)
        expect_item_types(item, index, X)
    X_batch, y_batch = next(iter(DataLoader(dataset, batch_size=len(X))))
    assert type(X_batch) is torch.Tensor and X_batch.dtype == X.dtype, (
        f"a DataLoader over the dataset gave features of dtype {dtype_of(X_batch)}, but X is {X.dtype}: keep the "
        "features as X holds them")
    assert type(y_batch) is torch.Tensor and y_batch.dtype == torch.int64, (
        f"a DataLoader over the dataset gave labels of dtype {dtype_of(y_batch)}; nn.CrossEntropyLoss needs the "
        "class indices as int64, as y holds them: return y[i] without converting it")
    assert torch.equal(X_batch, X) and torch.equal(y_batch, y), \
        "a DataLoader over the dataset (in order, one batch) did not give back X and y"


def dtype_of(value) -> str:
    return str(value.dtype) if isinstance(value, torch.Tensor) else kind_of(value)


def expect_item_types(item, index: int, X) -> None:
    """Fail unless ``dataset[index]``'s features keep X's dtype and its label is an integer, not a float."""
    x, label = item
    assert x.dtype == X.dtype, (
        f"the x of dataset[{index}] is {x.dtype}, but X is {X.dtype}: return the row as X holds it (a float32 model "
        f"cannot take {x.dtype} inputs)")
    assert not (type(label) is torch.Tensor and (label.is_floating_point() or label.is_complex())), (
        f"the y of dataset[{index}] is a {label.dtype} tensor: labels are class indices, and nn.CrossEntropyLoss "
        "takes float targets as class probabilities (and refuses them in this shape); return y[i] as it is (int64)")


# -- make_loader -----------------------------------------------------------------


@pytest.mark.check(
    id="loader_batches",
    name="make_loader yields batches of batch_size, the smaller last batch included, every epoch",
    points=1,
    hint=["37 samples in batches of 8 give batches of 8, 8, 8, 8 and 5: the last, smaller batch is kept.",
          "Return `DataLoader(dataset, batch_size=batch_size, ...)` itself (not a list or a generator), "
          "so it can be iterated once per epoch; leave `drop_last` at False."],
)
def test_loader_batches(learner, seed):
    dataset, n, batch_size = numbered_dataset(seed)
    loader = learner.make_loader(dataset, batch_size, False)
    expected = [batch_size] * (n // batch_size) + [n % batch_size]
    for epoch in (1, 2):
        batches = one_epoch(loader)
        sizes = [len(X_batch) for X_batch, _ in batches]
        assert epoch != 2 or sizes, (
            "the second pass over the loader gave no batches: return a DataLoader, "
            "which can be iterated once per epoch, not a generator")
        assert sizes == expected, (
            f"{n} samples with batch_size={batch_size} came in batches of {fmt_list(sizes, limit=8)}, "
            f"expected {fmt_list(expected, limit=8)}")
        assert sorted(sample_order(batches)) == list(range(n)), "the batches do not hold every sample exactly once"


@pytest.mark.check(
    id="loader_order",
    name="make_loader without shuffle keeps the dataset's order",
    points=1,
    hint=["shuffle=False means the samples come in the dataset's order, seed or no seed.",
          "Pass `shuffle=shuffle` to the DataLoader instead of a fixed value."],
)
def test_loader_order(learner, seed):
    dataset, n, batch_size = numbered_dataset(seed)
    for arguments in ({}, {"seed": seed}):
        order = sample_order(one_epoch(learner.make_loader(dataset, batch_size, False, **arguments)))
        described = "make_loader(..., shuffle=False" + (f", seed={seed})" if arguments else ")")
        expect_dataset_order(order, n, described)


@pytest.mark.check(
    id="loader_shuffles",
    name="make_loader with shuffle gives a new order every epoch",
    points=1,
    hint=["With shuffle=True each pass over the loader should visit the samples in a fresh random order.",
          "Pass `shuffle=shuffle` to the DataLoader; it reshuffles by itself each time it is iterated."],
)
def test_loader_shuffles(learner, seed):
    dataset, n, batch_size = numbered_dataset(seed)
    loader = learner.make_loader(dataset, batch_size, True)
    first, second = sample_order(one_epoch(loader)), sample_order(one_epoch(loader))
    assert sorted(first) == list(range(n)), "one shuffled epoch does not hold every sample exactly once"
    assert first != list(range(n)), "with shuffle=True the samples still came in the dataset's order"
    assert sorted(second) == list(range(n)), (
        "the second pass over the loader did not hold every sample once: return a DataLoader, which can be "
        "iterated once per epoch")
    assert first != second, "with shuffle=True two epochs came in the same order: each epoch needs a new order"
    # With a seed as well: two epochs of n >= 30 samples come in the same order by chance once in 30! or less.
    seeded = learner.make_loader(dataset, batch_size, True, seed=seed)
    first, second = sample_order(one_epoch(seeded)), sample_order(one_epoch(seeded))
    assert sorted(first) == list(range(n)) and sorted(second) == list(range(n)), (
        f"an epoch of make_loader(..., shuffle=True, seed={seed}) does not hold every sample exactly once")
    assert first != second, (
        f"with shuffle=True and seed={seed} two epochs came in the same order: each epoch needs a new order. Let the "
        "DataLoader shuffle (shuffle=True and the seeded generator), which draws a new order each time it is "
        "iterated, instead of shuffling once when the loader is made")


@pytest.mark.check(
    id="loader_seeded",
    name="make_loader with a seed shuffles the same way every time",
    points=1,
    hint=["Two loaders made with the same seed must give the same orders, epoch after epoch; another seed, other orders.",
          "Give the DataLoader a `generator=torch.Generator().manual_seed(seed)` when a seed is given."],
)
def test_loader_seeded(learner, seed):
    dataset, n, batch_size = numbered_dataset(seed)
    first = two_epoch_orders(learner, dataset, batch_size, seed)
    torch.rand(10)  # other code uses the global generator in between
    again = two_epoch_orders(learner, dataset, batch_size, seed)
    assert first[0] == again[0], (
        f"two loaders made with seed={seed} gave different orders, {fmt_list(first[0])} and {fmt_list(again[0])}: "
        "the seed must fix the shuffling")
    assert first[1] == again[1], f"two loaders made with seed={seed} agreed in their first epoch but not in their second"
    other = two_epoch_orders(learner, dataset, batch_size, seed + 1)
    assert other[0] != first[0], f"seed={seed} and seed={seed + 1} shuffled in exactly the same order"


# -- MultiClassClassifier --------------------------------------------------------


@pytest.mark.check(
    id="classifier_output_shape",
    name="MultiClassClassifier returns one score per class: shape [N, n_classes]",
    points=1,
    hint=["The model maps each row of in_features numbers to n_classes numbers.",
          "The last nn.Linear has out_features=n_classes; do not squeeze or flatten its output."],
)
def test_classifier_output_shape(learner, seed):
    in_features, n_classes, hidden = classifier_sizes(seed)
    x = torch.randn(7, in_features, generator=torch.Generator().manual_seed(seed))
    for model, described in ((seeded_model(learner, "MultiClassClassifier", seed, in_features, n_classes, hidden=hidden), f"hidden={hidden}"),
                             (learner.MultiClassClassifier(in_features, n_classes), "the default hidden")):
        output = model(x)
        expect_tensor(output, f"the output for 7 rows of {in_features} features ({n_classes} classes, {described})",
                      shape=(7, n_classes), dtype=torch.float32)


@pytest.mark.check(
    id="classifier_layers",
    name="MultiClassClassifier runs three nn.Linear layers: in -> hidden -> hidden -> n_classes",
    points=2,
    hint=["Two hidden layers means three nn.Linear layers: in_features to hidden, hidden to hidden, hidden to n_classes.",
          "Build them in `__init__` (`nn.Linear(in_features, hidden)`, `nn.Linear(hidden, hidden)`, "
          "`nn.Linear(hidden, n_classes)`) and call each once, in that order, in the forward pass; "
          "`hidden` defaults to 16."],
)
def test_classifier_layers(learner, seed):
    in_features, n_classes, hidden = classifier_sizes(seed)
    x = torch.randn(7, in_features, generator=torch.Generator().manual_seed(seed))
    for size, arguments in ((hidden, {"hidden": hidden}), (16, {})):
        torch.manual_seed(seed)
        model = learner.MultiClassClassifier(in_features, n_classes, **arguments)
        which = f"hidden={size}" + ("" if arguments else " (the default)")
        expect_linear_chain(model, x, (in_features, size, size, n_classes), which)


@pytest.mark.check(
    id="classifier_nonlinearity",
    name="MultiClassClassifier has a non-linearity after each hidden layer",
    points=1,
    hint=["Linear layers stacked with nothing in between are just one linear layer: the model could only "
          "draw straight boundaries.",
          "Put an activation such as `nn.ReLU()` (or `torch.relu`) after the first and after the second Linear layer."],
)
def test_classifier_nonlinearity(learner, seed):
    in_features, n_classes, hidden = classifier_sizes(seed)
    model = seeded_model(learner, "MultiClassClassifier", seed, in_features, n_classes, hidden=hidden)
    x = 3 * torch.randn(64, in_features, generator=torch.Generator().manual_seed(seed))
    _, calls = linear_calls(model, x)
    expect_nonlinear_hidden(calls)


@pytest.mark.check(
    id="classifier_returns_logits",
    name="MultiClassClassifier returns logits: the last Linear layer's output, not probabilities",
    points=1,
    hint=["nn.CrossEntropyLoss applies (log-)softmax itself, so the model must return the raw scores.",
          "Return the output of the last nn.Linear as it is: no softmax, log_softmax or sigmoid at the end."],
)
def test_classifier_returns_logits(learner, seed):
    in_features, n_classes, hidden = classifier_sizes(seed)
    model = seeded_model(learner, "MultiClassClassifier", seed, in_features, n_classes, hidden=hidden)
    x = 3 * torch.randn(32, in_features, generator=torch.Generator().manual_seed(seed))
    output, calls = linear_calls(model, x)
    expect_tensor(output, "the model's output", shape=(32, n_classes))
    assert calls, "the forward pass ran no nn.Linear layer"
    expect_logits(output, calls[-1][2])


# -- train_epoch -----------------------------------------------------------------


@pytest.mark.check(
    id="train_epoch_mean_loss",
    name="train_epoch returns the mean per sample of the loss_fn it is given, a smaller last batch weighted by its "
         "size",
    points=2,
    hint=["Each batch's loss is the mean over that batch; a last batch of 2 samples must count for 2 samples, "
          "not as much as a full batch. The loss is whatever `loss_fn` the caller passes.",
          "Compute each batch's loss with `loss_fn(logits, y_batch)`, add up `loss.item() * len(y_batch)` over "
          "the batches and divide by the number of samples; return a Python float."],
)
def test_train_epoch_mean_loss(learner, seed):
    # The losses are worked out here. The probe's record of its logits comes from the learner's process, so it
    # only counts the forward passes and names mistakes: the logits each batch met are those of the epoch the
    # check replays that ends where the model's parameters did.
    model, loader, _, _ = epoch_problem(seed)
    replays = replayed_epochs(model, loader, lr=EPOCH_LR)
    result = learner.train_epoch(model, loader, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=EPOCH_LR))
    value = expect_float(result, "train_epoch")
    batches = list(loader)
    recorded = recorded_logits(model)
    assert len(recorded) == len(batches), (
        f"the model was called {len(recorded)} times for {len(batches)} batches; call it once per batch")
    end = parameters_of(model)
    outputs = next((logits for final, logits in replays if largest_difference(end, final) < 1e-5), None)
    # Training the check cannot replay (a check of its own is about the update): the record names the mistake it
    # shows; the verdict comes from an epoch with lr=0, where no update can change the logits the batches meet.
    mistake = mean_loss_mistake(value, recorded if outputs is None else outputs, batches)
    assert not mistake, mistake
    if outputs is None:
        expect_mean_loss_with_lr_zero(learner, seed, batches)
    expect_given_loss_used(learner, seed, batches)


def expect_given_loss_used(learner, seed, batches):
    """train_epoch computes its loss with the loss_fn it is given: here one with label smoothing, with lr=0."""
    model, loader, _, _ = epoch_problem(seed)
    smoothed = nn.CrossEntropyLoss(label_smoothing=0.1)
    sizes = [len(y_batch) for _, y_batch in batches]
    with torch.no_grad():  # lr=0: the logits each batch meets are the model's of now
        logits = [model.layers(X_batch) for X_batch, _ in batches]
        expected, plain = (sum(loss_fn(out, y_batch).item() * len(y_batch)
                               for out, (_, y_batch) in zip(logits, batches)) / sum(sizes)
                           for loss_fn in (smoothed, nn.CrossEntropyLoss()))
    value = expect_float(learner.train_epoch(model, loader, smoothed, torch.optim.SGD(model.parameters(), lr=0.0)),
                         "train_epoch")
    assert not abs(value - plain) <= 1e-4 * max(1.0, abs(plain)), (
        f"with loss_fn=nn.CrossEntropyLoss(label_smoothing=0.1) train_epoch returned {fmt(value)}, the plain "
        f"cross-entropy ({fmt(expected)} expected): compute each batch's loss with the loss_fn it is given, not "
        "a loss of your own")
    expect_close(value, expected, "the mean loss with loss_fn=nn.CrossEntropyLoss(label_smoothing=0.1)",
                 tolerance=1e-4, advice="compute each batch's loss with the loss_fn train_epoch is given")


@pytest.mark.check(
    id="train_epoch_updates",
    name="train_epoch takes one optimizer step per batch, with that batch's gradients",
    points=2,
    hint=["Every batch goes through the five steps of exercise 03 inside the loop over the loader.",
          "Inside the loop: forward pass, loss, `optimizer.zero_grad()`, `loss.backward()`, `optimizer.step()`. "
          "Zero the gradients before `backward()`, not between `backward()` and `step()`."],
)
def test_train_epoch_updates(learner, seed):
    model, loader, _, _ = epoch_problem(seed)
    lr = 0.1
    leave_stale_gradients(model, seed + 1)
    n_batches = len(list(loader))
    expected, leaked, late = (reference_epoch(model, loader, lr, zeroing)
                              for zeroing in ("before backward", "never", "after step"))
    once = zeroed_once_epoch(model, loader, lr)
    start = parameters_of(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    steps = count_steps(optimizer)
    learner.train_epoch(model, loader, nn.CrossEntropyLoss(), optimizer)
    assert steps[0] != 0 or largest_difference(start, parameters_of(model)) == 0, (
        "the optimizer train_epoch was given never stepped, yet the parameters changed: train with the optimizer "
        "that is passed in (`optimizer.step()`), not one made inside train_epoch (the caller chooses the optimizer "
        "and its learning rate)")
    assert steps[0] == n_batches, (
        f"optimizer.step() ran {steps[0]} time{'s' if steps[0] != 1 else ''} in an epoch of {n_batches} batches; "
        "take one step per batch, inside the loop")
    end = parameters_of(model)
    assert largest_difference(start, end) != 0, (
        "optimizer.step() ran but no parameter moved: the gradients were empty or zero "
        "when it ran (were they zeroed after backward()?)")
    assert not (largest_difference(end, expected) >= 1e-5 and largest_difference(end, once) < 1e-5), (
        "the gradients were zeroed only once, before the loop over the batches, so they piled up from batch to "
        "batch: zero them inside the loop, before each backward()")
    expect_step_per_batch(end, expected, leaked, late)


def zeroed_once_epoch(model, loader, lr: float) -> list:
    """Where one SGD epoch leads when the gradients are zeroed once before the loop and never inside it."""
    twin = copy.deepcopy(model)
    for parameter in twin.parameters():
        parameter.grad = None
    return reference_epoch(twin, loader, lr, "never")


@pytest.mark.check(
    id="train_epoch_train_mode",
    name="train_epoch runs every forward pass in training mode, with gradients",
    points=1,
    hint=["A model may arrive in evaluation mode (after measuring it, say): switch it back first.",
          "Call `model.train()` at the start of `train_epoch`, before the loop over the batches."],
)
def test_train_epoch_train_mode(learner, seed):
    model, loader, losses = state_epoch_problem(seed)
    model.eval()
    gradients = train_head_gradients(model, loader)
    start = parameters_of(model.eval_head)
    everything = parameters_of(model)
    # lr=0: nothing moves, so every batch meets the same parameters and the loss of each state is known here.
    result = learner.train_epoch(model, loader, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.0))
    assert largest_difference(everything, parameters_of(model)) == 0, (
        "with an optimizer of lr=0, train_epoch still changed the parameters, so the grader cannot tell which mode "
        "its forward passes ran in: update the model only with the optimizer train_epoch is given")
    # The outcome: which mode's head the backward passes reached, and which state's loss the epoch returned.
    in_training = any(along([p.grad for p in model.train_head.parameters()], gradient) for gradient in gradients)
    in_eval = touched(model.eval_head, start)
    returned = states_of_loss(result, losses)
    # The backward passes reached the training head from passes with gradients tracked: a pass with tracking off
    # was an extra one (a second pass under torch.no_grad() for the loss, say), not the state of those it trained on.
    if in_training and not in_eval:
        expect_no_extra_passes(model, returned)
    # Evidence first: the head the backward passes reached, else (when .grad was cleared) the loss returned.
    expect_training_mode(
        model, "train_epoch", in_training, in_eval, returned, PROBE_RECORD_CHANGED,
        eval_mode="the model was in evaluation mode during train_epoch's forward passes (it arrived in eval mode)",
        no_grad="gradient tracking was off during train_epoch's forward passes, so nothing can be learned",
        nothing="nothing train_epoch left shows forward passes in training mode: neither the loss it returned nor "
                "the gradients in .grad afterwards come from the batches' forward passes with gradient tracking on")


def state_words(state: tuple) -> str:
    """How a message names the state ``(training, grad_enabled)`` of a forward pass other than training's."""
    return {(True, False): "with gradient tracking off", (False, True): "in evaluation mode",
            (False, False): "in evaluation mode with gradient tracking off"}[state]


def expect_no_extra_passes(model, returned: list) -> None:
    """Fail if train_epoch, whose backward passes show training passes with gradients tracked, ran forward passes
    with gradient tracking off too (the probe's record names them: no backward pass can go through those) or
    returned the loss of passes in another state (the outcome).

    A pass in evaluation mode with gradients tracked may be one it trained on: ``expect_training_mode`` names it.
    """
    seen = getattr(model, "seen", None)
    valid = type(seen) is list and all(type(entry) is tuple and len(entry) == 2
                                       and all(type(flag) is bool for flag in entry) for entry in seen)
    if valid and (False, True) in seen:
        return
    others = [entry for entry in (seen if valid else []) if not entry[1]]
    from_other = bool(returned) and (True, True) not in returned
    if others:
        kinds = [state for state in STATES[1:] if state in others]
        extra = " and ".join(f"{others.count(state)} {state_words(state)}" for state in kinds)
        raise AssertionError(
            "besides the forward passes it trained on (training mode, gradients tracked), train_epoch ran "
            f"{len(others)} more forward pass{'es' if len(others) != 1 else ''} ({extra})"
            + (", and returned their loss" if from_other else "")
            + ": run the model once per batch and take the loss from that pass, the one you call backward() on")
    assert not from_other, (
        "train_epoch trained on forward passes with gradients tracked, but the loss it returned comes from forward "
        f"passes {state_words(returned[0])}: return the loss of the passes you call backward() on")


@pytest.mark.check(
    id="train_epoch_learns",
    name="ten epochs of train_epoch classify well-separated blobs, on the grading device",
    points=2,
    hint=["Nothing in `train_epoch` should depend on the lesson's data: use the model, loader, loss and "
          "optimizer you are given.",
          "Move each batch to the model's device (`next(model.parameters()).device`) and go through every "
          "batch of the loader, every epoch."],
)
def test_train_epoch_learns(learner, seed, device):
    n_classes = 3 + seed % 2
    model, loader, X_new, y_new = learning_problem(seed, n_classes, device)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    steps = count_steps(optimizer)
    for _ in range(10):
        learner.train_epoch(model, loader, nn.CrossEntropyLoss(), optimizer)
    accuracy = accuracy_of(model, X_new, y_new)
    assert accuracy >= 0.95, (
        f"after 10 epochs with Adam (lr=0.01) the model classified {fmt(100 * accuracy)} % of new points "
        f"correctly ({n_classes} well-separated classes); a correct train_epoch reaches at least 95 %"
        f"{steps_note(steps[0], 10 * len(loader), f'10 epochs of {len(loader)} batches')}")


# -- classification_metrics --------------------------------------------------------


@pytest.mark.check(
    id="metrics_accuracy",
    name="classification_metrics gives the accuracy of argmax(logits), as a fraction",
    points=1,
    hint=["The predicted class of a row is the index of its largest logit; accuracy is the fraction of rows "
          "predicted right, between 0 and 1.",
          "`(logits.argmax(dim=1) == targets).float().mean().item()`; return the three numbers as Python floats."],
)
def test_metrics_accuracy(learner, seed):
    logits, targets, expected = accuracy_problem(seed)
    result = learner_metrics(learner, logits, targets)
    assert not (abs(result["accuracy"] - 100 * expected) < 1e-3 and expected > 0), (
        f"the accuracy was {fmt(result['accuracy'])}, a percentage; return a fraction "
        f"between 0 and 1 ({fmt(expected)})")
    expect_close(result["accuracy"], expected, "the accuracy",
                 advice="the fraction of rows whose largest logit is at the true class")


@pytest.mark.check(
    id="metrics_macro",
    name="classification_metrics macro-averages precision and recall over the classes",
    points=2,
    hint=["Macro averaging works out precision and recall for each class on its own, then takes their plain "
          "mean, so a small class counts as much as a big one.",
          "For each class c: precision = (predicted c and truly c) / (predicted c); recall = (predicted c and "
          "truly c) / (truly c). Average each over the classes; do not pool the counts of all classes first "
          "(that micro average is just the accuracy)."],
)
def test_metrics_macro(learner, seed):
    logits, targets, macro, accuracy, weighted_precision = macro_problem(seed)
    result = learner_metrics(learner, logits, targets)
    for key in ("precision", "recall"):
        value = result[key]
        mistake = matching_value(value, macro_mistakes(key, macro, accuracy, weighted_precision)) \
            if abs(value - macro[key]) > 1e-5 else None
        assert not mistake, f"the {key} was {fmt(value)}, {mistake}"
        expect_close(value, macro[key], f"the macro {key}", advice="the plain mean of the per-class values")


@pytest.mark.check(
    id="metrics_classes",
    name="classification_metrics averages over the classes in targets or predictions, 0/0 counting as 0",
    points=1,
    hint=["A class that is predicted but never true still has a precision (0), and one that is true but never "
          "predicted still has a recall (0); a class that appears nowhere is left out.",
          "Average over the classes that occur in `targets` or in `argmax(logits)` (not over every column of the "
          "logits), and count a 0/0 as 0 rather than nan."],
)
def test_metrics_classes(learner, seed):
    # Classes predicted but never true, true but never predicted, and one that appears nowhere.
    logits, targets, expected, mistaken = classes_problem(seed)
    result = learner_metrics(learner, logits, targets)
    for key in ("precision", "recall"):
        value = result[key]
        mistake = matching_value(value, mistaken[key]) if abs(value - expected[key]) > 1e-5 else None
        assert not mistake, f"the {key} was {fmt(value)}, {mistake}: expected {fmt(expected[key])}"
        expect_close(value, expected[key], f"the macro {key}",
                     advice="average over the classes in targets or predictions, a 0/0 counting as 0")
