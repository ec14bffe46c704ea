"""Hidden suite for exercise 01 (data preparation).

Every check observes what the learner's functions return, never how they are
written: ``unsqueeze(1)``, ``reshape(-1, 1)`` and ``[:, None]`` all make a
column; data made through NumPy and converted to float32 is compared with a
tolerance (NumPy's ``arange`` may differ from torch's in the last bit); a split
may slice, call ``torch.split`` or index with tensors, and may draw its random
order however it likes, as long as the same seed gives the same order (seed 0
too) and no seed a fresh order every call. Plots may be scatters or marker-only
lines, made with ``plt.subplots`` or ``plt.figure``. Data comes from each
check's ``seed``, so answers hard-coded for the lesson's data do not pass.
"""

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from grader.checking import (as_points, call_text, describe_labels, exception_from, expect_equal_tensors, expect_tensor,
                             figure_from, fmt, fmt_list, in_learner_process, kind_of, legend_texts, points_labelled,
                             same_points)

TRAIN_LABEL, TEST_LABEL, PREDICTIONS_LABEL = "Training data", "Testing data", "Predictions"


def draw(generator: torch.Generator, low: float, high: float, decimals: int = 2) -> float:
    """A random number in [low, high), rounded so that messages stay readable."""
    return round(low + (high - low) * torch.rand(1, generator=generator).item(), decimals)


