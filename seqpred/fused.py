"""Fast CPU layers (`--impl fused`): one C call per layer and direction instead of ~30 PyTorch ops
per time step.

On a CPU with the article's sizes (batch 500, hidden 20) the time of nn.GRU goes into the
overhead of many tiny operations, not into arithmetic. fused_rnn.c runs the whole time loop of
a layer in C, forward and backward (a hand-written backpropagation through time), the matrix
products included: each step's are too small for a BLAS call to pay. The file is compiled on
first use with the system's C compiler (`cc`, or $CC) into a private cache folder
($SEQPRED_CACHE_DIR, else $XDG_CACHE_HOME/seqpred or ~/.cache/seqpred; see kernelcache.py),
and loaded with ctypes. Without a compiler, `--impl auto` falls back to torch.

The layers are nn.RNN/LSTM/GRU with another forward: the same weights, names and
initialisation, so state_dicts move freely, and seqpred.runtime.use_layers switches a built
model's nn layers to them. The tests compare outputs and gradients with torch.nn at every size
the kernels take, and with torch.autograd.gradcheck in double precision. At run time, the first
use of each configuration is checked against nn's own forward (`verified`): a kernel that
computes something else is never used.
"""

from __future__ import annotations

import ctypes
import functools
import sys
import threading
from pathlib import Path

from seqpred import kernelcache
from seqpred.fileio import write_text

import torch
from torch import nn

SOURCE = Path(__file__).resolve().with_name("fused_rnn.c")
FLAGS = ["-O3", "-std=c99", "-fPIC", "-shared", "-fno-math-errno", "-fno-trapping-math"]
MAX_SIZE = 4096  # the largest input and hidden size the C kernels take (MAX_SIZE there)
WEIGHT_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
KERNELS = (
    "rnn_forward",
    "rnn_backward",
    "lstm_forward",
    "lstm_backward",
    "gru_forward",
    "gru_backward",
)


class FusedUnavailable(RuntimeError):
    """The C kernels could not be built or loaded here (no compiler, a bad cache folder, ...)."""


@functools.cache
def _load(dtype: torch.dtype) -> ctypes.CDLL | FusedUnavailable:
    """The kernels for float32 or float64, or why not; a failed build is not retried."""
    extra = ["-DSEQPRED_DOUBLE"] if dtype == torch.float64 else []
    name = f"fused_rnn_{'f64' if extra else 'f32'}"
    try:
        path = kernelcache.build(SOURCE, FLAGS + extra, name)
        try:
            lib = ctypes.CDLL(str(path))
        except OSError:  # its checksum matched, but it does not load: built anew, once
            lib = ctypes.CDLL(str(kernelcache.build(SOURCE, FLAGS + extra, name, rebuild=True)))
    except (kernelcache.BuildError, OSError) as err:
        return FusedUnavailable(str(err))
    for name in KERNELS:
        getattr(lib, name).restype = None
    lib.tile_columns.restype = ctypes.c_int
    lib.path = Path(lib._name)  # where it lies: its passed self-checks are recorded beside it
    return lib


def library(dtype: torch.dtype = torch.float32) -> ctypes.CDLL:
    """The compiled kernels for float32 or float64 (FusedUnavailable if they cannot be had)."""
    if dtype not in (torch.float32, torch.float64):
        raise FusedUnavailable(f"the fused kernels take float32 or float64, not {dtype}")
    lib = _load(dtype)
    if isinstance(lib, FusedUnavailable):
        raise lib
    return lib


def tile_width(dtype: torch.dtype = torch.float32) -> int:
    """The batch columns of the kernels' register tiles (this CPU's vector width decides)."""
    return library(dtype).tile_columns()


def reset() -> None:
    """Forget the loaded (or failed) build and the self-checks: the next call starts afresh."""
    _load.cache_clear()
    _checked.clear()


def available() -> tuple[bool, str]:
    """Whether the float32 kernels can be used here, and if not, why."""
    try:
        library(torch.float32)
    except FusedUnavailable as err:
        return False, str(err)
    return True, ""


def _call(name: str, sizes: tuple[int, ...], *tensors: torch.Tensor | None) -> None:
    """Call one C kernel with its int sizes and the data pointers of contiguous CPU tensors
    (None passes a null pointer: an output the caller does not need)."""
    given = [t for t in tensors if t is not None]
    for t in given:
        if t.device.type != "cpu" or not t.is_contiguous() or t.dtype != given[0].dtype:
            raise FusedUnavailable("the fused kernels need contiguous CPU tensors of one dtype")
    lib = library(given[0].dtype)
    pointers = (ctypes.c_void_p(None if t is None else t.data_ptr()) for t in tensors)
    getattr(lib, name)(*(ctypes.c_int(s) for s in sizes), *pointers)


