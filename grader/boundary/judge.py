"""The judge's side of the boundary: the learner process, and the objects that stand for what lives in it.

A check calls ``learner.train_step(model, X, y, loss_fn, optimizer)`` with its
own objects. ``LearnerProcess.call`` sends them over by value (one pickle, so an
optimizer still points at the model it came with), the learner's function runs
on those copies, and what the call left in them comes back and is written into
the judge's objects: parameters and their ``.grad``, buffers, modes, optimizer
state and steps, attributes such as a probe's records, tensors changed in place.
Random generators, grad mode and the default dtype travel both ways too.

What learner code makes comes back as plain data (``values``); its models as a
``Mirror``, a real ``nn.Module`` here with the same tree, parameters and modes,
whose ``forward`` runs in the learner process; other objects (datasets, loaders,
iterators, functions) as a ``RemoteObject`` that forwards every use.
"""

from __future__ import annotations

import builtins
import collections
import copy
import io
import operator
import os
import pathlib
import pickle
import signal
import socket
import sys
import time
import unittest

import numpy
import torch
import torch.utils.hooks
from torch.nn.modules import module as module_internals

from grader import processes, wording
from grader.boundary import figures, framing, values
from grader.boundary.values import (FigureSpec, LentRef, ModuleSpec, NumpyValue, ObjectRef, ParameterRef, PathValue,
                                    TensorState, TensorValue)
from grader.learner import LearnerEscaped, LearnerHung

WHERE_WAIT_S = 0.5  # how long a process past its time limit gets to say where it was
ENDING_WAIT_S = 1.0  # how long a learner process that closed its socket gets to end by itself
# A function that already ran out of time gets a short limit, kept inside the learner process by an alarm
# (``plugin.limit_calls``), which learner code can ignore or not see for a whole torch operation. So the
# judge also waits no longer than the limit and this much more, then ends the learner process itself.
SHORT_LIMIT_GRACE_S = 0.25


class LearnerProcessEnded(Exception):
    """The learner process ended (or sent what is not plain data) during a call: the learner's error."""


class CrossingRefused(Exception):
    """The check handed the learner's code something that cannot be sent to its process: the suite's error."""


