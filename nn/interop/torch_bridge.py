"""``nn.to_torch`` and ``nn.from_torch``: the same layer tree in PyTorch, and back.

One table drives both directions: one entry per layer type, naming our class, the
torch class, and the constructor settings the two share (read from attributes of
the same name). Converting a module builds the other side's layer from those
settings, then copies every parameter and buffer by name (a copy, never shared
memory, in the same dtype) and converts its child modules the same way. A layer
is supported by adding its entry; ``register`` adds one for your own modules.

PyTorch is optional: it is imported when a conversion runs, and a missing torch
raises an ImportError that says how to install it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from autograd import defaults

from ..module import Module, Parameter, Sequential

if TYPE_CHECKING:  # the annotations only; torch is imported when a conversion runs
    import torch

__all__ = ["to_torch", "from_torch", "register", "Entry", "TABLE", "INSTALL_HINT"]

INSTALL_HINT = 'pip install torch==2.13.0 (a CPU build is enough)'

# A function that converts a child module: convert(child, name) -> the other side's module.
Convert = Callable[[Any, str], Any]


def require_torch(caller: str) -> ModuleType:
    """The ``torch`` module, or an ImportError naming ``caller`` and how to install torch."""
    try:
        import torch
    except ImportError as exc:
        raise ImportError(f"{caller} needs PyTorch, which is not installed: "
                          f"{INSTALL_HINT}.") from exc
    return torch


@dataclass(frozen=True)
class Entry:
    """One layer type in both libraries.

    ours, theirs: the classes, or dotted paths resolved when first needed
        ("nn.Linear", "torch.nn.Linear"), so that an entry may name a layer that an older
        version of either library does not have (the entry is then skipped).
    settings: constructor keywords, read from the attributes of the same name on the
        source module and passed to the target's class (``bias`` passes whether the
        source has a bias).
    optional: settings that a source may lack (the target's default then applies).
    torch_only: torch settings that nn does not have, with the one value nn's layer
        implements; from_torch refuses a torch layer set otherwise instead of silently
        computing something else.
    to_torch, from_torch: builders for containers whose children are constructor
        arguments (Sequential): build(module, convert) -> the other side's module.
    derived: settings that neither side stores under the constructor's name, computed
        from the source module (either side's): derived(module) -> {keyword: value}.
    """

    ours: type | str
    theirs: type | str
    settings: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    torch_only: dict[str, Any] = field(default_factory=dict)
    to_torch: Callable[[Any, Convert], Any] | None = None
    from_torch: Callable[[Any, Convert], Any] | None = None
    derived: Callable[[Any], dict[str, Any]] | None = None


def _sequential_to_torch(m: Sequential, convert: Convert) -> Any:
    import torch

    return torch.nn.Sequential(*[convert(child, str(i)) for i, child in enumerate(m)])


def _sequential_from_torch(t: Any, convert: Convert) -> Sequential:
    # a torch Sequential built from an OrderedDict has named children: ours are numbered
    return Sequential(*[convert(child, name) for name, child in t.named_children()])


def _attention_settings(m: Any) -> dict[str, Any]:
    """MultiheadAttention's switches, read from what either side holds."""
    return {"bias": m.in_proj_bias is not None, "add_bias_kv": m.bias_k is not None}


def _transformer_layer_settings(m: Any) -> dict[str, Any]:
    """A transformer encoder or decoder layer's constructor arguments, read from its
    children (neither side stores d_model, nhead, ...)."""
    from .. import functional as F

    names = {F.relu: "relu", F.gelu: "gelu"}
    if not isinstance(m, Module):  # a torch layer: torch's functions (or its GELU/ReLU)
        import torch

        names = {torch.nn.functional.relu: "relu", torch.nn.functional.gelu: "gelu"}
    name = names.get(m.activation)
    if name is None:
        raise TypeError(f"{type(m).__name__}: a custom activation ({m.activation!r}) has no "
                        "counterpart on the other side; build the layer with 'relu' or 'gelu'.")
    attn = m.self_attn
    return dict(d_model=attn.embed_dim, nhead=attn.num_heads,
                dim_feedforward=m.linear1.out_features, dropout=m.dropout.p,
                activation=name, layer_norm_eps=m.norm1.eps, batch_first=attn.batch_first,
                norm_first=m.norm_first, bias=m.linear1.bias is not None)


def _stack_builder(kind: str, library: str) -> Callable[[Any, Convert], Any]:
    """A builder for TransformerEncoder / TransformerDecoder: the converted layers (each
    its own weights) and the converted final norm."""

    def build(m: Any, convert: Convert) -> Any:
        layers = [convert(layer, f"layers.{i}") for i, layer in enumerate(m.layers)]
        norm = None if m.norm is None else convert(m.norm, "norm")
        if library == "torch":
            import torch

            extra = {"enable_nested_tensor": False} if kind == "TransformerEncoder" else {}
            target = getattr(torch.nn, kind)(layers[0], len(layers), norm=norm, **extra)
            target.layers = torch.nn.ModuleList(layers)
        else:
            from .. import ModuleList, transformer

            target = getattr(transformer, kind)(layers[0], len(layers), norm=norm)
            target.layers = ModuleList(layers)
        return target

    return build


def _transformer_builder(library: str) -> Callable[[Any, Convert], Any]:
    """A builder for nn.Transformer: its encoder and decoder converted (after construction,
    whose initialisation would overwrite them)."""

    def build(m: Any, convert: Convert) -> Any:
        if library == "torch":
            import torch

            target = torch.nn.Transformer(m.d_model, m.nhead, custom_encoder=torch.nn.Identity(),
                                          custom_decoder=torch.nn.Identity(),
                                          batch_first=m.batch_first)
        else:
            from .. import Identity, transformer

            with _rng_untouched():
                target = transformer.Transformer(m.d_model, m.nhead, custom_encoder=Identity(),
                                                 custom_decoder=Identity(),
                                                 batch_first=m.batch_first)
        target.encoder, target.decoder = convert(m.encoder, "encoder"), convert(m.decoder,
                                                                                "decoder")
        return target

    return build


_POOL = ("kernel_size", "stride", "padding")
_BATCH_NORM = ("num_features", "eps", "momentum", "affine", "track_running_stats")
_RNN = ("input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout",
        "bidirectional")

# The table: one entry per layer type (ours -> torch and back).
TABLE: list[Entry] = [
    Entry("nn.Sequential", "torch.nn.Sequential",
          to_torch=_sequential_to_torch, from_torch=_sequential_from_torch),
    Entry("nn.MLP", "nn.interop._torch_modules.MLP",
          ("sizes", "activation", "output_activation")),
    Entry("nn.Linear", "torch.nn.Linear", ("in_features", "out_features", "bias")),
    Entry("nn.Tanh", "torch.nn.Tanh"),
    Entry("nn.ReLU", "torch.nn.ReLU"),
    Entry("nn.Sigmoid", "torch.nn.Sigmoid"),
    Entry("nn.Identity", "torch.nn.Identity"),
    Entry("nn.Dropout", "torch.nn.Dropout", ("p",)),
    Entry("nn.Flatten", "torch.nn.Flatten", ("start_dim", "end_dim")),
    Entry("nn.Conv2d", "torch.nn.Conv2d",
          ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation",
           "groups", "bias"), torch_only={"padding_mode": "zeros"}),
    Entry("nn.MaxPool2d", "torch.nn.MaxPool2d", _POOL,
          torch_only={"dilation": 1, "ceil_mode": False, "return_indices": False}),
    Entry("nn.AvgPool2d", "torch.nn.AvgPool2d", _POOL,
          torch_only={"ceil_mode": False, "count_include_pad": True, "divisor_override": None}),
    Entry("nn.BatchNorm1d", "torch.nn.BatchNorm1d", _BATCH_NORM),
    Entry("nn.BatchNorm2d", "torch.nn.BatchNorm2d", _BATCH_NORM),
    Entry("nn.LayerNorm", "torch.nn.LayerNorm",
          ("normalized_shape", "eps", "elementwise_affine", "bias"), optional=("bias",)),
    Entry("nn.Embedding", "torch.nn.Embedding", ("num_embeddings", "embedding_dim"),
          torch_only={"padding_idx": None, "max_norm": None, "scale_grad_by_freq": False,
                      "sparse": False}),
    Entry("nn.LeakyReLU", "torch.nn.LeakyReLU", ("negative_slope",)),
    Entry("nn.GELU", "torch.nn.GELU", ("approximate",), optional=("approximate",)),
    Entry("nn.Softmax", "torch.nn.Softmax", ("dim",)),
    Entry("nn.LogSoftmax", "torch.nn.LogSoftmax", ("dim",)),
    Entry("nn.RMSNorm", "torch.nn.RMSNorm", ("normalized_shape", "eps", "elementwise_affine")),
    Entry("nn.RNN", "torch.nn.RNN", _RNN + ("nonlinearity",)),
    Entry("nn.GRU", "torch.nn.GRU", _RNN),
    Entry("nn.LSTM", "torch.nn.LSTM", _RNN, torch_only={"proj_size": 0}),
    Entry("nn.RNNCell", "torch.nn.RNNCell", ("input_size", "hidden_size", "bias", "nonlinearity")),
    Entry("nn.GRUCell", "torch.nn.GRUCell", ("input_size", "hidden_size", "bias")),
    Entry("nn.LSTMCell", "torch.nn.LSTMCell", ("input_size", "hidden_size", "bias")),
    Entry("nn.MultiheadAttention", "torch.nn.MultiheadAttention",
          ("embed_dim", "num_heads", "dropout", "kdim", "vdim", "add_zero_attn", "batch_first"),
          derived=_attention_settings),
    # torch's MultiheadAttention holds its out_proj as this Linear subclass (from torch only:
    # nn.Linear goes to torch.nn.Linear, the entry above)
    Entry("nn.Linear", "torch.nn.modules.linear.NonDynamicallyQuantizableLinear",
          ("in_features", "out_features", "bias")),
    Entry("nn.TransformerEncoderLayer", "torch.nn.TransformerEncoderLayer",
          derived=_transformer_layer_settings),
    Entry("nn.TransformerDecoderLayer", "torch.nn.TransformerDecoderLayer",
          derived=_transformer_layer_settings),
    Entry("nn.TransformerEncoder", "torch.nn.TransformerEncoder",
          to_torch=_stack_builder("TransformerEncoder", "torch"),
          from_torch=_stack_builder("TransformerEncoder", "nn")),
    Entry("nn.TransformerDecoder", "torch.nn.TransformerDecoder",
          to_torch=_stack_builder("TransformerDecoder", "torch"),
          from_torch=_stack_builder("TransformerDecoder", "nn")),
    Entry("nn.Transformer", "torch.nn.Transformer",
          to_torch=_transformer_builder("torch"), from_torch=_transformer_builder("nn")),
]

_REGISTERED: list[Entry] = []  # entries added with register(): they take precedence


def register(ours: type, theirs: type, settings: tuple[str, ...] = (),
             **options: Any) -> None:
    """Add a layer type of your own to the table, so that to_torch / from_torch translate it.

    ``ours`` is an ``nn.Module`` subclass and ``theirs`` the torch.nn.Module that computes
    the same function, with the same attribute names for parameters, buffers and child
    modules (a list of modules on our side is a ``torch.nn.ModuleList`` on theirs).
    ``settings`` are the constructor keywords both classes take and store under the same
    names. ``options`` are the other fields of ``Entry``.
    """
    if not (isinstance(ours, type) and issubclass(ours, Module)):
        raise TypeError(f"register: ours must be an nn.Module subclass, got {ours!r}.")
    _REGISTERED.insert(0, Entry(ours, theirs, tuple(settings), **options))


def _resolve(target: type | str) -> type | None:
    """A class from a dotted path ("torch.nn.Linear"), or None when it does not exist."""
    if isinstance(target, type):
        return target
    module_name, _, name = target.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), name, None)
    except ImportError:
        return None