def _states(x, hidden):
    """A (T+1, H, B) buffer for a layer's states; only the initial state needs zeroing."""
    states = x.new_empty(x.shape[0] + 1, hidden, x.shape[2])
    states[0].zero_()
    return states


def _zero_grads(w_ih, w_hh):
    """Zeroed gradients of (w_ih, w_hh, b_ih, b_hh), for the C loop to add each step's share to."""
    gates = w_hh.shape[0]
    return [
        torch.zeros_like(w_ih),
        torch.zeros_like(w_hh),
        w_hh.new_zeros(gates),
        w_hh.new_zeros(gates),
    ]


def _sizes(x, w_hh):
    """(T, B, I, H) of a layer's input x: (T, I, B) and its recurrent weight (G, H)."""
    steps, features, batch = x.shape
    return steps, batch, features, w_hh.shape[1]


def _prepare(ctx, x, weights):
    """(T, B, I, H), the weights made contiguous, and whether a backward pass may follow (only
    then are every step's gates kept)."""
    return _sizes(x, weights[1]), [w.contiguous() for w in weights], _training(ctx)


def _training(ctx) -> bool:
    """Whether a backward pass may follow: only then are every step's gates kept."""
    return any(ctx.needs_input_grad)


def _input_grad(ctx, x):
    """The buffer for dx, or None when the input needs no gradient (a first layer's data)."""
    return torch.empty_like(x) if ctx.needs_input_grad[0] else None


def _backward_start(ctx, d_hs, x, w_ih, w_hh):
    """What every layer's backward starts from: the sizes, the output gradient split (see
    _split_output_grad), and the buffers for dx and the weights' gradients."""
    return (
        _sizes(x, w_hh),
        *_split_output_grad(d_hs),
        _input_grad(ctx, x),
        _zero_grads(w_ih, w_hh),
    )


def _split_output_grad(d_hs):
    """The gradient of hs (T+1, H, B) as (dout for h_1..h_T, dh for h_T), without counting twice.

    The C loop adds dout[t] to the gradient flowing back from step t+1; the last step's share
    goes in dh instead, as the gradient arriving from beyond the sequence.
    """
    dout = d_hs[1:].contiguous()
    dh = dout[-1].clone()
    dout[-1].zero_()
    return dout, dh


class _RNNFunction(torch.autograd.Function):
    """One vanilla RNN layer over a whole sequence. x: (T, I, B) -> hs: (T+1, H, B), hs[0] = 0."""

    @staticmethod
    def forward(ctx, x, *weights):
        sizes, weights, _ = _prepare(ctx, x, weights)
        hs = _states(x, sizes[3])
        _call("rnn_forward", sizes, x, *weights, hs)
        ctx.save_for_backward(x, *weights[:2], hs)
        return hs

    @staticmethod
    def backward(ctx, d_hs):
        x, w_ih, w_hh, hs = ctx.saved_tensors
        sizes, dout, dh, dx, grads = _backward_start(ctx, d_hs, x, w_ih, w_hh)
        scratch = x.new_empty(sizes[3], sizes[1])
        _call("rnn_backward", sizes, dout, x, w_ih, w_hh, hs, dx, *grads, dh, scratch)
        return (dx, *grads)


class _LSTMFunction(torch.autograd.Function):
    """One LSTM layer. x: (T, I, B) -> hs: (T+1, H, B) from a zero state, and c_T: (H, B)."""

    @staticmethod
    def forward(ctx, x, *weights):
        sizes, weights, keep = _prepare(ctx, x, weights)
        T, B, _, H = sizes
        kept = T if keep else 1  # for inference, one step's scratch, reused at every step
        hs, cs = _states(x, H), _states(x, H) if keep else x.new_zeros(1, H, B)
        gates, tcs = x.new_empty(kept, 4 * H, B), x.new_empty(kept, H, B)
        _call("lstm_forward", (*sizes, int(keep)), x, *weights, hs, cs, gates, tcs)
        ctx.save_for_backward(x, *weights[:2], hs, cs, gates, tcs)
        return hs, cs[-1].clone()

    @staticmethod
    def backward(ctx, d_hs, d_c_last):
        x, w_ih, w_hh, hs, cs, gates, tcs = ctx.saved_tensors
        sizes, dout, dh, dx, grads = _backward_start(ctx, d_hs, x, w_ih, w_hh)
        dc = d_c_last.contiguous().clone()
        scratch = x.new_empty(4 * sizes[3], sizes[1])
        tensors = (dout, x, w_ih, w_hh, hs, cs, gates, tcs, dx, *grads, dh, dc, scratch)
        _call("lstm_backward", sizes, *tensors)
        return (dx, *grads)