class LearnerProcess:
    """The process that runs the learner's file for one grading, forked from the judge."""

    def __init__(self, snapshot, module_name: str, close_fds: list[int], suite_dir: str = ""):
        self.snapshot, self.module_name, self.close_fds = snapshot, module_name, close_fds
        self.suite_dir = suite_dir  # exceptions of the suite's own classes are rebuilt as those classes
        self.sock: socket.socket | None = None
        self.pid = 0  # the learner process, forked here
        self.in_own_namespace = False  # it was PID 1 of the one PID namespace this judge can make
        self.limits: list[tuple[str, str, float]] = []  # functions that ran out of time: a short limit each
        self.hung_in: str | None = None  # the learner function that was running when time last ran out
        self.ended = ""  # why the process is gone, once it is
        self.reset_pending = False  # the learner process is to forget the last check's objects first
        self.functions: dict[str, RemoteObject] = {}  # the module's functions and classes, by name
        self.mirrors: dict[int, Mirror] = {}
        self.mirror_parameters: dict[int, tuple] = {}  # id(parameter) -> its reference in the learner process
        self.agreed = values.Agreed()  # what the learner process holds of generator states and mirrored tensors

    # -- the process itself ------------------------------------------------------

    def start(self):
        """Fork the learner process and import the learner's file there: None, or (message, traceback)."""
        from grader.boundary import host

        judge_end, learner_end = socket.socketpair()
        # Its own PID namespace, where it is PID 1: from there it can neither see nor signal the judge or anything
        # else. Where the system allows none, it runs beside the judge (the sandbox's older defences).
        unreachable = processes.pid_namespace_for_children()
        self.in_own_namespace = self.in_own_namespace or unreachable
        pid = os.fork()
        if pid == 0:
            judge_end.close()
            host.main(learner_end, self.snapshot, self.module_name, self.close_fds, list(self.limits), unreachable)
        learner_end.close()
        self.sock, self.pid, self.ended, self.hung_in = judge_end, pid, "", None
        self.agreed = values.Agreed()
        self.forget()
        self.functions.clear()
        reply = self.exchange(None)
        imported = reply.get("imported") if isinstance(reply, dict) else (wording.DID_NOT_START, "")
        return tuple(map(str, imported)) if imported is not None else None

    @property
    def running(self) -> bool:
        return self.sock is not None

    @property
    def spent(self) -> bool:
        """It has ended, and this judge can start no other: the next would be born in the namespace its PID 1 left
        (where a fork fails), and a process can make only one PID namespace for its children."""
        return self.in_own_namespace and not self.running

    def stop(self, ended: bool = False) -> int:
        """End the learner process; its wait status. ``ended``: it closed its socket, so it is ending by itself:
        wait for that first."""
        status = 0
        deadline = time.monotonic() + (ENDING_WAIT_S if ended else 0)
        while self.pid and time.monotonic() < deadline:
            try:
                done, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                done = self.pid
            if done:
                self.sock.close()
                self.sock, self.pid = None, 0
                return status
            time.sleep(0.005)
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                status = os.waitpid(self.pid, 0)[1]
            except ChildProcessError:
                pass
        if self.sock is not None:
            self.sock.close()
        self.sock, self.pid = None, 0
        return status

    def limit(self, name: str, first_check: str, seconds: float) -> None:
        """Give ``name`` a short limit in this learner process and every later one."""
        self.limits.append((name, first_check, seconds))

    def short_limit_of(self, callee) -> tuple[str, str, float] | None:
        """The short limit of ``callee`` if it is a function of the learner's module that already ran out of time."""
        for name, first_check, seconds in self.limits:
            if "." not in name and self.functions.get(name) is callee:
                return name, first_check, seconds
        return None

    def forget(self) -> None:
        """A new check: the learner process drops what the last one held, and so does the judge."""
        self.mirrors.clear()
        self.mirror_parameters.clear()
        self.agreed.forget("mirror")

    def reset(self) -> None:
        """A new check: the learner process forgets the last one's objects with this check's first call."""
        self.forget()
        self.reset_pending = True

    def exchange(self, request: bytes | None, short_limit: tuple[str, str, float] | None = None):
        """Send one request (None: only wait for the greeting) and read its reply as plain data.

        Short limits in force are kept here too: ``short_limit`` (function, first check, seconds) when the
        call itself is to a function that already ran out of time, and each such function the learner
        process says it is entering meanwhile (``host.Host.announce``). Once one is past (and
        ``SHORT_LIMIT_GRACE_S``), the learner process is ended here, whatever the alarm there did.
        """
        if not self.running:
            raise LearnerProcessEnded(self.ended or wording.NOT_RUNNING)
        own = [] if short_limit is None else [self.deadline(short_limit)]
        entered = []  # (deadline, limit) of each limited function the learner process is inside, innermost last
        while True:
            reply = self.receive(request, own + entered)
            request = None
            notice = notice_in(reply)
            if notice == "entering":
                limit = next((limit for limit in self.limits if limit[0] == reply[notice]), None)
                if limit is not None:
                    entered.append(self.deadline(limit))
            elif notice == "left":
                inside = [index for index, (_, limit) in enumerate(entered) if limit[0] == reply[notice]]
                if inside:
                    entered.pop(inside[-1])
            else:
                return reply

    @staticmethod
    def deadline(limit: tuple[str, str, float]) -> tuple[float, tuple[str, str, float]]:
        return time.monotonic() + limit[2] + SHORT_LIMIT_GRACE_S, limit

    def receive(self, request: bytes | None, in_force: list):
        """Send ``request`` if any, then read the next message as plain data, within the short limits ``in_force``."""
        try:
            if request is not None:
                framing.send(self.sock, request)
            if in_force:
                # Never 0: a timeout of 0 would make the socket non-blocking, and an empty one an error.
                self.sock.settimeout(max(0.001, min(in_force)[0] - time.monotonic()))
            data = framing.receive(self.sock)
            if in_force:
                self.sock.settimeout(None)
        except TimeoutError:  # only with a short limit in force (an OSError too: caught before the next clause)
            limit = min(in_force)[1]
            self.stop()
            self.hung_in = limit[0]
            self.ended = wording.ran_past_limit_again(*limit)
            raise LearnerHung(self.ended) from None
        except (framing.ProcessGone, OSError):
            from grader.watchdog import describe_exit

            status = self.stop(ended=True)
            self.ended = wording.process_ended(describe_exit(status))
            raise LearnerProcessEnded(self.ended) from None
        except BaseException:
            # The check's time limit (pytest-timeout raises it here, while the judge waits), or Ctrl-C.
            self.hung_in = self.ask_where()
            self.stop()
            self.ended = wording.STOPPED_AT_TIME_LIMIT
            raise
        try:
            return values.load(data)
        except Exception as exc:  # noqa: BLE001 - whatever the learner process sent, it is not plain data
            self.stop()
            self.ended = wording.not_plain_data(type(exc).__name__)
            raise LearnerProcessEnded(self.ended) from None

    def ask_where(self) -> str | None:
        """Which learner function was running: the learner process says it when signalled (best effort)."""
        try:
            os.kill(self.pid, signal.SIGUSR1)
            until = time.monotonic() + WHERE_WAIT_S
            while True:  # past any "entering" or "left" already on its way
                self.sock.settimeout(max(0.001, until - time.monotonic()))
                reply = values.load(framing.receive(self.sock))
                if notice_in(reply) is None:
                    break
        except BaseException:  # noqa: BLE001 - only a better message is lost
            return None
        where = reply.get("where") if isinstance(reply, dict) else None
        return where if isinstance(where, str) else None

    # -- calls ----------------------------------------------------------------

    def pickle(self, request) -> bytes:
        buffer = io.BytesIO()
        try:
            RequestPickler(buffer, self).dump(request)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            raise CrossingRefused(wording.crossing_refused(str(exc))) from None
        return buffer.getvalue()

    def call(self, callee, args=(), kwargs=None, graph=None):
        """``callee(*args, **kwargs)`` in the learner process, with the judge's objects lent by value.

        ``graph`` (positions of the arguments, names of the parameters) asks the learner process to keep
        the forward pass's graph for ``backward``; the reply's value then comes with its number.
        """
        kwargs = kwargs or {}
        lent = lent_objects((args, kwargs), self.mirror_parameters)
        grads = [obj.grad if isinstance(obj, torch.Tensor) else None for obj in lent]  # pickle leaves .grad out
        request = self.pickle(("call", callee, args, kwargs, (lent, grads), self.world(), graph, self.reset_pending))
        self.reset_pending = False
        reply = self.exchange(request, self.short_limit_of(callee))
        if not isinstance(reply, dict):
            raise LearnerProcessEnded(wording.ANSWER_UNREAD)
        self.take_world(reply.get("world"))
        for spec in reply.get("mirrors", []):
            if isinstance(spec, ModuleSpec):
                self.mirror(spec)
        states = list(zip(lent, reply.get("lent", [])))
        # Tensors first, then modules: a module's parameters by name win over a parameter it no longer holds.
        for obj, state in sorted(states, key=lambda pair: not isinstance(pair[0], torch.Tensor)):
            self.take_back(obj, state)
        if "raised" in reply:
            raise rebuild_exception(reply["raised"], self.suite_dir)
        if "escaped" in reply:
            raise LearnerEscaped(str(reply["escaped"]))
        if "hung" in reply:
            raise LearnerHung(str(reply["hung"]))
        if "value" not in reply:
            # It could not do what was asked (its own machinery failed, or learner code broke it): what it holds is
            # suspect, so it is ended here, and the next check starts a fresh one.
            self.stop()
            self.ended = str(reply.get("grader_error", wording.SENT_NO_ANSWER))
            raise LearnerProcessEnded(self.ended)
        value = self.decode(reply["value"], lent)
        return value if graph is None else (value, reply.get("graph"))

    def backward(self, token, grad_outputs) -> list:
        """Gradients of a kept forward pass, for its inputs and parameters (None where nothing flowed)."""
        reply = self.exchange(self.pickle(("backward", token, grad_outputs)))
        if isinstance(reply, dict) and "raised" in reply:
            raise rebuild_exception(reply["raised"], self.suite_dir)
        grads = self.decode(reply.get("value", [])) if isinstance(reply, dict) else []
        return [grad.detach() if isinstance(grad, torch.Tensor) else None for grad in grads]

    # -- process-wide state -------------------------------------------------------

    def world(self) -> dict:
        """The process-wide state a call starts from; of generators and mirrored tensors, only what changed."""
        agreed = self.agreed
        mirrors = {number: {path: (agreed.changes(("mirror", number, path, "parameter"),
                                                  {name: p for name, p in module._parameters.items() if p is not None},
                                                  values.tensor_state),
                                   agreed.changes(("mirror", number, path, "buffer"),
                                                  {name: b for name, b in module._buffers.items() if b is not None},
                                                  lambda buffer: buffer.detach().clone()),
                                   {key: value.detach() for key, value in vars(module).items()
                                    if type(value) is torch.Tensor and not key.startswith("_")},
                                   module.training)
                            for path, module in root.named_modules()}
                   for number, root in self.mirrors.items()}
        return {"generators": agreed.changes(("generators",), values.generator_states()),
                "grad": torch.is_grad_enabled(), "dtype": torch.get_default_dtype(),
                "global_hooks": values.hook_counts(module_internals, "_global"),
                "cwd": os.getcwd(), "mirrors": mirrors}

    def take_world(self, world) -> None:
        """Take on the generator states, grad mode and dtype a call left; anything malformed is ignored."""
        if not isinstance(world, dict):
            return
        generators = world.get("generators")
        if isinstance(generators, dict):
            values.set_generator_states(generators)
            for name, state in generators.items():
                self.agreed.took(("generators", name), state)
        for apply in (lambda: torch.set_grad_enabled(world["grad"] is True),
                      lambda: world["dtype"] in (torch.float16, torch.bfloat16, torch.float32, torch.float64)
                      and torch.set_default_dtype(world["dtype"]),
                      lambda: stand_in_hooks(module_internals, world["global_hooks"], "_global")):
            try:
                apply()
            except (KeyError, IndexError, TypeError, ValueError, RuntimeError, AttributeError):
                pass

    def take_back(self, obj, state) -> None:
        """Write what a call left in a lent object back into the judge's own object."""
        try:
            if isinstance(obj, torch.Tensor) and isinstance(state, TensorState):
                values.apply_tensor_state(obj, state)
            elif isinstance(obj, torch.optim.Optimizer) and isinstance(state, dict):
                obj.load_state_dict(self.decode(state["optimizer"]))
                for _ in range(min(int(state["steps"]), 1_000_000)):
                    for hook in list(obj._optimizer_step_post_hooks.values()):
                        hook(obj, (), {})  # the judge's own hooks (count_steps) see each step the learner took
            elif isinstance(obj, torch.optim.lr_scheduler.LRScheduler) and isinstance(state, dict):
                obj.load_state_dict(self.decode(state["scheduler"]))
            elif isinstance(obj, torch.nn.Module) and isinstance(state, dict):
                obj.training = state["training"] is True
                for key, value in state["attributes"].items():
                    setattr(obj, str(key), self.decode(value))
                for name, (tensor_state, replaced) in state["parameters"].items():
                    owner, _, attribute = str(name).rpartition(".")
                    module = obj.get_submodule(owner)
                    if replaced is True:  # a new object there, as in the learner process: old references go stale
                        module._parameters[attribute] = torch.nn.Parameter(tensor_state.data.clone())
                    values.apply_tensor_state(module._parameters[attribute], tensor_state)
                for name, tensor in state["buffers"].items():
                    owner, _, attribute = str(name).rpartition(".")
                    values.put(obj.get_submodule(owner)._buffers[attribute], tensor)
                for path, counts in state["hooks"].items():
                    stand_in_hooks(obj.get_submodule(str(path)), counts)
        except (KeyError, TypeError, ValueError, RuntimeError, AttributeError):
            pass

    # -- values ---------------------------------------------------------------------

    def decode(self, value, lent=()):
        kind = type(value)
        if kind in (list, tuple, set, frozenset):
            return kind(self.decode(item, lent) for item in value)
        if kind in (dict, collections.OrderedDict):
            return kind((self.decode(key, lent), self.decode(item, lent)) for key, item in value.items())
        if kind is TensorValue:
            return tensor_of(value)
        if kind is ObjectRef:
            return remote_object(self, value)
        if kind is ModuleSpec:
            return self.mirror(value)
        if kind is ParameterRef:
            root = self.mirrors.get(value.number)
            return root.get_parameter(value.name) if root is not None else None
        if kind is LentRef:
            return lent[value.index] if 0 <= value.index < len(lent) else None
        if kind is NumpyValue:
            return numpy_of(value)
        if kind is PathValue:
            return pathlib.Path(str(value.text))
        if kind is FigureSpec:
            return figures.rebuild(value)
        return value

    def mirror(self, spec: ModuleSpec) -> Mirror:
        """The judge's mirror of a learner model, made or brought up to date from ``spec``."""
        root = self.mirrors.get(spec.number)
        existing = dict(root.named_modules()) if root is not None else {}
        for node_spec in spec.nodes:
            node = existing.get(node_spec.path)
            if node is None or type(node).__name__ != node_spec.type_name:
                node = new_node(self, spec.number, node_spec)
                if node_spec.path == "":
                    root = node
                else:
                    parent, _, name = node_spec.path.rpartition(".")
                    existing.get(parent, root)._modules[name] = node
                existing[node_spec.path] = node
            fill_node(self, node, node_spec)
        kept = {node_spec.path for node_spec in spec.nodes}
        for path in [path for path in existing if path not in kept]:
            parent, _, name = path.rpartition(".")
            existing.get(parent, root)._modules.pop(name, None)
        self.mirrors[spec.number] = root
        self.mirror_parameters = {id(p): ("parameter", number, name) for number, model in self.mirrors.items()
                                  for name, p in model.named_parameters()}
        return root