def unique_data(seed: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``X`` and ``y`` of shape [n, 1] with distinct, exactly representable values, unrelated to each other.

    Distinct values let a check recognise every row wherever it ends up, and tell
    whether it still sits next to its own target.
    """
    generator = torch.Generator().manual_seed(seed)
    X = torch.randperm(10 * n, generator=generator)[:n].float().unsqueeze(1) / 8 - 3
    y = torch.randperm(10 * n, generator=generator)[:n].float().unsqueeze(1) / 4 - 5
    return X, y


# -- make_linear_data ------------------------------------------------------------


def linear_arguments(seed: int) -> dict:
    """Arguments for make_linear_data the learner cannot predict, with an unambiguous number of rows.

    ``end`` lies half a step past the last value, so every correct way of making the
    range (torch or NumPy, float32 or float64) gives the same number of rows.
    """
    generator = torch.Generator().manual_seed(seed)
    weight = bias = 0.0
    while abs(weight) < 0.2 or abs(weight - bias) < 0.2:
        weight, bias = draw(generator, -2, 2), draw(generator, -1, 1)
    start = draw(generator, -2, 1)
    step = [0.05, 0.1, 0.125, 0.2, 0.25, 0.5][int(torch.randint(6, (1,), generator=generator))]
    rows = int(torch.randint(5, 41, (1,), generator=generator))
    end = round(start + (rows - 0.5) * step, 4)
    return {"weight": weight, "bias": bias, "start": start, "end": end, "step": step}


def call_make(learner, arguments: dict) -> tuple[str, torch.Tensor, torch.Tensor]:
    """Call make_linear_data; return how the call reads and the two tensors, checked to be tensors."""
    call = call_text("make_linear_data", **arguments)
    result = learner.make_linear_data(**arguments)
    assert isinstance(result, (tuple, list)) and len(result) == 2, (
        f"{call} returned {kind_of(result)}; return the pair (X, y)")
    X, y = result
    expect_tensor(X, f"the X returned by {call}")
    expect_tensor(y, f"the y returned by {call}")
    return call, X, y


def reference_data(arguments: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """The data the contract asks for, computed in float64."""
    full = {"weight": 0.7, "bias": 0.3, "start": 0.0, "end": 1.0, "step": 0.02, **arguments}
    X = torch.arange(full["start"], full["end"], full["step"], dtype=torch.float64)
    return X, full["weight"] * X + full["bias"]


@pytest.mark.check(
    id="data_shape",
    name="make_linear_data returns X and y as float32 columns of shape [N, 1]",
    points=1,
    hint=["A model with one input feature expects one row per sample and one column: shape [N, 1], not [N].",
          "`torch.arange(...)` gives shape [N]; `.unsqueeze(1)` (or `.unsqueeze(dim=1)`) turns it into [N, 1]. "
          "Data made with NumPy is float64: convert it with `.float()` or `dtype=torch.float32`."],
)
def test_data_shape(learner, seed):
    for arguments in ({}, linear_arguments(seed)):
        call, X, y = call_make(learner, arguments)
        for name, tensor in (("X", X), ("y", y)):
            assert tensor.dim() == 2 and tensor.shape[1] == 1, (
                f"the {name} returned by {call} has shape {list(tensor.shape)}, expected "
                f"[N, 1]: a column with one row per sample")
            assert tensor.dtype == torch.float32, (
                f"the {name} returned by {call} has dtype {tensor.dtype}, expected torch.float32")
        assert y.shape == X.shape, f"{call} returned X of shape {list(X.shape)} but y of shape {list(y.shape)}"


@pytest.mark.check(
    id="data_values",
    name="make_linear_data makes X with arange(start, end, step) and y = weight * X + bias",
    points=2,
    hint=["Use every argument: the grader calls make_linear_data with other lines and other ranges than the lesson's.",
          "X comes from `torch.arange(start, end, step)` and y from `weight * X + bias`, with the arguments, "
          "not the numbers 0.7 and 0.3."],
)
def test_data_values(learner, seed):
    generator = torch.Generator().manual_seed(seed)
    for arguments in ({}, linear_arguments(seed), linear_arguments(int(torch.randint(2**31, (1,), generator=generator)))):
        call, X, y = call_make(learner, arguments)
        want_X, want_y = reference_data(arguments)
        for name, observed in (("X", X), ("y", y)):
            assert observed.numel() == want_X.numel(), (
                f"{call} returned {observed.numel()} values of {name}, expected {want_X.numel()}: "
                f"torch.arange(start, end, step) makes {want_X.numel()}")
        expect_equal_tensors(X.reshape(-1), want_X, f"the X returned by {call}")
        try:
            expect_equal_tensors(y.reshape(-1), want_y, f"the y returned by {call}")
        except AssertionError as failure:
            raise AssertionError(f"{failure}; y should be weight * X + bias") from None


@pytest.mark.check(
    id="data_end_exclusive",
    name="make_linear_data stops before end, as torch.arange does",
    points=1,
    hint=["`torch.arange(0, 1, 0.25)` is 0, 0.25, 0.5, 0.75: the end itself is not included.",
          "Pass `end` to `torch.arange` as it is: no `end + step`, and `torch.linspace` includes its end."],
)
def test_data_end_exclusive(learner):
    for start, end, step in ((0.0, 1.0, 0.25), (-1.0, 2.0, 0.5), (2.0, 5.0, 1.0), (0.0, 1.0, 0.02)):
        arguments = {"start": start, "end": end, "step": step}
        call, X, _ = call_make(learner, arguments)
        want, _ = reference_data(arguments)
        values = X.detach().reshape(-1).double().cpu()
        assert not (values.numel() and bool((values >= end - 1e-6).any())), (
            f"{call} gave X = {fmt_list(values.tolist())}, which includes the end value "
            f"{fmt(end)}; torch.arange stops before end ({want.numel()} values, the last {fmt(want[-1])})")
        assert values.numel() == want.numel(), (
            f"{call} gave {values.numel()} values of X, expected {want.numel()}: {fmt_list(want.tolist())}")


# -- train_val_test_split ----------------------------------------------------------


def shown_split(arguments: dict) -> str:
    """``train_val_test_split(X, y, shuffle=True, seed=3)``: a call as a learner would write it."""
    return call_text("train_val_test_split", "X", "y", **arguments)


def call_split(learner, X, y, **arguments) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Call the split; return its three (X, y) parts after checking they are tensors, in pairs, of matching lengths."""
    result = learner.train_val_test_split(X, y, **arguments)
    call = shown_split(arguments)
    expected = "((X_train, y_train), (X_val, y_val), (X_test, y_test))"
    assert isinstance(result, (tuple, list)) and len(result) == 3, (
        f"{call} returned {kind_of(result)}; return three pairs {expected}")
    parts = []
    for part_name, part in zip(("train", "val", "test"), result):
        assert isinstance(part, (tuple, list)) and len(part) == 2, (
            f"the {part_name} part returned by {call} is {kind_of(part)}; "
            f"expected a pair (X_{part_name}, y_{part_name}), as in {expected}")
        X_part, y_part = part
        expect_tensor(X_part, f"X_{part_name} returned by {call}")
        expect_tensor(y_part, f"y_{part_name} returned by {call}")
        assert len(X_part) == len(y_part), (
            f"{call} returned X_{part_name} with {len(X_part)} rows but y_{part_name} with "
            f"{len(y_part)}: each part needs the targets of its inputs")
        assert X_part.shape[1:] == X.shape[1:] and y_part.shape[1:] == y.shape[1:], (
            f"{call} returned X_{part_name} of shape {list(X_part.shape)} and y_{part_name} of "
            f"shape {list(y_part.shape)}; the parts should keep the columns of X and y "
            f"({list(X.shape)} and {list(y.shape)} here), and only take some of the rows")
        parts.append((X_part, y_part))
    return parts


def in_order(parts, which: int) -> torch.Tensor:
    """The X (which=0) or y (which=1) rows of the three parts, one after the other, on the CPU."""
    return torch.cat([part[which].detach().cpu() for part in parts])


def size_cases(seed: int) -> list[tuple[int, float, float]]:
    """Row counts and fractions: fixed ones chosen where other roundings differ, and a random one."""
    generator = torch.Generator().manual_seed(seed)
    while True:
        n = int(torch.randint(10, 121, (1,), generator=generator))
        train_frac = draw(generator, 0.3, 0.8)
        val_frac = draw(generator, 0.05, min(0.3, 0.9 - train_frac))
        if int(val_frac * n) >= 1 and n - int(train_frac * n) - int(val_frac * n) >= 1:
            break
    # 50: the lesson's 35/7/8; 7 and 33: round() and cut points at int(0.85 * N) give other sizes.
    return [(50, 0.7, 0.15), (7, 0.7, 0.15), (33, 0.6, 0.25), (20, 0.8, 0.1), (10, 0.5, 0.3), (n, train_frac, val_frac)]


@pytest.mark.check(
    id="split_sizes",
    name="the split has int(train_frac * N) training rows, int(val_frac * N) validation rows, and the rest for testing",
    points=2,
    hint=["With 50 rows and the default fractions the parts have 35, 7 and 8 rows.",
          "`n_train = int(train_frac * N)` and `n_val = int(val_frac * N)` (int rounds down), with N the number "
          "of rows, `len(X)`; the test part gets whatever is left, not a size of its own."],
)
def test_split_sizes(learner, seed):
    for index, (n, train_frac, val_frac) in enumerate(size_cases(seed)):  # each with data of its own
        X, y = unique_data(seed + index, n)
        if index == 0:
            arguments = {}  # the defaults: 0.7 and 0.15
        elif index == 1:
            arguments = {"train_frac": train_frac, "val_frac": val_frac, "shuffle": True, "seed": seed % 1000}
        else:
            arguments = {"train_frac": train_frac, "val_frac": val_frac}
        parts = call_split(learner, X, y, **arguments)
        sizes = [len(part[0]) for part in parts]
        n_train, n_val = int(train_frac * n), int(val_frac * n)
        want = [n_train, n_val, n - n_train - n_val]
        assert sizes == want, (
            f"with N={n} rows, {shown_split(arguments)} gave parts of {sizes[0]}, {sizes[1]} and {sizes[2]} rows; "
            f"expected {want[0]} = int({fmt(train_frac)} * {n}), {want[1]} = int({fmt(val_frac)} * {n}) "
            f"and the remaining {want[2]}")
    # N counts rows (samples), not numbers: X with three features per row holds 3N numbers.
    n, features = 40, 3
    X, y = unique_data(seed, n)
    wide = torch.cat([X + 100 * column for column in range(features)], dim=1)
    arguments = {"train_frac": 0.6, "val_frac": 0.2}
    try:
        parts = call_split(learner, wide, y, **arguments)
    except ValueError:
        return  # refusing X with several features is split_sequential's to tell
    sizes = [len(part[0]) for part in parts]
    want = [int(0.6 * n), int(0.2 * n), n - int(0.6 * n) - int(0.2 * n)]
    assert sizes == want, (
        f"with X of shape [{n}, {features}] (N={n} rows of {features} features) and y of shape [{n}, 1], "
        f"{shown_split(arguments)} gave parts of {sizes[0]}, {sizes[1]} and {sizes[2]} rows; expected "
        f"{want[0]}, {want[1]} and {want[2]}"
        + (": N is the number of rows, len(X) or X.shape[0], not the number of values X.numel()"
           if sizes[0] == min(n, int(0.6 * n * features)) else ""))


@pytest.mark.check(
    id="split_sequential",
    name="without shuffle the rows stay in order: first train, then validation, then test",
    points=1,
    hint=["Without shuffling, the training part is the first rows, the validation part the next ones, the test part the last.",
          "Slice `X[:n_train]`, `X[n_train:n_train + n_val]`, `X[n_train + n_val:]` (and the same for y), "
          "return them in the order train, validation, test, and shuffle only when `shuffle` is True "
          "(a seed alone does not ask for shuffling)."],
)
def test_split_sequential(learner, seed):
    X, y = unique_data(seed, 40)
    for arguments in ({}, {"shuffle": False, "seed": seed % 1000}, {"train_frac": 0.5, "val_frac": 0.25}):
        parts = call_split(learner, X.clone(), y.clone(), **arguments)
        expect_in_order(parts, arguments, X, y)
    # X may hold several features per row while y holds one target: only the numbers of rows must agree.
    wide = torch.cat([X, 2 * X + 1, -X], dim=1)
    arguments = {"train_frac": 0.6, "val_frac": 0.2}
    try:
        parts = call_split(learner, wide.clone(), y.clone(), **arguments)
    except ValueError as error:
        raise AssertionError(
            f"with X of shape {list(wide.shape)} and y of shape {list(y.shape)}, {shown_split(arguments)} raised "
            f"ValueError ({str(error)[:100]}): X may have several columns (features) and y one; raise only "
            "when X and y have different numbers of rows (compare len(X) with len(y), not their shapes)") from None
    expect_in_order(parts, arguments, wide, y)


def expect_in_order(parts, arguments: dict, X: torch.Tensor, y: torch.Tensor) -> None:
    """Fail unless the three parts, read one after the other, are the rows of X and of y in their order."""
    def shown(row: torch.Tensor) -> str:
        return fmt(row[0]) if len(row) == 1 else fmt_list(row.tolist())

    for name, which, original in (("X", 0, X), ("y", 1, y)):
        joined = in_order(parts, which)
        assert len(joined) == len(original), (
            f"the three parts of {shown_split(arguments)} hold {len(joined)} rows of {name} "
            f"together; the data had {len(original)}")
        if not torch.equal(joined, original):
            first = int((joined != original).any(dim=1).nonzero()[0])
            raise AssertionError(
                f"{shown_split(arguments)} did not keep the rows in order: reading train, validation and test "
                f"one after the other, row {first} of {name} is {shown(joined[first])}, but row {first} of the "
                f"data is {shown(original[first])}")


@pytest.mark.check(
    id="split_shuffled",
    name="with shuffle=True the rows are shuffled before the split, with or without a seed (without one, "
         "in a fresh order every call)",
    points=1,
    hint=["When `shuffle` is True, put the rows in a random order before slicing.",
          "`torch.randperm(N, generator=generator)` is a random order of the row numbers; index X and y with it. "
          "With `seed=None` there is no seed to repeat: give the generator a fresh one with `generator.seed()` "
          "(a new `torch.Generator()` always starts from the same built-in seed)."],
)
def test_split_shuffled(learner, seed):
    X, y = unique_data(seed, 40)
    for arguments in ({"shuffle": True, "seed": seed % 1000}, {"shuffle": True, "seed": None}):
        parts = call_split(learner, X.clone(), y.clone(), **arguments)  # copies: the data here stays as it is
        first_train = parts[0][0].detach().cpu()
        assert not torch.equal(first_train, X[:len(first_train)]), (
            f"with {shown_split(arguments)} the training part is the first {len(first_train)} rows of the data, "
            "in their original order: nothing was shuffled")
    # Without a seed every call draws a fresh order: two fresh orders of 40 distinct rows agree once in 40! (~1e-48).
    arguments = {"shuffle": True, "seed": None}
    first, again = (in_order(call_split(learner, X.clone(), y.clone(), **arguments), 0) for _ in range(2))
    assert not torch.equal(first, again), (
        f"two calls with {shown_split(arguments)} put the rows in exactly the same order: without a seed every call "
        "must draw a fresh random order (a new torch.Generator() always starts from the same built-in seed: "
        "give it a fresh one with generator.seed())")


@pytest.mark.check(
    id="split_keeps_pairs",
    name="the parts are disjoint, hold every row, and keep each x with its y",
    points=2,
    hint=["Shuffle X and y with one and the same order of rows, and give each row to exactly one part.",
          "Draw one permutation (`order = torch.randperm(N, generator=generator)`) and use it for both: "
          "`X[order]`, `y[order]`; then slice the reordered rows into consecutive parts. Index a copy: "
          "never shuffle the caller's tensors in place."],
)
def test_split_keeps_pairs(learner, seed):
    generator = torch.Generator().manual_seed(seed)
    n = int(torch.randint(30, 80, (1,), generator=generator))
    X, y = unique_data(seed, n)
    X_before, y_before = X.clone(), y.clone()
    target_of = dict(zip(X[:, 0].tolist(), y[:, 0].tolist()))
    for arguments in ({"shuffle": True, "seed": seed % 1000},
                      {"train_frac": 0.6, "val_frac": 0.2, "shuffle": True, "seed": None}, {}):
        parts = call_split(learner, X, y, **arguments)
        shown = shown_split(arguments)
        assert torch.equal(X, X_before) and torch.equal(y, y_before), (
            f"{shown} changed the X or y that was passed in: reorder a copy "
            "(indexing with a permutation makes one), never the caller's data")
        part_of: dict[float, str] = {}
        for part_name, (X_part, y_part) in zip(("train", "val", "test"), parts):
            for x_value, y_value in zip(X_part.detach().cpu()[:, 0].tolist(), y_part.detach().cpu()[:, 0].tolist()):
                assert x_value in target_of, (
                    f"X_{part_name} from {shown} holds {fmt(x_value)}, which is not a row of the X that was passed in")
                assert x_value not in part_of, (
                    f"with {shown} the row x = {fmt(x_value)} is in X_{part_of[x_value]} and "
                    f"again in X_{part_name}: the parts must not overlap")
                part_of[x_value] = part_name
                assert y_value == target_of[x_value], (
                    f"with {shown} X_{part_name} has x = {fmt(x_value)} next to y = {fmt(y_value)}, but in the data "
                    f"x = {fmt(x_value)} goes with y = {fmt(target_of[x_value])}: X and y were not reordered "
                    "the same way")
        assert len(part_of) == n, (
            f"the three parts of {shown} hold {len(part_of)} of the {n} rows: every row must land in exactly one part")


@pytest.mark.check(
    id="split_seeded",
    name="the same seed gives the same split, a different seed a different one",
    points=2,
    hint=["The order of the rows must come from `seed`, not from whatever state torch's global generator is in.",
          "Make a generator for this call, `generator = torch.Generator().manual_seed(seed)`, and draw the "
          "order from it: `torch.randperm(N, generator=generator)`. Test `seed is None`, not `if seed:` "
          "(0 is a seed too)."],
)
def test_split_seeded(learner, seed):
    X, y = unique_data(seed, 40)
    split_seed = seed % 100_000
    splits = {}
    # The check's own seed, then 0: a seed too, though `if seed:` takes it for none.
    for round_number, same_seed in enumerate(dict.fromkeys((split_seed, 0))):
        first = call_split(learner, X.clone(), y.clone(), shuffle=True, seed=same_seed)
        # Move torch's global generator on, to a new state each round: a seeded split must not depend on it.
        torch.manual_seed(seed + 1 + round_number)
        torch.rand(17)
        again = call_split(learner, X.clone(), y.clone(), shuffle=True, seed=same_seed)
        for which, name in ((0, "X"), (1, "y")):
            assert torch.equal(in_order(first, which), in_order(again, which)), (
                f"two calls with shuffle=True, seed={same_seed} split the rows of {name} "
                "differently: the same seed must give the same split"
                + (" (0 is a seed like any other: test `seed is None`, not whether seed is true)"
                   if same_seed == 0 else ""))
        splits[same_seed] = first
    for other_seed in (split_seed + 1, split_seed + 7):
        other = call_split(learner, X.clone(), y.clone(), shuffle=True, seed=other_seed)
        assert not torch.equal(in_order(splits[split_seed], 0), in_order(other, 0)), (
            f"seed={split_seed} and seed={other_seed} gave exactly the same split: the order must come from the seed")


@pytest.mark.check(
    id="split_rejects_bad_fractions",
    name="train_val_test_split raises ValueError for fractions outside (0, 1) or adding up to 1 or more, "
         "and for X and y of different lengths",
    points=1,
    hint=["Check the arguments at the start of the function, before splitting anything: the two fractions, "
          "and that X and y have as many rows as each other.",
          "`if not 0 < train_frac < 1: raise ValueError(...)`, the same for `val_frac`, "
          "`if train_frac + val_frac >= 1: raise ValueError(...)` (exactly 1 leaves nothing to test on), and "
          "`if len(X) != len(y): raise ValueError(...)`."],
)
def test_split_rejects_bad_fractions(learner, seed):
    X, y = unique_data(seed, 20)
    cases = [(0.0, 0.1), (1.0, 0.1), (-0.3, 0.1), (1.5, 0.1),  # train_frac outside (0, 1)
             (0.5, 0.0), (0.5, 1.0), (0.5, -0.1), (0.2, 1.2),  # val_frac outside (0, 1)
             (0.5, 0.5), (0.75, 0.25), (0.8, 0.4)]  # together 1 or more: no rows left to test on
    for train_frac, val_frac in cases:
        call = shown_split({"train_frac": train_frac, "val_frac": val_frac})
        raised = exception_from(learner.train_val_test_split, X, y, train_frac=train_frac, val_frac=val_frac)
        assert raised is not None, f"{call} returned instead of raising ValueError"
        assert isinstance(raised, ValueError), f"{call} raised {type(raised).__name__}, expected ValueError"
    for rows in (len(X) - 1, len(X) + 3):  # y with fewer rows than X, then with more
        _, other_y = unique_data(seed + rows, rows)
        for arguments in ({}, {"shuffle": True, "seed": seed % 1000}):
            call = f"with X of {len(X)} rows and y of {rows} rows, {shown_split(arguments)}"
            raised = exception_from(learner.train_val_test_split, X, other_y, **arguments)
            assert raised is not None, (
                f"{call} returned instead of raising ValueError: check that X and y have the same number "
                "of rows before splitting (every input needs its target)")
            assert isinstance(raised, ValueError), (
                f"{call} raised {type(raised).__name__}, expected ValueError: check that X and y have the same "
                "number of rows before splitting, and raise ValueError when they do not")


# -- plot_predictions --------------------------------------------------------------


def plot_data(seed: int, device=None, with_history: bool = False):
    """Training data, test data and predictions from the seed (optionally on ``device``, with autograd history)."""
    generator = torch.Generator().manual_seed(seed)
    X_train, y_train = unique_data(seed, 30)
    X_test, y_test = unique_data(seed + 1, 10)
    weight, bias = torch.rand(2, generator=generator) * 2 - 1
    if with_history:
        X_train, y_train, X_test, y_test = (t.to(device) for t in (X_train, y_train, X_test, y_test))
        X_train.requires_grad_()  # a leaf that requires grad
        weight = weight.to(device).requires_grad_()
        predictions = weight * X_test + bias.to(device)  # carries autograd history, as a model's output does
    else:
        predictions = weight * X_test + bias
    return (X_train, y_train), (X_test, y_test), predictions


def two_plots(plot_predictions, first: tuple, second: tuple):
    """Run in the learner process: two calls in a row; whether they returned the same Figure, and the first one as it
    is after the second call."""
    figure = plot_predictions(*first)
    return figure is plot_predictions(*second), figure


def only_axes(figure: Figure):
    axes = figure.get_axes()
    assert len(axes) == 1, f"the Figure has {len(axes)} Axes, expected one that shows everything together"
    return axes[0]


def expect_points(axes, label: str, want: str, known: dict[str, np.ndarray]) -> None:
    """Fail unless the points labelled ``label`` are ``known[want]``; say what they are instead when we can tell."""
    drawn, expected = points_labelled(axes, label), known[want]
    if same_points(drawn, expected):
        return
    for other, points in known.items():
        assert not (other != want and same_points(drawn, points)), (
            f"the points labelled {label!r} are {other}; expected {want}")
    assert len(drawn) == len(expected), (
        f"{len(drawn)} points are labelled {label!r}; expected the {len(expected)} points of {want}")
    raise AssertionError(f"the points labelled {label!r} are not {want}: draw each input against its own target")


def expect_legend(figure: Figure, axes, labels: list[str]) -> None:
    texts = legend_texts(figure, axes)
    assert texts is not None, "the plot has no legend: call legend() after drawing the labelled points"
    missing = [label for label in labels if label not in texts]
    assert not missing, (f"the legend does not show {', '.join(map(repr, missing))} "
                         f"({describe_labels(texts, ('legend entry', 'legend entries'))})")


def known_points(train, test, predictions) -> dict[str, np.ndarray]:
    """Every set of points a learner might draw, by name, to tell them apart in messages."""
    return {
        "the training data (X_train, y_train)": as_points(*train),
        "the test data (X_test, y_test)": as_points(*test),
        "the predictions at the test inputs (X_test, predictions)": as_points(test[0], predictions),
        "the predictions against the test targets (y_test, predictions)": as_points(test[1], predictions),
    }


@pytest.mark.check(
    id="plot_figure",
    name="plot_predictions returns a Figure with one Axes, without showing it",
    points=1,
    hint=["`figure, axes = plt.subplots()` gives a Figure with one Axes; return the figure.",
          "Draw everything on that one Axes, and leave `plt.show()` out of the function: the caller shows or saves it."],
)
def test_plot_figure(learner, seed, monkeypatch):
    train, test, _ = plot_data(seed)
    only_axes(figure_from(learner, "plot_predictions", train, test, monkeypatch=monkeypatch))


@pytest.mark.check(
    id="plot_data",
    name="plot_predictions draws the training and test data where they are, labelled, with a legend",
    points=2,
    hint=["Draw the training inputs against the training targets, and the test inputs against the test targets, "
          "each with its `label=`, then add a legend.",
          "`axes.scatter(X_train, y_train, label=\"Training data\")`, the same for the test data with "
          "\"Testing data\", then `axes.legend()`; draw predictions only when they are not None.",
          "Start every call with a Figure of its own, `figure, axes = plt.subplots()`: never clear or reuse the "
          "current one (`plt.clf()`, `plt.gcf()`), which belongs to the caller."],
)
def test_plot_data(learner, seed, monkeypatch):
    train, test, predictions = plot_data(seed)
    earlier_train, earlier_test, _ = plot_data(seed + 7)
    # An earlier plot must not leak into the next one.
    figure_from(learner, "plot_predictions", earlier_train, earlier_test, monkeypatch=monkeypatch)
    figure = figure_from(learner, "plot_predictions", train, test, monkeypatch=monkeypatch)
    axes = only_axes(figure)
    drawn = [artist for artist in [*axes.collections, *axes.get_lines()] if artist.get_label() == TRAIN_LABEL]
    assert not (len(drawn) > 1 and same_points(points_labelled(axes, TRAIN_LABEL),
                                               np.concatenate([as_points(*earlier_train), as_points(*train)]))), (
        f"after two calls the Figure has {len(drawn)} sets of points labelled {TRAIN_LABEL!r}, the first call's "
        "data too: make a new Figure in each call (plt.subplots()) instead of drawing on the current one")
    known = known_points(train, test, predictions)
    expect_points(axes, TRAIN_LABEL, "the training data (X_train, y_train)", known)
    expect_points(axes, TEST_LABEL, "the test data (X_test, y_test)", known)
    expect_legend(figure, axes, [TRAIN_LABEL, TEST_LABEL])
    # The Figure one call returns stays as it was when the function is called again (a caller may keep it, or be
    # drawing a figure of their own): each call makes its own.
    same, earlier = in_learner_process(learner, two_plots, learner.plot_predictions, (earlier_train, earlier_test),
                                       (train, test))
    assert not same, (
        "two calls of plot_predictions returned the same Figure, wiped and drawn again, so the first call's plot "
        "(or whatever the caller was drawing on it) is gone: make a new Figure in each call with plt.subplots() "
        "instead of reusing the current one (plt.clf(), plt.gcf(), plt.figure(1))")
    earlier_axes = earlier.get_axes()
    assert len(earlier_axes) == 1 and same_points(points_labelled(earlier_axes[0], TRAIN_LABEL),
                                                  as_points(*earlier_train)), (
        "after a second call of plot_predictions, the Figure the first call returned no longer shows the first "
        "call's data: make a new Figure in each call (plt.subplots()) and draw only on it")
    labels = {artist.get_label() for artist in [*axes.collections, *axes.get_lines()]}
    texts = set(legend_texts(figure, axes) or [])
    assert PREDICTIONS_LABEL not in labels | texts, (
        "called without predictions, the plot still shows something labelled 'Predictions': "
        "draw predictions only when they are given")


@pytest.mark.check(
    id="plot_with_predictions",
    name="plot_predictions draws given predictions at the test inputs",
    points=1,
    hint=["Predictions belong to the test inputs: draw them against X_test, labelled \"Predictions\".",
          "Test `if predictions is not None:` (a tensor of many values has no single truth value), then "
          "`axes.scatter(X_test, predictions, label=\"Predictions\")`."],
)
def test_plot_with_predictions(learner, seed, monkeypatch):
    train, test, predictions = plot_data(seed)
    figure = figure_from(learner, "plot_predictions", train, test, predictions, monkeypatch=monkeypatch)
    axes = only_axes(figure)
    known = known_points(train, test, predictions)
    expect_points(axes, PREDICTIONS_LABEL, "the predictions at the test inputs (X_test, predictions)", known)
    expect_legend(figure, axes, [TRAIN_LABEL, TEST_LABEL, PREDICTIONS_LABEL])


@pytest.mark.check(
    id="plot_any_tensor",
    name="plot_predictions accepts tensors with autograd history, on the grading device",
    points=1,
    hint=["Predictions straight from a model carry autograd history, and data may sit on a GPU: "
          "matplotlib can use neither as it is.",
          "Turn every tensor into plain CPU numbers first: `tensor.detach().cpu()` (then `.numpy()` if you like)."],
)
def test_plot_any_tensor(learner, seed, device, monkeypatch):
    train, test, predictions = plot_data(seed, device=device, with_history=True)
    figure = figure_from(learner, "plot_predictions", train, test, predictions, monkeypatch=monkeypatch)
    axes = only_axes(figure)
    known = known_points(train, test, predictions)
    expect_points(axes, TRAIN_LABEL, "the training data (X_train, y_train)", known)
    expect_points(axes, TEST_LABEL, "the test data (X_test, y_test)", known)
    expect_points(axes, PREDICTIONS_LABEL, "the predictions at the test inputs (X_test, predictions)", known)
