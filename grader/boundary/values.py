"""What crosses from the learner process to the judge, and how the judge reads it without running it.

The learner process turns what learner code gives back into plain data
(``Encoder``): numbers, strings, tensors, and the small record classes below.
It pickles that (``dump``); the judge reads it with ``load``, whose unpickler
builds only containers, tensors (``rebuild_tensor``) and the classes on
``ALLOWED``: never another function, never a module-wide allow-list.
Everything else a learner's code made (their model, dataset, loader, iterator)
stays in the learner process, and what crosses is a reference to it.
"""

from __future__ import annotations

import collections
import functools
import io
import pathlib
import pickle

import torch

MAX_ITEMS = 100_000  # values in one reply; past that, the rest stays behind a handle
MAX_DEPTH = 30


class TensorValue:
    """A tensor: its data detached, and what autograd knew about it."""

    def __init__(self, data, requires_grad: bool, has_history: bool, is_parameter: bool):
        self.data, self.requires_grad, self.has_history, self.is_parameter = data, requires_grad, has_history, is_parameter


class TensorState:
    """What a call left in a tensor the judge lent: its data, its ``.grad`` and ``requires_grad``."""

    def __init__(self, data, grad, requires_grad: bool, has_history: bool = False):
        self.data, self.grad, self.requires_grad, self.has_history = data, grad, requires_grad, has_history


class ObjectRef:
    """An object that stays in the learner process, by its number there, with what the judge may know of its type."""

    def __init__(self, number: int, type_name: str, bases: list):
        self.number, self.type_name, self.bases = number, type_name, bases


class ModuleSpec:
    """A learner's ``nn.Module``: its tree of submodules, parameters, buffers and modes (see ``judge.Mirror``)."""

    def __init__(self, number: int, nodes: list):
        self.number, self.nodes = number, nodes  # nodes: [NodeSpec], the root first


class NodeSpec:
    """One module in a learner model's tree, at ``path`` ("" for the root)."""

    def __init__(self, path: str, type_name: str, base: str, exact: bool, own_forward: bool, attributes: dict,
                 parameters: dict, buffers: dict, training: bool, replaced: list):
        self.path, self.type_name, self.base, self.exact, self.own_forward = path, type_name, base, exact, own_forward
        self.attributes, self.parameters, self.buffers, self.training = attributes, parameters, buffers, training
        self.replaced = replaced  # parameters that are new objects since the judge last saw them


class ParameterRef:
    """A parameter of a learner model the judge mirrors, by the model's number and the parameter's name."""

    def __init__(self, number: int, name: str):
        self.number, self.name = number, name


class LentRef:
    """One of the objects the judge lent to this call, given back (``return model``)."""

    def __init__(self, index: int):
        self.index = index


class NumpyValue:
    """A numpy array or scalar, as a tensor (or a list, for types torch has not) and its numpy dtype's name."""

    def __init__(self, data, dtype: str, scalar: bool):
        self.data, self.dtype, self.scalar = data, dtype, scalar


class PathValue:
    def __init__(self, text: str):
        self.text = text


class FigureSpec:
    """A matplotlib Figure as plain data: its Axes, what is drawn on them, its legends (see ``figures``)."""

    def __init__(self, axes: list, legends: list, shown: bool):
        self.axes, self.legends, self.shown = axes, legends, shown


class Raised:
    """An exception raised in the learner process, described for ``grader.learner.explain``."""

    def __init__(self, type_name: str, bases: list, builtin: str, message: str, frames: list, names: list,
                 innermost: bool, missing_name: str, syntax: tuple | None):
        self.type_name, self.bases, self.builtin, self.message = type_name, bases, builtin, message
        self.frames, self.names, self.innermost = frames, names, innermost  # learner frames: (line, function, text)
        self.missing_name, self.syntax = missing_name, syntax


ALLOWED = [TensorValue, TensorState, ObjectRef, ModuleSpec, NodeSpec, ParameterRef, LentRef, NumpyValue, PathValue,
           FigureSpec, Raised]