def notice_in(reply) -> str | None:
    """``"entering"`` or ``"left"`` where ``reply`` is the learner process's notice about a limited function
    (``host.Host.announce``) rather than the answer to a request; otherwise None."""
    event = next(iter(reply), None) if isinstance(reply, dict) and len(reply) == 1 else None
    return event if event in ("entering", "left") else None


class RequestPickler(pickle.Pickler):
    """Pickles a request; what lives in the learner process goes as a reference to it (``values.learner_object``)."""

    def __init__(self, file, process: LearnerProcess):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.process = process

    def reducer_override(self, obj):
        # Called for every object but plain containers, strings and numbers (which need none of this): a
        # ``persistent_id`` would be called for those too, hundreds of times a call.
        if isinstance(obj, torch.Tensor):
            reference = self.process.mirror_parameters.get(id(obj))
            if reference is not None:
                return values.learner_object, (reference,)
            if obj.requires_grad and obj.__dict__.get(values.HISTORY):
                return values.with_history, (obj.detach().clone(),)
            return values.TensorPickler.reducer_override(self, obj)
        if isinstance(obj, (RemoteObject, LearnerModule)):
            return values.learner_object, (object.__getattribute__(obj, "_kit_pid"),)
        if isinstance(obj, Mirror):
            return values.learner_object, (("node", obj.__dict__["_kit_number"], obj.__dict__["_kit_path"]),)
        return NotImplemented