def _tables() -> tuple[dict[type, Entry], dict[type, Entry]]:
    """{our class: entry}, {torch class: entry} for the entries both libraries have."""
    to_torch_table: dict[type, Entry] = {}
    from_torch_table: dict[type, Entry] = {}
    for entry in reversed(_REGISTERED + TABLE):  # earlier entries win
        ours, theirs = _resolve(entry.ours), _resolve(entry.theirs)
        if ours is not None and theirs is not None:
            to_torch_table[ours] = entry
            from_torch_table[theirs] = entry
    return to_torch_table, from_torch_table


# ---------------------------------------------------------------------------- the two walks


def to_torch(model: Module, example_input: Any = None) -> "torch.nn.Module":
    """The equivalent ``torch.nn.Module``, parameters and buffers copied.

    A tree of the table's layer types (Sequential, MLP, Linear, the activations, Dropout,
    Flatten, convolution, pooling, normalisation, Embedding... or ones added with
    ``nn.interop.register``) becomes the same tree of torch layers. Any other Module (a
    custom forward) is traced (``nn.interop.trace``): its forward runs on
    ``example_input`` (an array or Tensor, batch first, or a tuple of them; made up from
    the first layer when None) and again at a larger batch (and sequence) size, and the
    recorded ops become a ``torch.fx.GraphModule`` that works at any batch size and
    sequence length (print its ``.code``). The table's layers inside stay whole torch
    layers. A forward that branches on tensor values, or uses an op with no torch
    counterpart, raises, naming where. Either way the copy keeps the dtypes and the
    train/eval mode, and its ``state_dict`` has the same keys as ours (shared parameters
    stay shared). ``nn.MLP`` becomes ``nn.interop._torch_modules.MLP``, a torch module
    holding its Linear layers in a ModuleList ``layers``.
    """
    torch = require_torch("nn.to_torch")
    if not isinstance(model, Module):
        raise TypeError(f"nn.to_torch: expected an nn.Module, got {type(model).__name__}.")
    table, _ = _tables()
    if not _translatable(model, table):
        from .trace import trace_to_torch

        leaves = {cls for cls, entry in table.items() if entry.to_torch is None}
        return trace_to_torch(model, example_input, leaves,
                              lambda m, path: _convert_tree(torch, m, table, path))
    return _convert_tree(torch, model, table, "")