class _GRUFunction(torch.autograd.Function):
    """One GRU layer (PyTorch's convention). x: (T, I, B) -> hs: (T+1, H, B), hs[0] = 0."""

    @staticmethod
    def forward(ctx, x, *weights):
        sizes, weights, keep = _prepare(ctx, x, weights)
        T, B, _, H = sizes
        hs, gates = _states(x, H), x.new_empty(T if keep else 1, 4 * H, B)
        _call("gru_forward", (*sizes, int(keep)), x, *weights, hs, gates)
        ctx.save_for_backward(x, *weights[:2], hs, gates)
        return hs

    @staticmethod
    def backward(ctx, d_hs):
        x, w_ih, w_hh, hs, gates = ctx.saved_tensors
        sizes, dout, dh, dx, grads = _backward_start(ctx, d_hs, x, w_ih, w_hh)
        dgi, dgh = (x.new_empty(3 * sizes[3], sizes[1]) for _ in range(2))
        _call("gru_backward", sizes, dout, x, w_ih, w_hh, hs, gates, dx, *grads, dh, dgi, dgh)
        return (dx, *grads)


class _FusedLayers:
    """Mixin: the weights, names and initialisation of nn.RNN/LSTM/GRU; the time loop in C
    (each layer's `function`)."""

    def __init__(self, input_size, hidden_size, num_layers=1, batch_first=True, dropout=0.0):
        if not batch_first:
            raise ValueError("the fused layers take batch_first=True input only")
        super().__init__(input_size, hidden_size, num_layers, batch_first=True, dropout=dropout)

    def forward(self, x, hx=None):
        # x: (batch, seq_len, input_size) -> out: (batch, seq_len, hidden_size)
        self._check(x, hx)
        if not verified(self, x.dtype):  # this configuration failed its self-check
            return super().forward(x)  # nn.RNN/LSTM/GRU's own
        return self.run_kernels(x)

    def run_kernels(self, x):
        """The forward through the C kernels, unchecked (`forward` checks them first)."""
        seq = x.permute(1, 2, 0).contiguous()  # (T, I, B): batch innermost, as the C code wants
        h_last, c_last = [], []
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0:
                seq = torch.nn.functional.dropout(seq, self.dropout, self.training)
            out = self.function.apply(seq, *self._layer_weights(layer))
            hs = out[0] if isinstance(out, tuple) else out  # the LSTM also returns c_T
            seq = hs[1:]  # (T, H, B), the next layer's input
            h_last.append(hs[-1].t())  # (B, H)
            if isinstance(out, tuple):
                c_last.append(out[1].t())
        h_n = torch.stack(h_last)  # (num_layers, B, H), as nn returns it
        final = (h_n, torch.stack(c_last)) if c_last else h_n
        return seq.permute(2, 0, 1), final  # (B, T, H) as a batch-first view

    def reference(self, x):
        """nn.RNN/LSTM/GRU's own forward at the same weights: what the kernels must compute."""
        return super().forward(x)

    def _layer_weights(self, layer: int):
        return [getattr(self, f"{name}_l{layer}") for name in WEIGHT_NAMES]

    def _check(self, x, hx) -> None:
        """What nn.RNN/LSTM/GRU would refuse, refused with its words, before any C call."""
        if hx is not None:
            raise ValueError("the fused layers always start from a zero state")
        if x.dim() != 3:
            raise ValueError(
                f"the fused layers take batched 3-D input (batch, seq_len, input_size), "
                f"got {x.dim()}-D"
            )
        if max(self.input_size, self.hidden_size) > MAX_SIZE:
            raise ValueError(
                f"the fused layers take up to {MAX_SIZE} inputs and hidden units; use --impl torch"
            )
        if x.shape[-1] != self.input_size:
            raise RuntimeError(
                f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                f"got {x.shape[-1]}"
            )
        weight = self.weight_ih_l0
        if x.dtype != weight.dtype:
            raise ValueError(
                f"RNN input dtype ({x.dtype}) does not match weight dtype ({weight.dtype}). "
                f"Convert input: input.to({weight.dtype}), or convert model: model.to({x.dtype})"
            )
        if x.device != weight.device or x.device.type != "cpu":
            raise RuntimeError(
                f"the fused layers run on the CPU: input on {x.device}, weights on "
                f"{weight.device}; use --impl torch on a GPU"
            )


class RNN(_FusedLayers, nn.RNN):
    function = _RNNFunction


class LSTM(_FusedLayers, nn.LSTM):
    function = _LSTMFunction


class GRU(_FusedLayers, nn.GRU):
    function = _GRUFunction


# ----------------------------------------------------------------------------- the self-check
# Allowed difference from nn, relative to the size of nn's values (1 + their largest |value|).
# Rounding differs by ~1e-6 in float32; a wrong kernel (the bug this guards against computed
# another GRU from 33 hidden units on) is off by ~0.1 or more.
TOLERANCE = {torch.float32: 1e-3, torch.float64: 1e-9}
_checked: dict[tuple, bool] = {}
_checking = threading.Lock()