def stand_in_hook(*args, **kwargs):
    """Stands, in the judge, for a hook learner code left registered in the learner process. Does nothing."""
    return None


def stand_in_hooks(owner, counts, prefix: str = "") -> None:
    """Make ``owner`` hold as many hooks of each kind as its copy in the learner process was left with.

    The judge's own hooks stay; stand-ins make up the difference, so a check that looks for hooks left
    behind (``module._forward_hooks``) sees them. Hooks do not travel: they are not called from here.
    """
    for kind, count in zip(values.HOOK_KINDS, counts):
        hooks = getattr(owner, prefix + kind, None)
        if hooks is None or not isinstance(count, int):
            continue
        for key in [key for key, hook in hooks.items() if hook is stand_in_hook]:
            del hooks[key]
        for _ in range(max(0, min(count, 10_000) - len(hooks))):
            hooks[torch.utils.hooks.RemovableHandle(hooks).id] = stand_in_hook


def lent_objects(root, mirror_parameters: dict) -> list:
    """The judge's tensors, models and optimizers reachable from a call's arguments, each once, in a fixed order."""
    found, seen = [], set()

    def walk(obj, depth: int) -> None:
        if id(obj) in seen or depth > 50 or isinstance(obj, (RemoteObject, LearnerModule, Mirror)):
            return
        kind = type(obj)
        if isinstance(obj, torch.Tensor):
            if id(obj) not in mirror_parameters:
                seen.add(id(obj))
                found.append(obj)
            return
        if isinstance(obj, torch.nn.Module):
            seen.add(id(obj))
            found.append(obj)
            for item in [*obj._parameters.values(), *obj._buffers.values(), *obj._modules.values(),
                         *(value for key, value in vars(obj).items() if not key.startswith("_"))]:
                walk(item, depth + 1)
        elif isinstance(obj, torch.optim.Optimizer):
            seen.add(id(obj))
            found.append(obj)
            for group in obj.param_groups:
                for parameter in group["params"]:
                    walk(parameter, depth + 1)
        elif isinstance(obj, torch.optim.lr_scheduler.LRScheduler):
            seen.add(id(obj))
            found.append(obj)
            walk(obj.optimizer, depth + 1)
        elif kind in (list, tuple, set, frozenset):
            seen.add(id(obj))
            for item in obj:
                walk(item, depth + 1)
        elif kind in (dict, collections.OrderedDict):
            seen.add(id(obj))
            for item in obj.values():
                walk(item, depth + 1)

    walk(root, 0)
    return found