def _translatable(model: Module, table: dict) -> bool:
    """True when every module of the tree is a table layer (the fast path applies); a
    ModuleList or ModuleDict counts as its elements (a table layer that holds one, as
    TransformerEncoder its layers, converts them itself)."""
    from ..containers import ModuleDict, ModuleList

    return type(model) in table and all(
        type(m) in table or isinstance(m, (ModuleList, ModuleDict)) for m in model.modules())


def _convert_tree(torch: ModuleType, model: Module, table: dict, root: str) -> Any:
    """The table's translation of a tree of table layers."""

    def convert(module: Any, path: str) -> Any:
        entry = table.get(type(module))
        if entry is None:
            raise TypeError(_untranslatable("nn.to_torch", module, path, "torch"))
        if entry.to_torch is not None:
            target = entry.to_torch(module, lambda child, name: convert(child, _join(path, name)))
        else:
            settings = _settings(module, entry, path, "nn.to_torch")
            if entry.derived is not None:
                settings.update(entry.derived(module))
            with torch.random.fork_rng(devices=[]):  # the torch layer's init draws nothing
                target = _resolve(entry.theirs)(**settings)
            _copy_to_torch(torch, module, target, path, convert)
        target.training = module.training
        return target

    return convert(model, root)


def from_torch(module: "torch.nn.Module") -> Module:
    """The equivalent ``nn.Module`` of a torch module, for every layer type nn has.

    The reverse of ``to_torch``: parameters and buffers copied (never shared) in their
    dtype, children converted, the train/eval mode kept. A torch setting that nn's layer
    does not implement (``MaxPool2d(ceil_mode=True)``, ``Conv2d(padding_mode='reflect')``...)
    raises, as does a torch layer nn does not have, naming it. A torch Sequential whose
    children have names gets numbered children (state_dict keys ``0.weight``...).

    A torch module with a custom forward (a residual block, an attention block) is traced
    by torch.fx: its layers are converted by the table, its parameters copied at the same
    names, and the calls of its forward mapped to the engine's functions and Tensor
    methods (``nn.interop.fx_import``); a call with no counterpart is refused by name.
    """
    torch = require_torch("nn.from_torch")
    if not isinstance(module, torch.nn.Module):
        raise TypeError(
            f"nn.from_torch: expected a torch.nn.Module, got {type(module).__name__}.")
    _, table = _tables()
    try:  # the layer tree first; a module it does not know: torch.fx's graph
        return _convert_from_torch(torch, module, table, "")
    except TypeError as exc:
        if "cannot translate" not in str(exc) or isinstance(module, tuple(table)) and \
                not isinstance(module, torch.nn.Sequential):
            raise
    from .fx_import import from_fx

    return from_fx(module, lambda layer, path: _convert_from_torch(torch, layer, table, path))


