"""The learner process: it imports the learner's file and runs what the judge asks, nothing else.

Forked by the judge before the learner's file is imported, it keeps none of the
judge's channels. Each request is one call, ``callee(*args, **kwargs)``: a
learner function, a method of one of the learner's objects, or ``getattr``,
``next``, ``len`` on one of them. Around every call it takes on the judge's
process-wide state (random generators, grad mode, default dtype, working folder,
the models the judge mirrors) and sends back what the call left there.

Everything here can be rewritten by the learner's code, so nothing here is
trusted: the judge reads each reply as data (``values.load``) and decides.
"""

from __future__ import annotations

import builtins
import os
import pickle
import signal
import sys

import torch
from torch.nn.modules import module as module_internals

from grader import learner as learner_files
from grader import wording
from grader.boundary import figures, framing, values
from grader.boundary.values import ModuleSpec, NodeSpec, ParameterRef, Raised, apply_tensor_state, put, tensor_state

ESCAPES = ("SystemExit", "KeyboardInterrupt", "Exit", "Skipped", "XFailed", "Failed")


class Host:
    def __init__(self, sock, snapshot, module_name: str):
        self.sock = sock
        self.snapshot = snapshot
        self.filename = snapshot.filename
        self.module_name = module_name
        self.module = None
        self.objects: dict[int, object] = {}  # what the judge holds a reference to, by number
        self.counter = 0
        self.pinned: set[int] = set()  # numbers of the module's functions and classes, kept from check to check
        self.numbers: dict[int, int] = {}  # id(object) -> number
        self.mirrored: dict[int, torch.nn.Module] = {}  # models the judge mirrors, by number
        self.seen_parameters: dict[tuple, int] = {}  # (model, module path, name) -> id of the parameter last sent
        self.seen_modules: dict[tuple, int] = {}  # (model, module path) -> id of the module last described there
        self.agreed = values.Agreed()  # what the judge holds of generator states and mirrored tensors
        self.graphs: list[tuple[list, list]] = []  # forward passes kept for the judge's backward: (outputs, inputs)

    # -- references -------------------------------------------------------------

    def keep(self, value) -> int:
        number = self.numbers.get(id(value))
        if number is None:
            self.counter += 1
            number = self.counter
            self.objects[number] = value
            self.numbers[id(value)] = number
        return number

    def resolve(self, pid):
        kind = pid[0]
        if kind == "module":
            return self.module
        if kind == "object":
            return self.objects[pid[1]]
        if kind == "node":
            return self.mirrored[pid[1]].get_submodule(pid[2])
        if kind == "parameter":
            return self.mirrored[pid[1]].get_parameter(pid[2])
        raise pickle.UnpicklingError(f"unknown reference {kind!r}")

    def parameter_refs(self) -> dict:
        return {id(parameter): ParameterRef(number, name) for number, model in self.mirrored.items()
                for name, parameter in model.named_parameters()}

    # -- the models the judge mirrors ---------------------------------------------

    def describe_module(self, model: torch.nn.Module, encode) -> ModuleSpec:
        number = self.keep(model)
        self.mirrored[number] = model
        nodes = []
        for path, module in model.named_modules():
            attributes = {key: encode(value) for key, value in vars(module).items()
                          if not key.startswith("_") and key != "training" and simple(value)}
            replaced = [name for name, parameter in module._parameters.items() if parameter is not None
                        and self.seen_parameters.get((number, path, name), id(parameter)) != id(parameter)]
            for name, parameter in module._parameters.items():
                if parameter is not None:
                    self.seen_parameters[(number, path, name)] = id(parameter)
            # What the judge already holds goes as None; a module new at this path goes whole.
            key = ("mirror", number, path)
            if self.seen_modules.get((number, path)) != id(module):
                self.agreed.forget_under(key)
            self.seen_modules[(number, path)] = id(module)
            live = {name: parameter for name, parameter in module._parameters.items() if parameter is not None}
            changed = self.agreed.changes((*key, "parameter"), live, tensor_state)
            parameters = {name: changed[name] if name in changed else tensor_state(parameter) if name in replaced
                          else None for name, parameter in live.items()}
            live = {name: buffer for name, buffer in module._buffers.items() if buffer is not None}
            changed = self.agreed.changes((*key, "buffer"), live, lambda buffer: buffer.detach().clone())
            buffers = {name: changed.get(name) for name in live}
            base = torch_base(type(module))
            nodes.append(NodeSpec(path, type(module).__name__, base,
                                  f"{type(module).__module__}.{type(module).__qualname__}" == base,
                                  type(module).forward is not torch.nn.Module.forward, attributes, parameters,
                                  buffers, bool(module.training), replaced))
        encode.parameter_refs.update({id(p): ParameterRef(number, name) for name, p in model.named_parameters()})
        return ModuleSpec(number, nodes)

    def take_mirror_states(self, states: dict) -> None:
        """Before a call: the judge's view of each mirrored model (it may have changed modes, weights, grads)."""
        for number, nodes in states.items():
            model = self.mirrored.get(number)
            if model is None:
                continue
            for path, (parameters, buffers, tensors, training) in nodes.items():
                try:
                    module = model.get_submodule(path)
                except AttributeError:
                    continue
                module.training = training
                for name, tensor in tensors.items():
                    if type(getattr(module, name, None)) is torch.Tensor:
                        put(getattr(module, name), tensor)
                for name, state in parameters.items():
                    if module._parameters.get(name) is not None:
                        apply_tensor_state(module._parameters[name], state)
                        self.agreed.took(("mirror", number, path, "parameter", name), state)
                for name, tensor in buffers.items():
                    if module._buffers.get(name) is not None:
                        put(module._buffers[name], tensor)
                        self.agreed.took(("mirror", number, path, "buffer", name), tensor)

    # -- one request --------------------------------------------------------------

    def send(self, reply) -> None:
        try:
            data = values.dump(reply)
        except Exception as exc:  # noqa: BLE001 - something learner code made that torch.save refuses
            data = values.dump({"grader_error": wording.return_not_sent(str(exc))})
        flush_output()  # what the call printed, even half a line, is shown with the check that made the call
        framing.send(self.sock, data)

    def import_file(self):
        try:
            self.module = learner_files.load(self.snapshot, self.module_name)
        except BaseException as exc:  # noqa: BLE001 - whatever the file does at import is reported
            return (learner_files.explain_import_failure(exc, self.filename),
                    learner_files.format_learner_traceback(exc, self.filename))
        return None

    def handle(self, request: bytes) -> dict:
        unpickler = Unpickler(request, self)
        try:
            kind, *rest = unpickler.load()
        except Exception as exc:  # noqa: BLE001
            return {"grader_error": wording.request_not_read(f"{type(exc).__name__}: {exc}")}
        if kind == "backward":
            return self.backward(*rest)
        callee, args, kwargs, (lent, grads), world, graph, new_check = rest
        if new_check:  # the first call of a check: what the last one held is dropped (read above, not used)
            self.forget()
        try:
            for obj, grad in zip(lent, grads):
                if grad is not None:
                    obj.grad = grad
            steps = count_steps_of(lent)
            track_scheduled_steps(lent)
            lent_parameters = {id(obj): {name: id(p) for name, p in obj.named_parameters()}
                               for obj in lent if isinstance(obj, torch.nn.Module)}
            self.take_world(world)
        except Exception as exc:  # noqa: BLE001 - learner code may have broken what these rely on
            return {"grader_error": wording.state_not_taken(str(exc))}
        reply: dict = {}
        try:
            if graph is None:
                result = callee(*args, **kwargs)
            else:  # a forward pass the judge will differentiate: keep its graph here for the backward pass
                with torch.enable_grad():
                    result = callee(*args, **kwargs)
                positions, names = graph
                outputs = result if type(result) is tuple else (result,)
                wrt = [args[i] for i in positions] + [attribute_at(callee, name) for name in names]
                self.graphs.append(([out for out in outputs if isinstance(out, torch.Tensor)], wrt))
                reply["graph"] = len(self.graphs) - 1
        except BaseException as exc:  # noqa: BLE001 - every way learner code can end is told to the judge
            reply.update(self.describe_raised(exc, callee, args))
        else:
            reply["value"] = result
            if callee is builtins.getattr and args and args[0] is self.module and callable(result):
                reply["pinned"] = True  # a function or class of the module: the judge keeps it for later checks
        encode = values.Encoder(self.keep, {id(obj): index for index, obj in enumerate(lent)}, self.parameter_refs(),
                                self.describe_module, figures.describe)
        try:
            if "value" in reply:
                reply["value"] = encode(reply["value"])
                if reply.get("pinned") and isinstance(reply["value"], values.ObjectRef):
                    self.pinned.add(reply["value"].number)
            reply["lent"] = [lent_state(obj, steps.get(id(obj), 0), lent_parameters.get(id(obj), {}), encode)
                             for obj in lent]
            reply["mirrors"] = [self.describe_module(model, encode) for model in list(self.mirrored.values())]
        except BaseException as exc:  # noqa: BLE001 - a property that raises, a tensor that cannot be copied
            return {"grader_error": wording.return_not_read(f"{type(exc).__name__}: {exc}")}
        reply["world"] = self.world_now()
        return reply

    def world_now(self) -> dict:
        """The process-wide state a call leaves, for the judge to take on (of generators, what changed)."""
        return {"generators": self.agreed.changes(("generators",), values.generator_states()),
                "grad": torch.is_grad_enabled(),
                "dtype": torch.get_default_dtype(),
                "global_hooks": values.hook_counts(module_internals, "_global")}

    def backward(self, token: int, grad_outputs) -> dict:
        """The gradients of a kept forward pass with respect to its inputs and the model's parameters."""
        try:
            outputs, wrt = self.graphs[token]
            pairs = [(out, grad) for out, grad in zip(outputs, grad_outputs) if grad is not None and out.requires_grad]
            grads = torch.autograd.grad([out for out, _ in pairs], wrt, [grad for _, grad in pairs],
                                        allow_unused=True, retain_graph=True) if pairs else [None] * len(wrt)
        except BaseException as exc:  # noqa: BLE001
            return self.describe_raised(exc, None, ())
        return {"value": [None if grad is None else values.TensorValue(grad.detach(), False, False, False)
                          for grad in grads]}

    def forget(self) -> None:
        self.graphs.clear()
        self.seen_parameters.clear()
        self.seen_modules.clear()
        self.agreed.forget("mirror")
        kept = {number: self.objects[number] for number in self.pinned if number in self.objects}
        self.objects.clear()
        self.numbers.clear()
        for number, value in kept.items():
            self.objects[number], self.numbers[id(value)] = value, number
        self.mirrored.clear()
        pyplot = sys.modules.get("matplotlib.pyplot")  # absent until learner code imports it (patch_show)
        if pyplot is not None:
            pyplot.close("all")

    def take_world(self, world: dict) -> None:
        values.set_generator_states(world["generators"])  # only those that changed over there
        for name, state in world["generators"].items():
            self.agreed.took(("generators", name), state)
        torch.set_grad_enabled(world["grad"])
        torch.set_default_dtype(world["dtype"])
        # Global module hooks the judge has removed (a check cleaning up) are removed here too, newest first.
        for kind, wanted in zip(values.HOOK_KINDS, world["global_hooks"]):
            hooks = getattr(module_internals, "_global" + kind)
            while len(hooks) > wanted:
                hooks.popitem()
        try:
            os.chdir(world["cwd"])
        except OSError:
            pass
        self.take_mirror_states(world["mirrors"])

    def describe_raised(self, exc: BaseException, callee, args) -> dict:
        name = type(exc).__name__
        if isinstance(exc, learner_files.LearnerHung):
            return {"hung": str(exc)}
        if name in ESCAPES and not isinstance(exc, Exception) or name in ("Exit", "Skipped", "XFailed"):
            from grader.plugin import escape_message

            return {"escaped": escape_message(exc)}
        builtin = next((base.__name__ for base in type(exc).__mro__
                        if getattr(builtins, base.__name__, None) is base), "Exception")
        frames = [(frame.lineno, frame.name, frame.line or "")
                  for frame in learner_files.learner_frames(exc, self.filename)]
        missing = ""
        if isinstance(exc, AttributeError) and callee is builtins.getattr and args and args[0] is self.module:
            missing = str(args[1])
        syntax = (exc.filename, exc.lineno, exc.msg) if isinstance(exc, SyntaxError) else None
        bases = [f"{base.__module__}.{base.__qualname__}" for base in type(exc).__mro__]
        return {"raised": Raised(name, bases, builtin, str(exc), frames, learner_files.learner_function_names(exc, self.filename),
                                 learner_files.raised_in_learner_code(exc, self.filename), missing, syntax)}

    def announce(self, event: str, function: str) -> None:
        """Tell the judge that a function with a short limit is ``"entering"`` or has ``"left"``: the judge
        ends the learner process if the limit passes meanwhile (an alarm here can be ignored or unseen)."""
        self.send({event: function})

    def say_where(self, signum, frame) -> None:
        """The judge's time limit ran out: tell it which learner function was running, for later limits."""
        from grader.plugin import hung_function_of

        codes = []
        while frame is not None:
            codes.append(frame.f_code)
            frame = frame.f_back
        name = hung_function_of(list(reversed(codes)), self.module) if self.module is not None else None
        self.send({"where": name})