def tensor_of(value: TensorValue) -> torch.Tensor:
    data = value.data
    if value.is_parameter:
        return torch.nn.Parameter(data, requires_grad=value.requires_grad is True)
    if value.has_history is True and (data.is_floating_point() or data.is_complex()):
        with torch.enable_grad():
            return data.requires_grad_(True).clone()  # a tensor with a history, as the learner's was
    return data.requires_grad_(value.requires_grad is True) if data.is_floating_point() or data.is_complex() else data


def numpy_of(value: NumpyValue):
    data = value.data.numpy() if isinstance(value.data, torch.Tensor) else value.data
    try:
        array = numpy.asarray(data, dtype=numpy.dtype(str(value.dtype)))
    except (TypeError, ValueError):
        array = numpy.asarray(data)
    return array[()] if value.scalar and array.ndim == 0 else array


# -- what stands for the learner's objects -------------------------------------------------


def process_of(anchor) -> LearnerProcess:
    """The learner process that ``anchor`` (the ``learner`` fixture, a mirrored model, a remote object) lives in."""
    if isinstance(anchor, Mirror):
        return anchor.__dict__["_kit_process"]
    if isinstance(anchor, (LearnerModule, RemoteObject)):
        return object.__getattribute__(anchor, "_kit_process")
    raise TypeError(f"{type(anchor).__name__} does not live in the learner process")