def _convert_from_torch(torch: ModuleType, module: Any, table: dict, root: str) -> Module:
    """The table's translation of a tree of torch layers it knows."""

    def convert(source: Any, path: str) -> Any:
        entry = table.get(type(source))
        if entry is None:
            raise TypeError(_untranslatable("nn.from_torch", source, path, "nn"))
        _check_torch_only(source, entry, path)
        if entry.from_torch is not None:
            target = entry.from_torch(source, lambda child, name: convert(child, _join(path, name)))
        else:
            settings = _settings(source, entry, path, "nn.from_torch")
            if entry.derived is not None:
                settings.update(entry.derived(source))
            with _rng_untouched():  # our layer's init must not move the user's random stream
                target = _resolve(entry.ours)(**settings)
            _copy_from_torch(torch, source, target, path, convert)
        target.training = source.training
        return target

    return convert(module, root)


# ---------------------------------------------------------------------------- settings


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _where(path: str) -> str:
    return f"`{path}`" if path else "the model"


def _settings(source: Any, entry: Entry, path: str, caller: str) -> dict[str, Any]:
    values = {}
    for name in entry.settings:
        if not hasattr(source, name):
            if name in entry.optional:
                continue
            raise AttributeError(
                f"{caller}: {type(source).__name__} at {_where(path)} has no attribute "
                f"{name!r}, which its table entry reads; the entry and the layer disagree.")
        value = getattr(source, name)
        if name == "bias":  # a bias tensor, or None; constructors take a bool
            value = value is not None and value is not False
        values[name] = value
    return values