class Unpickler(pickle.Unpickler):
    """Reads the judge's request; references to objects that live here become those objects."""

    def __init__(self, data: bytes, host: Host):
        import io

        super().__init__(io.BytesIO(data))
        self.host = host

    def find_class(self, module: str, name: str):
        if module == values.__name__ and name == "learner_object":
            return self.host.resolve
        return super().find_class(module, name)


# -- helpers ----------------------------------------------------------------------


def take(iterator, count: int):
    """Up to ``count`` items of one of the learner's iterators, and whether it is finished: one round trip for a
    loader's batches instead of one each. An error after some items waits for the next call to be raised."""
    pending = PENDING.pop(id(iterator), None)
    if pending is not None:
        raise pending
    items = []
    try:
        while len(items) < count:
            items.append(next(iterator))
    except StopIteration:
        return items, True
    except Exception as exc:  # noqa: BLE001 - raised where the judge asks for the item that failed
        if not items:
            raise
        PENDING[id(iterator)] = exc
    return items, False


PENDING: dict[int, BaseException] = {}


def attribute_at(model, dotted: str):
    """``model.block.fc1.weight`` from ``"block.fc1.weight"``."""
    owner, _, name = dotted.rpartition(".")
    return getattr(model.get_submodule(owner), name)


def simple(value) -> bool:
    """Attributes a mirror carries: numbers, strings, tuples of them (``kernel_size``), tensors, lists of them."""
    if values.plain(value) or type(value) in (torch.Tensor, torch.Size, torch.dtype, torch.device):
        return True
    if type(value) is dict:
        return len(value) <= 10_000 and all(values.plain(key) and simple(item) for key, item in value.items())
    return type(value) in (tuple, list) and len(value) <= 10_000 and all(simple(item) for item in value)