class LearnerModule:
    """The ``learner`` fixture: the learner's file, as a module that lives in the learner process."""

    def __init__(self, process: LearnerProcess):
        object.__setattr__(self, "_kit_process", process)
        object.__setattr__(self, "_kit_pid", ("module",))

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        known = self._kit_process.functions
        if name not in known:
            value = self._kit_process.call(builtins.getattr, (self, name))
            if not isinstance(value, RemoteObject):
                return value  # a number or a model: asked for afresh each time, as learner code may change it
            known[name] = value  # a function or class: kept for the learner process's life, not asked each use
        return known[name]

    def __setattr__(self, name: str, value) -> None:
        self._kit_process.functions.pop(name, None)
        self._kit_process.call(builtins.setattr, (self, name, value))

    def __delattr__(self, name: str) -> None:
        self._kit_process.functions.pop(name, None)
        self._kit_process.call(builtins.delattr, (self, name))

    def __repr__(self) -> str:
        return "<the learner's module>"


LOCAL_NAMES = frozenset({"_kit_process", "_kit_pid", "_kit_type", "__class__", "__dict__", "__repr__", "__str__",
                         "__deepcopy__", "__copy__", "__reduce_ex__", "__reduce__", "__getstate__",
                         "__instancecheck__", "__subclasshook__", "__init_subclass__", "__module__", "__doc__",
                         "__orig_class__", "__parameters__"})


class RemoteObject:
    """An object of the learner's that stays in the learner process: every use of it is a call there."""

    def __getattribute__(self, name: str):
        if name in LOCAL_NAMES or name.startswith("_kit_"):
            return object.__getattribute__(self, name)
        return object.__getattribute__(self, "_kit_process").call(builtins.getattr, (self, name))

    def __setattr__(self, name: str, value) -> None:
        self._kit_process.call(builtins.setattr, (self, name, value))

    def __call__(self, *args, **kwargs):
        return self._kit_process.call(self, args, kwargs)

    def __iter__(self):
        iterator = self._kit_process.call(builtins.iter, (self,))
        return Prefetched(self._kit_process, iterator) if isinstance(iterator, RemoteObject) else iterator

    def __next__(self):
        return self._kit_process.call(builtins.next, (self,))

    def __len__(self):
        return self._kit_process.call(builtins.len, (self,))

    def __getitem__(self, key):
        return self._kit_process.call(operator.getitem, (self, key))

    def __contains__(self, item):
        return self._kit_process.call(operator.contains, (self, item))

    def __bool__(self):
        return self._kit_process.call(builtins.bool, (self,))

    def __deepcopy__(self, memo):
        return self._kit_process.call(copy.deepcopy, (self,))

    def __repr__(self) -> str:
        return f"<{self._kit_type} object>"


class Prefetched:
    """Iterating one of the learner's objects: items come over in batches of ``BATCH`` (``host.take``)."""

    BATCH = 32

    def __init__(self, process: LearnerProcess, iterator: RemoteObject):
        self.process, self.iterator = process, iterator
        self.waiting: collections.deque = collections.deque()
        self.finished = False

    def __iter__(self):
        return self

    def __next__(self):
        if not self.waiting and not self.finished:
            from grader.boundary.host import take

            reply = self.process.call(take, (self.iterator, self.BATCH))
            items, finished = reply if type(reply) is tuple and len(reply) == 2 else ([], True)
            self.waiting.extend(items if type(items) is list else [])
            self.finished = finished is True
        if self.waiting:
            return self.waiting.popleft()
        raise StopIteration