def verified(layer: _FusedLayers, dtype: torch.dtype) -> bool:
    """Whether the kernels compute what nn computes for this layer's configuration.

    The first time a (cell, input size, hidden size, layers, dtype) runs with a compiled
    library, one forward and backward on a few random windows is compared with nn's own forward
    at the layer's weights; a pass is recorded, so later processes do not pay for it again. A
    configuration that fails is never run by the kernels: one warning line, and nn's forward
    runs instead, so a wrong kernel (a bug, a miscompiling compiler) never produces a number.
    """
    key = (type(layer).__name__, layer.input_size, layer.hidden_size, layer.num_layers, dtype)
    with _checking:  # one check per configuration, even with runs in several threads
        if key not in _checked and passed_before(key):
            _checked[key] = True
        if key not in _checked:
            worst = discrepancy(layer, dtype)
            _checked[key] = worst <= TOLERANCE[dtype]
            if _checked[key]:
                remember(key, worst)
            else:
                name = type(layer).__name__
                print(
                    f"seqpred: warning: the C kernel for this {name} (input size "
                    f"{layer.input_size}, hidden size {layer.hidden_size}, {layer.num_layers} "
                    f"layer(s), {dtype}) differs from nn.{name} by {worst:.2g} in its self-check; "
                    f"running nn.{name} instead",
                    file=sys.stderr,
                    flush=True,
                )
        return _checked[key]


# A check costs up to 7 s at 4096 hidden units (one thread): a configuration that passed is
# recorded beside the library it ran (whose name covers its source, flags, compiler and CPU),
# and later processes take the record. RECORDS: where, if not there (the tests' own folder).
RECORDS: Path | None = None


def record_file(key: tuple) -> Path:
    """The file that says a configuration passed its self-check with this very library."""
    cell, inputs, hidden, layers, dtype = key
    lib = library(dtype)
    folder = RECORDS or lib.path.parent / "verified"
    return folder / f"{lib.path.stem}-{cell}-{inputs}-{hidden}-{layers}"


def passed_before(key: tuple) -> bool:
    """Whether this library passed this configuration's self-check in an earlier process."""
    try:
        return record_file(key).read_text(encoding="utf-8").startswith("passed ")
    except OSError:
        return False


def remember(key: tuple, worst: float) -> None:
    """Record a passed self-check; a record that cannot be written is simply not kept."""
    path = record_file(key)
    try:
        kernelcache.private_folder(path.parent)
        write_text(path, f"passed {worst:.3g}\n")
    except (OSError, kernelcache.BuildError):
        pass


def discrepancy(layer: _FusedLayers, dtype: torch.dtype) -> float:
    """The largest relative difference between the kernels and nn at the layer's weights, on
    random windows: outputs, final states and the gradients of the input and every weight (in
    training), and the outputs again in inference, where the kernels keep fewer buffers."""
    generator = torch.Generator().manual_seed(0)  # not the global one: training is unchanged
    batch, steps = tile_width(dtype) + 1, 3  # one full tile of batch columns and one left over
    x = torch.randn(batch, steps, layer.input_size, generator=generator, dtype=dtype)
    weights = [w for w in layer.parameters() if w.requires_grad]
    was_training = layer.training
    layer.train(False)  # no dropout: both sides must compute the same network
    try:
        with torch.inference_mode(False), torch.enable_grad():
            ours = _values_and_gradients(layer.run_kernels, x, weights, generator)
            theirs = _values_and_gradients(layer.reference, x, weights, generator)
        with torch.no_grad():
            ours += _flat(layer.run_kernels(x))
            theirs += _flat(layer.reference(x))
    finally:
        layer.train(was_training)
    return max(
        float((a - b).abs().max() / (1 + b.abs().max())) for a, b in zip(ours, theirs, strict=True)
    )


def _flat(result) -> list[torch.Tensor]:
    """(output, h_n) or (output, (h_n, c_n)) as a list of tensors."""
    out, final = result
    return [out, *(final if isinstance(final, tuple) else (final,))]


def _values_and_gradients(forward, x, weights, generator) -> list[torch.Tensor]:
    """forward(x)'s outputs, and the gradients of a random weighting of all of them (every
    output step and the final states) with respect to x and the weights."""
    x = x.clone().requires_grad_()
    values = _flat(forward(x))
    state = generator.get_state()  # the same loss weights for both sides
    loss = sum((v * torch.randn(v.shape, generator=generator, dtype=v.dtype)).sum() for v in values)
    generator.set_state(state)
    return [v.detach() for v in values] + list(torch.autograd.grad(loss, [x, *weights]))