def torch_base(kind: type) -> str:
    """The nearest class of ``torch.nn`` that ``kind`` is, by its qualified name."""
    for base in kind.__mro__:
        if base.__module__.startswith("torch.nn.modules."):
            return f"{base.__module__}.{base.__qualname__}"
    return "torch.nn.modules.module.Module"


def track_scheduled_steps(lent: list) -> None:
    """Give back a lent scheduler's watch on its optimizer's ``step``: pickling the optimizer leaves it out, and
    without it the learner's first ``scheduler.step()`` warns that ``optimizer.step()`` was overridden."""
    import functools

    for scheduler in lent:
        optimizer = getattr(scheduler, "optimizer", None)
        if not isinstance(scheduler, torch.optim.lr_scheduler.LRScheduler) or optimizer is None:
            continue
        if hasattr(optimizer.step, "_wrapped_by_lr_sched"):
            continue
        step = type(optimizer).step

        @functools.wraps(step)
        def wrapper(*args, _optimizer=optimizer, _step=step, **kwargs):
            _optimizer._opt_called = True
            return _step(_optimizer, *args, **kwargs)

        wrapper._wrapped_by_lr_sched = True
        optimizer.step = wrapper


def count_steps_of(lent: list) -> dict:
    """Count each lent optimizer's steps here, through its public hook, for the judge to replay."""
    steps: dict[int, int] = {}
    for obj in lent:
        if isinstance(obj, torch.optim.Optimizer):
            steps[id(obj)] = 0
            obj.register_step_post_hook(lambda optimizer, *_: steps.__setitem__(id(optimizer), steps[id(optimizer)] + 1))
    return steps