ALLOWED_BASES = ("torch.utils.data.", "torch.optim.")  # what a learner's object may also be, for isinstance
_remote_classes: dict[tuple, type] = {}


def remote_object(process: LearnerProcess, ref: ObjectRef) -> RemoteObject:
    bases = tuple(allowed_classes(ref.bases, ALLOWED_BASES, object))
    name = str(ref.type_name) if str(ref.type_name).isidentifier() else "LearnerObject"
    key = (name, bases)
    if key not in _remote_classes:
        _remote_classes[key] = type(name, (RemoteObject, *[b for b in bases if b is not object]),
                                    {"__module__": "learner"})
    obj = object.__new__(_remote_classes[key])
    object.__setattr__(obj, "_kit_process", process)
    object.__setattr__(obj, "_kit_pid", ("object", int(ref.number)))
    object.__setattr__(obj, "_kit_type", name)
    return obj


def allowed_classes(names, prefixes: tuple, fallback: type) -> list[type]:
    """The classes named in ``names`` that the judge already has, from modules under ``prefixes``; the most
    derived only. Looked up in ``sys.modules``: nothing is imported for a name the learner process sent."""
    found = []
    for name in names if isinstance(names, (list, tuple)) else []:
        module_name, _, qualname = str(name).rpartition(".")
        if not str(name).startswith(prefixes):
            continue
        owner = sys.modules.get(module_name)
        cls = getattr(owner, qualname, None) if owner is not None and qualname.isidentifier() else None
        if isinstance(cls, type) and not any(issubclass(known, cls) for known in found):
            found.append(cls)
    return found or [fallback]


class Mirror(torch.nn.Module):
    """The judge's copy of a learner model: same tree, parameters, buffers and modes; ``forward`` runs there.

    Methods ``nn.Module`` defines (``parameters``, ``state_dict``, ``train``, ``to``...) work on the copy,
    which is sent back before every call; methods the learner's class adds run in the learner process.
    """

    def forward(self, *args, **kwargs):
        process = self.__dict__["_kit_process"]
        positions = [index for index, arg in enumerate(args) if isinstance(arg, torch.Tensor) and arg.requires_grad]
        # What gradients must reach here: the parameters, and tensors kept as plain attributes (a mistake a
        # check names, so it must see it as it is).
        trained = {name: parameter for name, parameter in self.named_parameters() if parameter.requires_grad}
        trained.update({f"{path}.{key}".lstrip("."): value for path, module in self.named_modules()
                        for key, value in vars(module).items()
                        if type(value) is torch.Tensor and value.requires_grad and value.is_leaf})
        if not torch.is_grad_enabled() or not positions and not trained:
            return process.call(self, args, kwargs)
        names = list(trained)
        tensors = [args[index] for index in positions] + list(trained.values())
        return RemoteForward.apply(process, self, args, kwargs, (positions, names), *tensors)

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            process = self.__dict__.get("_kit_process")
            if process is None or name.startswith("_"):
                raise
            return process.call(builtins.getattr, (self, name))

    def __deepcopy__(self, memo):
        return self.__dict__["_kit_process"].call(copy.deepcopy, (self,))


class RemoteForward(torch.autograd.Function):
    """A mirrored model's forward pass as one step of the judge's graph; its backward asks the learner process."""

    @staticmethod
    def forward(ctx, process, node, args, kwargs, graph, *tensors):
        value, token = process.call(node, args, kwargs, graph=graph)
        ctx.process, ctx.token, ctx.count = process, token, len(tensors)
        outputs = value if type(value) is tuple else (value,)
        if not all(isinstance(item, torch.Tensor) for item in outputs):
            return value
        detached = tuple(item.detach() for item in outputs)
        for item, copy_ in zip(outputs, detached):
            if not item.requires_grad:  # no graph there (.data, no_grad in forward): none here either
                ctx.mark_non_differentiable(copy_)
        return detached if type(value) is tuple else detached[0]

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, *grad_outputs):
        grads = ctx.process.backward(ctx.token, list(grad_outputs))
        grads = (grads + [None] * ctx.count)[:ctx.count]
        return (None, None, None, None, None, *grads)


_mirror_classes: dict[tuple, type] = {}