def _check_torch_only(source: Any, entry: Entry, path: str) -> None:
    for name, implemented in entry.torch_only.items():
        value = getattr(source, name, implemented)
        values = value if isinstance(value, tuple) else (value,)
        if any(v != implemented for v in values):
            raise ValueError(
                f"nn.from_torch: {type(source).__name__} at {_where(path)} has {name}={value!r}, "
                f"but nn's {type(source).__name__} implements only {name}={implemented!r}; "
                "change the torch layer or write that variant in nn.")


def _untranslatable(caller: str, module: Any, path: str, other: str) -> str:
    kind = type(module).__name__
    if caller == "nn.to_torch":
        what = (f"{kind} is a custom Module: its forward is Python code that cannot be "
                "translated. Convert its children instead (nn.to_torch on each) and write "
                f"{kind}'s forward in a torch.nn.Module that holds them, or register that "
                f"torch class with nn.interop.register({kind}, Torch{kind}) so that this "
                "works")
    else:
        what = (f"{type(module).__module__}.{kind} has no counterpart in nn (a custom torch "
                "module's forward is Python code that cannot be translated). Convert its "
                f"children instead (nn.from_torch on each) and write {kind}'s forward in an "
                f"nn.Module, or register the pair with nn.interop.register(Ours, {kind})")
    return f"{caller}: cannot translate {_where(path)}: {what}."


# ---------------------------------------------------------------------------- copying state


def _our_members(m: Module) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """({name: parameter or buffer values}, {name: child Module, or list/dict of Modules}),
    the module's own members by attribute name."""
    state: dict[str, np.ndarray] = {}
    children: dict[str, Any] = {}
    for name, value in vars(m).items():
        if isinstance(value, Parameter):
            state[name] = value.data
        elif isinstance(value, Module):
            children[name] = value
        elif isinstance(value, (list, tuple, dict)) and value:
            items = value.values() if isinstance(value, dict) else value
            if all(isinstance(v, Module) for v in items):
                children[name] = value
    named_buffers = getattr(m, "named_buffers", None)
    if named_buffers is not None:
        for name, buf in named_buffers():
            if "." not in name:  # the module's own buffers, not its children's
                state[name] = np.asarray(getattr(buf, "data", buf))
    return state, children