def lent_state(obj, steps: int, parameters_before: dict, encode):
    """What a call left in an object the judge lent it."""
    if isinstance(obj, torch.Tensor):
        return tensor_state(obj)
    if isinstance(obj, torch.optim.Optimizer):
        return {"optimizer": encode(obj.state_dict()), "steps": steps}
    if isinstance(obj, torch.optim.lr_scheduler.LRScheduler):
        return {"scheduler": encode(obj.state_dict())}
    if isinstance(obj, torch.nn.Module):
        return {"training": bool(obj.training),
                "attributes": {key: encode(value) for key, value in vars(obj).items()
                               if not key.startswith("_") and key != "training" and simple(value)},
                # By name, so that a parameter the call replaced (load_state_dict(assign=True)) is seen as new.
                "parameters": {name: (tensor_state(p), parameters_before.get(name) != id(p))
                               for name, p in obj.named_parameters()},
                "buffers": {name: b.detach().clone() for name, b in obj.named_buffers()},
                "hooks": {path: values.hook_counts(module) for path, module in obj.named_modules()}}
    return None


def main(sock, snapshot, module_name: str, close_fds: list[int], limits: list, unreachable: bool = False) -> None:
    """Run in the freshly forked learner process; never returns.

    ``unreachable``: this process is PID 1 of a PID namespace of its own (``LearnerProcess.start``), from where
    neither the judge nor anything else can be seen or signalled.
    """
    try:
        from grader import processes

        processes.die_with_parent()
        for fd in close_fds:  # the judge's channel to the report: never in reach of learner code
            try:
                os.close(fd)
            except OSError:
                pass
        for number in (signal.SIGALRM, signal.SIGINT, signal.SIGTERM):
            signal.signal(number, signal.SIG_DFL)
        # Born with every capability in the judge's user namespace (see processes.own_user_namespace): without
        # them it can neither trace the judge nor open its /proc files.
        processes.drop_capabilities()
        if unreachable:
            os.setsid()  # a session of its own: kill(0, ...) reaches no one else
        host = Host(sock, snapshot, module_name)
        patch_show()
        imported = host.import_file()
        if imported is None:
            from grader.plugin import limit_calls

            for name, first_check, limit in limits:
                limit_calls(host.module, name, first_check, limit, announce=host.announce)
        signal.signal(signal.SIGUSR1, host.say_where)
        host.send({"imported": imported})
        while True:
            try:
                request = framing.receive(sock)
            except framing.ProcessGone:
                break
            host.send(answer(host, request))
    finally:
        flush_output()
        os._exit(0)