def dump(payload) -> bytes:
    """Plain data as bytes; tensors as their raw bytes (``rebuild_tensor``), for ``load`` on the other side."""
    buffer = io.BytesIO()
    TensorPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(payload)
    return buffer.getvalue()


def load(data: bytes):
    """Read a reply from the learner process: only containers, numbers, strings, bytes, tensors (from their
    bytes) and the classes on ALLOWED are built. Everything else a pickle can name is refused."""
    return SafeUnpickler(io.BytesIO(data)).load()


class TensorPickler(pickle.Pickler):
    """Pickles tensors as their bytes, shape, dtype and device: fast, and rebuilt by one function on the allow-list."""

    def reducer_override(self, obj):
        if type(obj) in (torch.Tensor, torch.nn.Parameter) and obj.layout == torch.strided:
            return tensor_parts(obj)
        return NotImplemented


def tensor_parts(tensor) -> tuple:
    if tensor.is_meta:  # a shape and a dtype, no data
        return rebuild_tensor, (str(tensor.dtype).removeprefix("torch."), tuple(tensor.shape), b"", "meta",
                                bool(tensor.requires_grad) and tensor.is_leaf, type(tensor) is torch.nn.Parameter)
    data = tensor.detach()
    if data.is_conj():
        data = data.resolve_conj()
    if data.is_neg():
        data = data.resolve_neg()
    data = data.cpu().contiguous()
    raw = data.reshape(-1).view(torch.uint8)
    return rebuild_tensor, (str(data.dtype).removeprefix("torch."), tuple(data.shape), raw.numpy().tobytes(),
                            str(tensor.device), bool(tensor.requires_grad) and tensor.is_leaf,
                            type(tensor) is torch.nn.Parameter)


def rebuild_tensor(dtype: str, shape: tuple, data: bytes, device: str, requires_grad: bool, parameter: bool):
    """A tensor from ``tensor_parts``; refuses a dtype or device it does not know, or bytes of the wrong size."""
    kind = getattr(torch, str(dtype), None)
    if not isinstance(kind, torch.dtype) or not all(type(size) is int and size >= 0 for size in shape):
        raise pickle.UnpicklingError(f"not a tensor: dtype {dtype!r}, shape {shape!r}")
    count = 1
    for size in shape:
        count *= size
    element = kind.itemsize
    if str(device) == "meta" and data == b"":
        return torch.empty(shape, dtype=kind, device="meta")
    if type(data) is not bytes or len(data) != count * element:
        raise pickle.UnpicklingError(f"not a tensor: {len(data)} bytes for shape {list(shape)} of {dtype}")
    # With gradients on, as a tensor the other side made would be: a view (reshape) made under no_grad, where the
    # last call left this process, would refuse an in-place add of a tensor that requires grad (`x += out`).
    with torch.enable_grad():
        tensor = torch.frombuffer(bytearray(data), dtype=kind).reshape(shape) if count else torch.empty(shape, dtype=kind)
    if str(device) != "cpu":
        tensor = tensor.to(torch.device(str(device)))  # torch.device refuses what is not a device name
    if parameter:
        return torch.nn.Parameter(tensor, requires_grad=requires_grad is True)
    return tensor.requires_grad_(requires_grad is True) if tensor.is_floating_point() or tensor.is_complex() else tensor