def _set_our_state(m: Module, name: str, values: np.ndarray) -> None:
    current = getattr(m, name, None)
    if isinstance(current, Parameter):
        current.data = values  # the same Parameter object, new values in their dtype
    elif hasattr(current, "data"):  # a buffer held as a Tensor
        current.data = values
    else:
        m.register_buffer(name, values)


def _torch_members(t: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    state = {name: v for name, v in t._parameters.items() if v is not None}
    state.update({name: v for name, v in t._buffers.items() if v is not None})
    return state, dict(t._modules)


def _mismatch(caller: str, source: Any, path: str, ours: set, theirs: set, what: str) -> str:
    return (f"{caller}: {type(source).__name__} at {_where(path)} has the {what} "
            f"{sorted(ours)} in nn but {sorted(theirs)} in torch; its table entry does not "
            "describe the two layers.")


def _copy_to_torch(torch: ModuleType, source: Module, target: Any, path: str,
                   convert: Convert) -> None:
    state, children = _our_members(source)
    their_state, their_children = _torch_members(target)
    if set(state) != set(their_state):
        raise RuntimeError(_mismatch("nn.to_torch", source, path, set(state),
                                     set(their_state), "parameters and buffers"))
    for name, values in state.items():
        copy = torch.tensor(np.array(values, copy=True))
        if name in target._parameters:
            requires_grad = getattr(getattr(source, name), "requires_grad", True)
            setattr(target, name, torch.nn.Parameter(copy, requires_grad=requires_grad))
        else:
            target._buffers[name] = copy
    for name, child in children.items():
        if isinstance(child, Module):
            setattr(target, name, convert(child, name))
        elif isinstance(child, dict):
            setattr(target, name, torch.nn.ModuleDict(
                {k: convert(v, f"{name}.{k}") for k, v in child.items()}))
        else:
            setattr(target, name, torch.nn.ModuleList(
                [convert(v, f"{name}.{i}") for i, v in enumerate(child)]))
    if set(children) != set(target._modules):
        raise RuntimeError(_mismatch("nn.to_torch", source, path, set(children),
                                     set(target._modules), "children"))


def _copy_from_torch(torch: ModuleType, source: Any, target: Module, path: str,
                     convert: Convert) -> None:
    their_state, their_children = _torch_members(source)
    state, children = _our_members(target)
    if set(state) != set(their_state):
        raise RuntimeError(_mismatch("nn.from_torch", source, path, set(state),
                                     set(their_state), "parameters and buffers"))
    for name, tensor in their_state.items():
        values = _to_numpy(tensor, path, name)
        _set_our_state(target, name, values)
        if isinstance(tensor, torch.nn.Parameter):
            getattr(target, name).requires_grad = tensor.requires_grad
    for name, child in their_children.items():
        if isinstance(child, torch.nn.ModuleList):
            value: Any = [convert(c, f"{name}.{i}") for i, c in enumerate(child)]
        elif isinstance(child, torch.nn.ModuleDict):
            value = {k: convert(c, f"{name}.{k}") for k, c in child.items()}
        else:
            value = convert(child, name)
        setattr(target, name, value)
    if set(children) != set(their_children):
        raise RuntimeError(_mismatch("nn.from_torch", source, path, set(children),
                                     set(their_children), "children"))


def _to_numpy(tensor: Any, path: str, name: str) -> np.ndarray:
    """A numpy copy (never a view of torch's memory) in the same dtype."""
    try:
        return tensor.detach().cpu().numpy().copy()
    except TypeError as exc:  # bfloat16 and other dtypes numpy lacks
        raise TypeError(
            f"nn.from_torch: {_join(path, name)} has dtype {tensor.dtype}, which numpy cannot "
            "hold; convert the torch module first, e.g. module.float().") from exc


class _rng_untouched:
    """Leave the shared generator where it was (our layers draw their initial weights)."""

    def __enter__(self) -> None:
        self.generator = defaults.generator()
        self.state = self.generator.bit_generator.state

    def __exit__(self, *exc: object) -> None:
        self.generator.bit_generator.state = self.state