def answer(host: Host, request: bytes) -> dict:
    """The reply to one request. Where this process's own machinery raises (``forget``, a backward pass, what
    ``handle`` does around the learner's call), the judge is told so: ending the process instead would have the
    learner told that their code ended it."""
    try:
        return host.handle(request)
    except Exception as exc:  # noqa: BLE001 - learner code's own exceptions are caught in handle, not here
        return {"grader_error": wording.machinery_failed(f"{type(exc).__name__}: {exc}")}


def flush_output() -> None:
    """Write out what learner code printed and its streams still hold (whatever it made of them)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001
            pass


def patch_show() -> None:
    """Note on a Figure that learner code showed it (the judge's copy of the Figure repeats the call).

    Where the sandbox has not imported matplotlib (an exercise graded without plotting, ``Exercise.warm_up``),
    importing it here would cost every learner process half a second: the patch waits for learner code to
    import ``matplotlib.pyplot`` instead.
    """
    if "matplotlib.pyplot" in sys.modules:
        patch_pyplot()
    else:
        sys.meta_path.insert(0, AfterImport("matplotlib.pyplot", patch_pyplot))


def patch_pyplot() -> None:
    from matplotlib import pyplot
    from matplotlib.figure import Figure

    def show(self, *args, **kwargs):
        setattr(self, figures.SHOWN, True)  # nothing to show it on here

    def show_all(*args, **kwargs):
        for number in pyplot.get_fignums():
            show(pyplot.figure(number))

    Figure.show = show
    pyplot.show = show_all


class AfterImport:
    """An import hook that calls ``then()`` once the module ``name`` has been imported, then leaves."""

    def __init__(self, name: str, then):
        self.name, self.then = name, then

    def find_spec(self, fullname: str, path, target=None):
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            load = spec.loader.exec_module

            def exec_module(module):
                load(module)
                self.then()

            spec.loader.exec_module = exec_module
        return spec