def new_node(process: LearnerProcess, number: int, spec) -> Mirror:
    base = allowed_classes([spec.base], ("torch.nn.modules.",), torch.nn.Module)[0]
    if not issubclass(base, torch.nn.Module):
        base = torch.nn.Module
    name = str(spec.type_name) if str(spec.type_name).isidentifier() else "LearnerModel"
    exact = spec.exact is True and name == base.__name__  # the learner's layer is exactly torch's nn.Linear, say
    key = (name, base, exact, spec.own_forward is True)
    if key not in _mirror_classes:
        namespace = {"__module__": base.__module__ if exact else "learner"}
        if spec.own_forward is not True:
            namespace["forward"] = torch.nn.Module.forward  # the class has none: calling it fails, as it would there
        _mirror_classes[key] = type(name, (Mirror,) if base is torch.nn.Module else (Mirror, base), namespace)
    node = _mirror_classes[key].__new__(_mirror_classes[key])
    torch.nn.Module.__init__(node)
    node.__dict__.update(_kit_process=process, _kit_number=number, _kit_path=str(spec.path))
    return node


def fill_node(process: LearnerProcess, node: Mirror, spec) -> None:
    """Bring one mirrored module up to date: mode, plain attributes, parameters (in place), buffers."""
    node.training = spec.training is True
    for key, value in spec.attributes.items():
        if isinstance(key, str) and not key.startswith("_") and not hasattr(type(node), key):  # no method shadowed
            node.__dict__[key] = process.decode(value)
    # A tensor given as None is unchanged since the judge last had it (``values.Agreed``).
    key = ("mirror", node.__dict__["_kit_number"], node.__dict__["_kit_path"])
    for name in [name for name in node._parameters if name not in spec.parameters]:
        del node._parameters[name]
    for name, state in spec.parameters.items():
        if not isinstance(state, values.TensorState):
            continue
        parameter = node._parameters.get(name)
        if parameter is None or name in spec.replaced:
            parameter = node._parameters[name] = torch.nn.Parameter(state.data.clone())
        try:
            values.apply_tensor_state(parameter, state)
            process.agreed.took((*key, "parameter", name), state)
        except (RuntimeError, TypeError):
            pass
    for name in [name for name in node._buffers if name not in spec.buffers]:
        del node._buffers[name]
    for name, tensor in spec.buffers.items():
        if not isinstance(tensor, torch.Tensor):
            continue
        if node._buffers.get(name) is None:
            node._buffers[name] = tensor
        else:
            values.put(node._buffers[name], tensor)
        process.agreed.took((*key, "buffer", name), tensor)


# -- exceptions ----------------------------------------------------------------------------------

_exception_classes: dict[tuple, type] = {}
EXCEPTION_MODULES = ("torch.", "numpy.", "pickle.", "_pickle.", "zipfile.", "json.", "io.", "builtins.")


def suite_modules(names, folder: str) -> tuple[str, ...]:
    """Of the modules that hold the classes ``names``, those loaded from the suite's folder (the suite and its
    helpers), each ending in a dot. Only the named modules are looked at: a judge has thousands."""
    found = []
    for name in names if isinstance(names, (list, tuple)) else []:
        module_name = str(name).rpartition(".")[0]
        path = str(getattr(sys.modules.get(module_name), "__file__", "") or "")
        if folder and path.startswith(folder + os.sep):
            found.append(f"{module_name}.")
    return tuple(found)


def rebuild_exception(raised, suite_dir: str) -> Exception:
    """An exception standing for one raised in the learner process: same name, a built-in base, its message.

    Never a BaseException that is not an Exception (those are told apart by the learner process as escapes).
    """
    if not isinstance(raised, values.Raised):
        return LearnerProcessEnded(wording.ERROR_UNREAD)
    # The class itself where the judge has it already (pickle's, torch's, the suite's own): checks may catch it.
    # Never one of the grader's or pytest's: those would decide a status instead of describing an error.
    base = allowed_classes(raised.bases, EXCEPTION_MODULES + suite_modules(raised.bases, suite_dir), Exception)[0]
    if not issubclass(base, Exception) or issubclass(base, unittest.SkipTest):
        base = getattr(builtins, str(raised.builtin), None)
        if not (isinstance(base, type) and issubclass(base, Exception)):
            base = Exception
    name = str(raised.type_name) if str(raised.type_name).isidentifier() else base.__name__
    key = (name, base)
    if key not in _exception_classes:
        _exception_classes[key] = type(name, (base,), {"__str__": lambda self: self.kit_message,
                                                        "__module__": "learner"})
    exc = _exception_classes[key].__new__(_exception_classes[key])
    exc.kit_message = str(raised.message)
    exc.kit_remote = raised
    if raised.syntax is not None and issubclass(base, SyntaxError):
        exc.filename, exc.lineno, exc.msg = raised.syntax
    return exc
