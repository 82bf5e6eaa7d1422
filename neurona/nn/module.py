"""``Module``: the base of every layer and model; ``Parameter``: a tensor a module trains.

Two ways to write a network, one mechanism underneath:

* Keras style: layers learn their input size on the first call (``build(input_shape)``
  creates the weights), so ``nn.Dense(10)`` needs only the output size.
* PyTorch style: subclass ``Module``, assign layers and parameters as attributes in
  ``__init__``, write ``forward``. Assigning a Parameter or a Module registers it.

Registration: an attribute holding a ``Parameter`` is a parameter, one holding a
``Module`` (or a list of Modules) is a child, and ``register_buffer`` declares a
non-trainable array that is saved with the model (running statistics). Parameters
come out of ``parameters()`` in the order they were assigned, children after their
parent's own, so the order is the same on every run.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import re
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Tensor, no_grad
from .initializers import get_initializer
from .regularizers import get_regularizer
from .summary import summarize
from .symbolic import is_symbolic, symbolic_call

_name_counts: dict[str, int] = {}
# Bytes that add_weight may still allocate (None: no limit); set by weight_budget while a model file is rebuilt.
_weight_budget: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("weight_budget", default=None)


class WeightBudgetError(MemoryError):
    """A layer asked for more weight memory than ``weight_budget`` allows."""


@contextlib.contextmanager
def weight_budget(n_bytes: int) -> Iterator[None]:
    """Inside the block, ``add_weight`` refuses (WeightBudgetError) to allocate more than ``n_bytes``
    in all: loading a file builds only the weights the file holds, whatever its architecture asks."""
    token = _weight_budget.set([int(n_bytes)])
    try:
        yield
    finally:
        _weight_budget.reset(token)


# Bumped whenever a Parameter is made or a parameter or module is attached to a module: a trainer
# compares it with the value at its last look to notice parameters added after compile, cheaply.
_structure_version = [0]


def structure_version() -> int:
    """A number that changes whenever a Parameter is created or a parameter/module is attached to a module."""
    return _structure_version[0]


def _snake_case(name: str) -> str:
    name = re.sub(r"(?<=[a-z])([A-Z])", r"_\1", name)
    return re.sub(r"(?<=[A-Z])([A-Z][a-z])", r"_\1", name).lower()


def unique_name(base: str) -> str:
    """``dense``, then ``dense_1``, ``dense_2``... (Keras's automatic layer names)."""
    n = _name_counts.get(base, 0)
    _name_counts[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def reset_names() -> None:
    """Start automatic layer names from ``dense`` again (like Keras's ``clear_session``)."""
    _name_counts.clear()


_shapes_only = [False]


@contextlib.contextmanager
def shapes_only() -> Iterator[None]:
    """Inside the block, ``add_weight`` makes read-only zero weights that take no memory and draw no
    random numbers: for counting the parameters and shapes of a big model (AlexNet at 227x227, VGG)
    in a fraction of a second. Such a model computes with zeros and cannot be trained.

    >>> with nn.shapes_only():
    ...     print(nr.models.alexnet().count_params())
    """
    was = _shapes_only[0]
    _shapes_only[0] = True
    try:
        yield
    finally:
        _shapes_only[0] = was


class Parameter(Tensor):
    """A tensor that a Module owns and an optimizer updates (``requires_grad`` is True).

    ``regularizer`` (optional) is a callable giving a penalty added to the training loss.
    """

    __slots__ = ("regularizer",)

    def __init__(self, data: Any, dtype: Any = None, requires_grad: bool = True, device: str | None = None,
                 name: str | None = None, regularizer: Any = None) -> None:
        super().__init__(data, dtype=dtype, requires_grad=requires_grad, device=device, name=name)
        self.regularizer = regularizer
        _structure_version[0] += 1

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Parameters(list):
    """The list ``Module.parameters()`` returns; it remembers its module, so an optimizer made
    before a lazy model's first call can collect the parameters once they exist."""

    def __init__(self, items: Iterable[Parameter], owner: Module | None = None) -> None:
        super().__init__(items)
        self.owner = owner


def _called_on_a_layer(layer: Module, arg: Any) -> None:
    """The functional API misused: a layer called on a layer or a class instead of a tensor."""
    what = f"the class {arg.__name__} itself" if isinstance(arg, type) else \
        f"a layer ({type(arg).__name__} '{arg.name}'), not on its output"
    hint = ("call it first: inputs = nn.Input(shape=(...)), then x = layer(inputs)" if arg.__name__ == "Input"
            else "make an instance and call it on a tensor") if isinstance(arg, type) else \
        "call the first layer on a tensor (x = first(inputs)), then this one on x"
    raise TypeError(f"{type(layer).__name__} layer '{layer.name}' was called on {what}. Expected a tensor, an "
                    f"array or a symbolic tensor from nn.Input: {hint}")


class Module:
    """Base class of layers and models. Subclasses write ``forward`` and, for lazy weights, ``build``."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Make every ``build`` a subclass defines mark the module built, like Keras does, so that
        ``layer.build(shape)`` called by hand is not repeated (and its weights replaced) at the first call."""
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("build")
        if build is not None and not getattr(build, "_marks_built", False):
            @functools.wraps(build)
            def marking_build(self: Module, input_shape: Any) -> None:
                build(self, input_shape)
                self.__dict__["weights_built"] = True

            marking_build._marks_built = True
            cls.build = marking_build

    def __init__(self, name: str | None = None, input_shape: tuple[int, ...] | None = None) -> None:
        """``name``: a label (automatic when omitted); ``input_shape``: the shape of one sample
        (no batch axis), as Keras's ``input_shape=``, so the first layer of a Sequential
        builds the whole model at once."""
        d = self.__dict__
        d["_parameters"] = {}
        d["_buffers"] = {}
        d["_modules"] = {}
        d["training"] = True
        d["built"] = False
        d["input_shape"] = None
        d["output_shape"] = None
        d["_trainable"] = True
        d["name"] = name or unique_name(_snake_case(type(self).__name__))
        d["declared_input_shape"] = None if input_shape is None else tuple(int(s) for s in input_shape)

    # ---------------------------------------------------------------- registration
    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError(f"call super().__init__() in {type(self).__name__}.__init__ before assigning {name!r}")
        for registry in (d["_parameters"], d["_modules"]):
            registry.pop(name, None)
        if isinstance(value, Parameter):
            if value.name is None:
                value.name = name
            d["_parameters"][name] = value
            _structure_version[0] += 1
        elif isinstance(value, Module):
            d["_modules"][name] = value
            _structure_version[0] += 1
        elif isinstance(value, (list, tuple)) and value and all(isinstance(v, Module) for v in value):
            value = ModuleList(value)
            d["_modules"][name] = value
        elif name in d["_buffers"]:
            value = self._as_buffer(name, value)
            d["_buffers"][name] = True
        object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        """Only for names not found otherwise: ``layer.output`` / ``layer.input``, the symbolic tensors
        of the layer's first call in a functional model (as Keras: ``nn.Model(x, base.get_layer("pool").output)``)."""
        if name in ("output", "input"):
            nodes = self.__dict__.get("_nodes")
            if nodes:
                node = nodes[0]
                return node.out_structure if name == "output" or node.inputs is None else node.inputs
            raise AttributeError(f"layer '{self.__dict__.get('name')}' has no {name}: a layer's input and output "
                                 "are defined once it is called on symbolic tensors (from nn.Input)")
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._modules, self._buffers):
            registry.pop(name, None)
        object.__delattr__(self, name)

    def _as_buffer(self, name: str, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, Tensor):
            value = value.data
        return value if hasattr(value, "shape") else np.asarray(value)

    def register_buffer(self, name: str, value: Any) -> None:
        """Declare a non-trainable array saved with the model (e.g. running statistics)."""
        self._buffers[name] = True
        object.__setattr__(self, name, self._as_buffer(name, value))

    def add_weight(self, name: str, shape: tuple[int, ...], initializer: Any = "glorot_uniform",
                   regularizer: Any = None, trainable: bool = True, dtype: Any = None) -> Parameter:
        """Create, initialise and register a parameter (Keras's ``add_weight``)."""
        init = get_initializer(initializer)
        dtype = backend.get_default_dtype() if dtype is None else np.dtype(dtype)
        shape = tuple(int(s) for s in shape)
        budget = _weight_budget.get()
        if budget is not None:
            need = int(np.prod(shape, dtype=object)) * dtype.itemsize
            if need > budget[0]:
                raise WeightBudgetError(f"{self.name}: weight {name!r} of shape {shape} needs {need} bytes, "
                                        f"more than the {budget[0]} bytes left")
            budget[0] -= need
        data = np.broadcast_to(np.zeros((), dtype), shape) if _shapes_only[0] else init(shape, dtype=dtype)
        p = Parameter(data, dtype=dtype, requires_grad=trainable and self._trainable, name=name,
                      regularizer=get_regularizer(regularizer))
        setattr(self, name, p)
        return p

    # ---------------------------------------------------------------- calling
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if args and is_symbolic(args[0]):  # a functional model being written: see nn/symbolic.py
            return symbolic_call(self, args, kwargs)
        if self.built:
            return self.forward(*args, **kwargs)
        return self._first_call(*args, **kwargs)

    def call_on_values(self, *args: Any, **kwargs: Any) -> Any:
        """Call on real tensors (never symbolic): what ``__call__`` does with data."""
        if self.built:
            return self.forward(*args, **kwargs)
        return self._first_call(*args, **kwargs)

    def _first_call(self, *args: Any, **kwargs: Any) -> Any:
        if args and (isinstance(args[0], Module) or isinstance(args[0], type)):
            _called_on_a_layer(self, args[0])
        shape = tuple(args[0].shape) if args and hasattr(args[0], "shape") else None
        if shape is not None and type(self).build is not Module.build and not self.__dict__.get("weights_built"):
            self.build(shape)
        out = self.forward(*args, **kwargs)
        d = self.__dict__
        d["built"] = True
        d["input_shape"] = shape
        d["output_shape"] = tuple(out.shape) if hasattr(out, "shape") else None
        return out

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        """Create the weights for inputs of this shape (batch axis first, may be None).

        Layers override this. For a model, the default runs one dummy batch through
        it in eval mode, which builds every layer inside.
        """
        shape = tuple(1 if s is None else int(s) for s in input_shape)
        xp = backend.array_module()
        was_training = self.training
        self.eval()
        with no_grad():
            self(Tensor(xp.zeros(shape, dtype=backend.get_default_dtype())))
        self.train(was_training)
        self.__dict__["input_shape"] = (None,) + shape[1:]

    # ---------------------------------------------------------------- traversal
    def named_children(self) -> Iterator[tuple[str, Module]]:
        yield from self._modules.items()

    def children(self) -> Iterator[Module]:
        yield from self._modules.values()

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every descendant, depth first, with dotted paths."""
        seen: set[int] = set()
        stack = [(prefix, self)]
        while stack:
            path, m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            yield path, m
            kids = [(f"{path}.{n}" if path else n, c) for n, c in m._modules.items()]
            stack.extend(reversed(kids))

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """(path, parameter) pairs, each parameter once, in registration order."""
        seen: set[int] = set()
        for path, m in self.named_modules(prefix):
            for n, p in m._parameters.items():
                if id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{path}.{n}" if path else n), p

    def parameters(self, trainable_only: bool = False) -> Parameters:
        """All parameters (or only those with requires_grad) as a list in a fixed order."""
        ps = (p for _, p in self.named_parameters() if p.requires_grad or not trainable_only)
        return Parameters(ps, owner=self)

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, Any]]:
        for path, m in self.named_modules(prefix):
            for n in m._buffers:
                yield (f"{path}.{n}" if path else n), getattr(m, n)

    def count_params(self, trainable_only: bool = False) -> int:
        return int(sum(p.size for p in self.parameters(trainable_only)))

    # ---------------------------------------------------------------- modes
    def train(self, mode: bool = True) -> Module:
        """Training mode: dropout and noise active, batch norm on batch statistics."""
        for m in self.modules():
            m.__dict__["training"] = bool(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: dropout and noise off, batch norm on running statistics."""
        return self.train(False)

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        """Freeze (False) or unfreeze a layer and everything inside it: frozen parameters get no gradient."""
        for m in self.modules():
            m.__dict__["_trainable"] = bool(value)
            for p in m._parameters.values():
                p.requires_grad = bool(value)

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    def regularization_loss(self) -> Tensor | None:
        """Sum of the penalties of every regularised parameter (None when there are none)."""
        total = None
        for p in self.parameters():
            if p.regularizer is not None and p.requires_grad:
                term = p.regularizer(p)
                total = term if total is None else total + term
        return total

    # ---------------------------------------------------------------- devices
    def to(self, device: str) -> Module:
        """Move every parameter and buffer to 'cpu' or 'gpu', in place; returns self."""
        device = backend.check_device(device)
        for p in self.parameters():
            if p.device != device:
                p.data = backend.to_device(p.data, device)
                p.grad = None if p.grad is None else backend.to_device(p.grad, device)
                p._grad_view = None
        for m in self.modules():
            for n in m._buffers:
                value = getattr(m, n)
                if value is not None:
                    object.__setattr__(m, n, backend.to_device(value, device))
        return self

    # ---------------------------------------------------------------- state
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer as NumPy arrays, keyed by dotted path."""
        state = {k: backend.to_numpy(p.data).copy() for k, p in self.named_parameters()}
        for k, b in self.named_buffers():
            if b is not None:
                state[k] = backend.to_numpy(b).copy()
        return state

    def load_state_dict(self, state: dict[str, Any], strict: bool = True) -> None:
        """Copy values into the parameters and buffers in place (same shapes required).

        A model not built yet builds its kernel layers (Dense, Conv...) from the state's kernel
        shapes first, so ``Net().load_state_dict(nr.load(path))`` works as in PyTorch.
        """
        params = dict(self.named_parameters())
        if not params and state:
            self._build_from_state(state)
            params = dict(self.named_parameters())
        buffers = {k: (m, k.rsplit(".", 1)[-1]) for k, m in self._buffer_owners()}
        if not params and not buffers and state:
            raise RuntimeError(
                f"{self.name} has no weights yet: build it first (model.build(input_shape) or call it on a batch)"
            )
        missing = [k for k in params if k not in state]
        missing += [k for k, (m, n) in buffers.items() if k not in state and getattr(m, n) is not None]
        unexpected = [k for k in state if k not in params and k not in buffers]
        if strict and (missing or unexpected):
            raise KeyError(f"load_state_dict: missing keys {missing}, unexpected keys {unexpected}")
        for k, value in state.items():
            if k in params:
                p = params[k]
                value = np.asarray(value) if not hasattr(value, "__cuda_array_interface__") else value
                if tuple(value.shape) != p.shape:
                    raise ValueError(f"load_state_dict: {k} has shape {p.shape} in the model but {tuple(value.shape)} "
                                     "in the state")
                p.data[...] = backend.to_device(value, p.device) if p.device != "cpu" else value
            elif k in buffers:
                m, n = buffers[k]
                old = getattr(m, n)
                device = backend.device_of(old) if old is not None else backend.get_device()
                object.__setattr__(m, n, backend.to_device(np.array(value), device))

    def _build_from_state(self, state: dict[str, Any]) -> None:
        """Build each unbuilt layer whose ``<path>.kernel`` is in ``state``: its input size is the
        kernel's second-to-last axis (Dense (n_in, units), Conv2D (kh, kw, C_in, filters))."""
        for prefix, m in self.named_modules():
            key = f"{prefix}.kernel" if prefix else "kernel"
            if key not in state or m.__dict__.get("weights_built") or type(m).build is Module.build:
                continue
            shape = tuple(state[key].shape)
            if len(shape) >= 2:
                m.build((None,) * (len(shape) - 1) + (int(shape[-2]),))

    def _buffer_owners(self) -> Iterator[tuple[str, Module]]:
        for path, m in self.named_modules():
            for n in m._buffers:
                yield (f"{path}.{n}" if path else n), m

    # ---------------------------------------------------------------- description
    def get_config(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this layer (for saving the architecture as JSON)."""
        raise NotImplementedError(
            f"{type(self).__name__} does not describe its architecture (no get_config): "
            "save its weights with save_weights() and rebuild it from your code"
        )

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Module:
        """Rebuild from ``get_config()``; containers pass ``custom_objects`` on to their children."""
        return cls(**config)

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        kids = "".join(f"\n  ({n}): " + repr(c).replace("\n", "\n  ") for n, c in self._modules.items())
        return f"{type(self).__name__}({self.extra_repr()}{kids}{chr(10) if kids else ''})"

    def summary(self, print_fn: Any = print) -> str:
        """A table of layers, output shapes and parameter counts, like Keras's ``model.summary()``."""
        text = summarize(self)
        if print_fn is not None:
            print_fn(text)
        return text

    # ---------------------------------------------------------------- Keras-style training
    # neurona.training sits above nn and imports it, so each method imports it when called.
    def compile(self, optimizer: Any = "adam", loss: Any = None, metrics: Any = None,
                weighted_metrics: Any = None, jit: bool = False) -> None:
        """Choose the optimizer (a name or an Optimizer, with or without parameters), the loss
        (a name, a Loss or a function) and the metrics (names or Metric objects) for fit/evaluate.
        As Keras, ``metrics`` ignore sample and class weights; ``weighted_metrics`` apply them.
        A model may output logits or end in softmax/sigmoid: see ``neurona.losses``.
        ``jit=True`` runs each training step as a traced, optimised graph (``neurona.graphs``)."""
        from .. import training  # imported on use: training sits above nn

        training.compile_model(self, optimizer, loss, metrics, weighted_metrics, jit=jit)

    def fit(self, x: Any, y: Any = None, epochs: int = 1, batch_size: int = 32, **kwargs: Any) -> Any:
        """Train and return a History; arguments as Keras's (see ``neurona.training.fit``)."""
        from .. import training  # imported on use: training sits above nn

        return training.get_trainer(self).fit(x, y, epochs=epochs, batch_size=batch_size, **kwargs)

    def evaluate(self, x: Any, y: Any, batch_size: int = 32, verbose: Any = 0, **kwargs: Any) -> Any:
        """Loss and metrics on (x, y) in eval mode, as Keras: the loss (a float) without metrics, else
        ``[loss, *metrics]``; ``return_dict=True`` gives {"loss": ..., "accuracy": ...}."""
        from .. import training  # imported on use: training sits above nn

        return training.get_trainer(self).evaluate(x, y, batch_size=batch_size, verbose=verbose, **kwargs)

    def predict(self, x: Any, batch_size: int = 32, verbose: Any = 0) -> np.ndarray:
        """The outputs for x as a NumPy array, in batches, in eval mode (logits if the model ends without one)."""
        from .. import training  # imported on use: training sits above nn

        return training.predict(self, x, batch_size=batch_size, verbose=verbose)

    def train_step(self, x_batch: Any, y_batch: Any, sample_weight: Any = None) -> dict[str, float]:
        """One optimizer step on one batch (needs compile): {"loss": ..., metrics...}."""
        from .. import training  # imported on use: training sits above nn

        return training.get_trainer(self).train_step(x_batch, y_batch, sample_weight)

    def train_on_batch(self, x: Any, y: Any, sample_weight: Any = None, reset_metrics: bool = True,
                       return_dict: bool = False) -> Any:
        """One optimizer step on one batch, returned as ``evaluate`` returns (Keras's ``train_on_batch``):
        the loss, or ``[loss, *metrics]``, or the dict with ``return_dict=True``. ``reset_metrics=False``
        keeps the metrics running over successive calls (tf.keras's argument)."""
        from .. import training  # imported on use: training sits above nn

        if reset_metrics:
            training.get_trainer(self).reset_metrics()
        return training.keras_result(self.train_step(x, y, sample_weight), return_dict)

    def reset_metrics(self) -> None:
        """Start the compiled metrics afresh (train_step's running values), as Keras's ``reset_metrics``."""
        from .. import training  # imported on use: training sits above nn

        training.get_trainer(self).reset_metrics()

    def test_on_batch(self, x: Any, y: Any, sample_weight: Any = None, return_dict: bool = False) -> Any:
        """Loss and metrics of one batch in eval mode, no update (Keras's ``test_on_batch``);
        returned as ``evaluate`` returns them."""
        return self.evaluate(x, y, batch_size=2**31 - 1, sample_weight=sample_weight, return_dict=return_dict)

    def save(self, path: str, include_optimizer: bool = True, metadata: dict[str, Any] | None = None) -> None:
        """Write architecture, weights (and optimizer state) to exactly ``path`` (``*.neurona``); atomic.

        ``metadata``: JSON-friendly facts to keep with the model (class names, the data it was
        trained on); ``nr.load_model`` gives them back as ``model.metadata``."""
        from .. import training  # imported on use: training sits above nn

        training.save_model(self, path, include_optimizer=include_optimizer, metadata=metadata)

    def save_weights(self, path: str) -> None:
        """Write the weights (parameters and buffers) to ``path`` as npz; atomic."""
        from .. import training  # imported on use: training sits above nn

        training.save_weights(self, path)

    def load_weights(self, path: str) -> None:
        """Load weights written by ``save_weights`` (or from a ``.neurona`` file) into this built model."""
        from .. import training  # imported on use: training sits above nn

        training.load_weights(self, path)

    def export(self, path: str, opset: int | None = None) -> None:
        """Write this model as an ONNX inference graph to exactly ``path`` (``*.onnx``); atomic.

        Inputs and outputs keep neurona's layout (images (N, H, W, C)); see docs/ONNX.md.
        Needs the onnx extra: ``pip install neurona[onnx]``."""
        from ..graphs.onnx import DEFAULT_OPSET, export_onnx  # imported on use: graphs sits above nn

        export_onnx(self, path, DEFAULT_OPSET if opset is None else opset)


class ModuleList(Module):
    """A list of modules whose parameters belong to the owner (children named "0", "1", ...).

    Assigning a plain list of modules to an attribute wraps it in a ModuleList.
    """

    def __init__(self, modules: Iterable[Module] = (), name: str | None = None) -> None:
        super().__init__(name=name)
        for m in modules:
            self.append(m)

    def append(self, module: Module) -> ModuleList:
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList holds Modules. Received: {type(module).__name__}")
        self._modules[str(len(self._modules))] = module
        return self

    def __getitem__(self, i: int) -> Module:
        return list(self._modules.values())[i]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("a ModuleList is a container: call its modules, not the list")


def serialize_layer(layer: Module) -> dict[str, Any]:
    """{"class": class name, "config": constructor arguments}: a layer as JSON-friendly data."""
    return {"class": type(layer).__name__, "config": layer.get_config()}


def find_layer_class(name: str, custom_objects: dict[str, Any] | None = None) -> type:
    """The Module subclass called ``name``: from ``custom_objects`` first, else any loaded subclass."""
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    stack = [Module]
    while stack:
        cls = stack.pop()
        if cls.__name__ == name:
            return cls
        stack.extend(cls.__subclasses__())
    raise ValueError(f"unknown layer class {name!r}: import the module that defines it, or pass "
                     f"custom_objects={{{name!r}: {name}}}")


def deserialize_layer(spec: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Module:
    """Rebuild a layer from ``serialize_layer``'s output."""
    if not isinstance(spec, dict) or "class" not in spec:
        raise ValueError(f"a layer description needs a 'class' key. Received: {spec!r}")
    cls = find_layer_class(spec["class"], custom_objects)
    return cls.from_config(spec.get("config", {}), custom_objects=custom_objects)