class SafeUnpickler(pickle.Unpickler):
    """Python's own unpickler, told which names it may look up: the restricted-globals pattern of the pickle
    documentation (and of ``torch.load(weights_only=True)``), with a short list of named classes and functions."""

    def find_class(self, module: str, name: str):
        if module == __name__ and name in SAFE_NAMES:
            return SAFE_NAMES[name]
        if (module, name) in LIBRARY_NAMES:
            return LIBRARY_NAMES[(module, name)]
        if module == "torch" and isinstance(getattr(torch, name, None), torch.dtype):
            return getattr(torch, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not on the list of what the judge reads")

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("no references in a reply")


SAFE_NAMES = {cls.__name__: cls for cls in ALLOWED} | {"rebuild_tensor": rebuild_tensor}
LIBRARY_NAMES = {("collections", "OrderedDict"): collections.OrderedDict, ("torch", "Size"): torch.Size,
                 ("torch", "device"): torch.device, ("builtins", "complex"): complex}


# -- tensors, on both sides ---------------------------------------------------------


def tensor_state(tensor) -> TensorState:
    grad = tensor.grad.detach().clone() if tensor.is_leaf and tensor.grad is not None else None
    return TensorState(tensor.detach().clone(), grad, bool(tensor.requires_grad), not tensor.is_leaf)


def put(tensor, data) -> None:
    """Make ``tensor`` hold ``data``, in place where shapes agree (optimizers keep pointing at it)."""
    with torch.no_grad():
        if tensor.shape == data.shape and tensor.dtype == data.dtype and tensor.device == data.device:
            tensor.copy_(data)
        else:
            tensor.data = data


def apply_tensor_state(tensor, state: TensorState) -> None:
    put(tensor, state.data)
    if not tensor.is_leaf:
        return
    tensor.requires_grad_(state.requires_grad)
    if state.has_history is True:
        # It picked up a history over there (v.mul_(0.9).add_(g) with g tracked): here it is a tensor that
        # requires grad, marked so that it goes back as one with a history, where in-place updates still work.
        tensor.__dict__[HISTORY] = True
    else:
        tensor.__dict__.pop(HISTORY, None)
        tensor.grad = state.grad


HISTORY = "_kit_history"


def learner_object(reference):
    """Stands, in a request, for an object that lives in the learner process (``reference`` names it there): the
    learner process's unpickler reads this name as its own lookup (``host.Unpickler``). Never called itself."""
    raise pickle.UnpicklingError("only the learner process has the objects that requests refer to")


def with_history(data):
    """A tensor holding ``data`` that has an autograd history (is not a leaf), as the one it stands for had."""
    return data.requires_grad_(True).clone()


# -- what crosses with every call, only where it changed -------------------------------


class Agreed:
    """What the other process holds, as of the last exchange, of the values that cross with every call:
    generator states and the tensors of mirrored models. Only what differs from it crosses again (a model's
    weights, sent after every call, were most of the bytes). Each side notes what it sends and what it takes on.
    Keys are tuples whose first item is the kind ("generators", "mirror"), so a kind can be forgotten at once."""

    def __init__(self):
        self.held: dict[tuple, object] = {}

    def changes(self, key: tuple, current: dict, freeze=lambda value: value) -> dict:
        """The entries of ``current`` that differ from what the other side holds, as ``freeze`` makes them to
        cross (a tensor's state, copied), noted as sent. Live tensors are compared before anything is copied."""
        changed = {}
        for name, value in current.items():
            held = self.held.get((*key, name), MISSING)
            if held is MISSING or not same(held, value):
                changed[name] = self.held[(*key, name)] = freeze(value)
        return changed

    def took(self, key: tuple, value) -> None:
        """Note what was taken on from the other side (copied: it may share memory with what it was put in)."""
        self.held[key] = copied(value)

    def forget(self, kind: str) -> None:
        self.forget_under((kind,))

    def forget_under(self, prefix: tuple) -> None:
        for key in [key for key in self.held if key[:len(prefix)] == prefix]:
            del self.held[key]


MISSING = object()


def same(held, live) -> bool:
    """Whether ``live`` would cross as ``held`` did: type, dtype, shape, device, values (NaN is never equal).

    ``held`` may be the TensorState a live tensor (a parameter) crossed as.
    """
    if isinstance(held, TensorState) and isinstance(live, torch.Tensor):
        return (same(held.data, live.detach()) and held.requires_grad == live.requires_grad
                and held.has_history == (not live.is_leaf)
                and same(held.grad, live.grad.detach() if live.is_leaf and live.grad is not None else None))
    if isinstance(held, torch.Tensor) and isinstance(live, torch.Tensor):
        return (held.dtype == live.dtype and held.shape == live.shape and held.device == live.device
                and not held.is_meta and not live.is_meta and torch.equal(held, live.detach()))
    if type(held) is not type(live):
        return False
    if isinstance(held, TensorState):
        return (same(held.data, live.data) and same(held.grad, live.grad) and held.requires_grad == live.requires_grad
                and held.has_history == live.has_history)
    if isinstance(held, (tuple, list)):
        return len(held) == len(live) and all(same(x, y) for x, y in zip(held, live))
    return held == live


def copied(value):
    """A copy that nothing done later to ``value``'s tensors changes."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, TensorState):
        return TensorState(copied(value.data), copied(value.grad), value.requires_grad, value.has_history)
    if isinstance(value, (tuple, list)):
        return type(value)(copied(item) for item in value)
    return value


# -- generator states, on both sides ------------------------------------------------
# As bytes rather than hundreds of numbers: cheap to compare with what crossed last, and to pickle. They are
# read before and after every call on both sides, so the slow readers (numpy's takes 70 µs) are skipped while
# a cheap look says nothing changed (``LAST_READ``).


def generator_states() -> dict:
    return {"torch": torch.get_rng_state().numpy().tobytes(),
            "cuda": ([state.numpy().tobytes() for state in torch.cuda.get_rng_state_all()]
                     if torch.cuda.is_initialized() else None),
            "numpy": numpy_state(),
            "random": random_state()}


LAST_READ: dict[str, tuple] = {}  # generator -> (what the cheap look saw, the state read then)


def numpy_state() -> tuple:
    """numpy's global state, read again only where its Mersenne Twister words (a microsecond to look at) moved,
    or a Gaussian was kept: drawing that one changes the state and not the words. (A ``set_state`` by hand to the
    very same words with a kept Gaussian would be missed: it can only disagree with itself.)"""
    import numpy

    words = mersenne_words()
    last = LAST_READ.get("numpy")
    if words is not None and last is not None and last[0] == words and last[1][3] == 0:
        return last[1]
    name, keys, position, has_gauss, gauss = numpy.random.get_state()
    state = (str(name), keys.tobytes(), int(position), int(has_gauss), float(gauss))
    LAST_READ["numpy"] = (words, state)
    return state


def mersenne_words() -> bytes | None:
    """The raw words and position of numpy's global Mersenne Twister (its C struct: 624 words, then an int)."""
    import ctypes

    address = mersenne_address()
    return ctypes.string_at(address, 624 * 4 + 4) if address else None


@functools.lru_cache(maxsize=1)
def mersenne_address() -> int:
    """Where numpy's global generator keeps its state (0 where it is not a Mersenne Twister)."""
    try:
        import numpy

        generator = numpy.random.mtrand._rand._bit_generator
        return generator.ctypes.state_address if type(generator).__name__ == "MT19937" else 0
    except (AttributeError, ImportError, TypeError):
        return 0


def random_state() -> tuple:
    """``random``'s state; turned into bytes only when it differs from the last one read."""
    import array
    import random

    version, internal, gauss_next = state = random.getstate()
    last = LAST_READ.get("random")
    if last is not None and last[0] == state:
        return last[1]
    frozen = (int(version), array.array("Q", internal).tobytes(), gauss_next)
    LAST_READ["random"] = (state, frozen)
    return frozen


def set_generator_states(states: dict) -> None:
    """Take on generator states (those given: the others did not change); whatever is malformed is left as it is."""
    import array
    import random

    import numpy

    def as_tensor(data: bytes):
        return torch.frombuffer(bytearray(data), dtype=torch.uint8)

    appliers = {
        "torch": lambda state: torch.set_rng_state(as_tensor(state)),
        "cuda": lambda state: state is not None and torch.cuda.set_rng_state_all([as_tensor(one) for one in state]),
        "numpy": lambda state: numpy.random.set_state((str(state[0]), numpy.frombuffer(state[1], dtype=numpy.uint32),
                                                        int(state[2]), int(state[3]), float(state[4]))),
        "random": lambda state: random.setstate((int(state[0]), tuple(array.array("Q", state[1])),
                                                 None if state[2] is None else float(state[2]))),
    }
    for name, state in states.items():
        LAST_READ.pop(name, None)
        try:
            appliers[name](state)
        except (KeyError, IndexError, TypeError, ValueError, RuntimeError, AttributeError, OverflowError):
            pass


# -- hooks, on both sides ---------------------------------------------------------

HOOK_KINDS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")


def hook_counts(owner, prefix: str = "") -> list[int]:
    """How many hooks of each kind ``owner`` holds (a module, or ``torch.nn.modules.module`` with ``_global``)."""
    return [len(getattr(owner, prefix + kind, None) or {}) for kind in HOOK_KINDS]


# -- the learner process's side -------------------------------------------------


def plain(value) -> bool:
    return value is None or type(value) in (bool, int, float, str, bytes, complex)


class Encoder:
    """Turns what learner code returned into plain data; ``keep`` stores what must stay in the learner process."""

    def __init__(self, keep, lent_index: dict, parameter_refs: dict, describe_module, describe_figure):
        self.keep = keep  # object -> its number in the learner process
        self.lent_index = lent_index  # id(object) -> its index among the objects the judge lent to this call
        self.parameter_refs = parameter_refs  # id(parameter) -> ParameterRef, for the models the judge mirrors
        self.describe_module = describe_module
        self.describe_figure = describe_figure
        self.count = 0

    def __call__(self, value, depth: int = 0):
        self.count += 1
        kind = type(value)
        if plain(value):
            return value
        if id(value) in self.lent_index:
            return LentRef(self.lent_index[id(value)])
        if id(value) in self.parameter_refs:
            return self.parameter_refs[id(value)]
        if depth > MAX_DEPTH or self.count > MAX_ITEMS:
            return self.reference(value)
        if kind in (list, tuple, set, frozenset):
            return kind(self(item, depth + 1) for item in value)
        if kind is dict:
            return {self(key, depth + 1): self(item, depth + 1) for key, item in value.items()}
        if kind in (torch.Tensor, torch.nn.Parameter):
            return TensorValue(value.detach().clone(), value.requires_grad, value.grad_fn is not None,
                               kind is torch.nn.Parameter)
        if kind in (torch.Size, torch.dtype, torch.device):
            return value
        if kind is collections.OrderedDict:  # a state_dict
            return collections.OrderedDict((self(key, depth + 1), self(item, depth + 1)) for key, item in value.items())
        if kind is pathlib.PosixPath or kind is pathlib.WindowsPath:
            return PathValue(str(value))
        if kind.__module__ == "numpy" and kind.__name__ == "ndarray" or isinstance(value, _numpy_generic()):
            return encode_numpy(value)
        if isinstance(value, torch.nn.Module):
            return self.describe_module(value, self)
        if _is_figure(value):
            return self.describe_figure(value)
        if isinstance(value, (dict, list, tuple, set, frozenset)):
            return self.container(value, depth)
        return self.reference(value)

    def container(self, value, depth: int):
        """A subclass of a container (a ``defaultdict`` history, a ``namedtuple`` row) as the container it extends.

        Its items go as they are stored, read with the base class's own methods; nothing of the subclass
        crosses, so it can make no claim about them. (Refused, as a reference, it failed right code.)
        """
        if isinstance(value, dict):
            mapping = collections.OrderedDict if isinstance(value, collections.OrderedDict) else dict
            return mapping((self(key, depth + 1), self(item, depth + 1)) for key, item in dict.items(value))
        base = next(base for base in (list, tuple, set, frozenset) if isinstance(value, base))
        return base(self(item, depth + 1) for item in base.__iter__(value))

    def reference(self, value) -> ObjectRef:
        bases = [f"{base.__module__}.{base.__qualname__}" for base in type(value).__mro__]
        return ObjectRef(self.keep(value), type(value).__name__, bases)


def _numpy_generic():
    import numpy

    return numpy.generic


def encode_numpy(value) -> NumpyValue:
    import numpy

    array = numpy.asarray(value)
    try:
        data = torch.from_numpy(array.copy())
    except TypeError:  # strings, objects: as a list of plain values (anything else stays text)
        data = [item if plain(item) else str(item) for item in array.ravel().tolist()]
    return NumpyValue(data, str(array.dtype), isinstance(value, numpy.generic))


def _is_figure(value) -> bool:
    figure = getattr(type(value), "__module__", "")
    return figure.startswith("matplotlib.figure") and type(value).__name__ in ("Figure", "SubFigure")
