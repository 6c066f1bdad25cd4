"""The fused C kernels compute what nn.RNN/LSTM/GRU compute at every shape they take.

Every hidden size from 1 to 130 (each tile of rows full, part-full and spilling over), the
sizes around 256 and 512, 1024 and the largest the kernels accept; input sizes 1-4 and one
larger than the hidden size; batches of 1 and of the register tile's width, one more and one
fewer; sequences of 1, 2 and 17 steps; 1 and 2 layers; float32 and float64. Compared: the
output, the final states, and the gradients of the input and of every weight, with the same
weights (the nn layer itself, switched to the kernels), plus the inference path.
"""

from seqpred import device, fused

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from models import LAYERS

pytestmark = pytest.mark.skipif(not fused.available()[0], reason="no C compiler for fused.py")

CELLS = ("RNN", "LSTM", "GRU")
DTYPES = (torch.float32, torch.float64)
HIDDEN = [*range(1, 131), 255, 256, 257, 511, 1024, fused.MAX_SIZE]
INPUTS = (1, 2, 3, 4, "hidden + 1")
BATCHES = ("1", "tile - 1", "tile", "tile + 1")
STEPS = (1, 2, 17)
# The largest difference allowed, relative to the scale of the tensor compared: the kernels sum
# in another order than PyTorch, and a wrong kernel is off by 0.1 or more. The scale of an output
# or state is its largest |value|; the scale of a gradient is the largest |value| of any gradient
# in the case, because a gradient (a bias's most of all) is a sum over every window and step
# whose terms can cancel to far less than the rounding error of the sum. (Measured over 800
# random shapes: the worst difference was 4% of what is allowed, in float32 and in float64.)
TOLERANCE = {torch.float32: 5e-5, torch.float64: 1e-12}


def cases():
    """One case per cell, dtype and hidden size; the other sizes cycle with coprime periods
    (5 input sizes, 4 batches x 2 depths, 3 lengths), so among any 120 consecutive hidden sizes
    every combination of them occurs, for every cell and dtype."""
    out = []
    for c, cell in enumerate(CELLS):
        for d, dtype in enumerate(DTYPES):
            for i, hidden in enumerate(HIDDEN):
                j = i + 7 * c + 13 * d  # another pairing for each cell and dtype
                inputs = INPUTS[j % 5]
                inputs = hidden + 1 if inputs == "hidden + 1" else inputs
                batch, layers, steps = BATCHES[j % 4], 1 + (j // 4) % 2, STEPS[j % 3]
                if hidden >= 1024:  # one layer, two steps (one recurrent), to stay fast
                    inputs, layers, steps = min(inputs, 4), 1, 2
                if hidden == fused.MAX_SIZE:  # 4096 x 4096 weights per gate: one window
                    batch = "1"
                out.append((cell, dtype, inputs, hidden, batch, steps, layers))
    return out


def batch_size(name: str, dtype) -> int:
    tile = fused.tile_width(dtype)
    return {"1": 1, "tile - 1": tile - 1, "tile": tile, "tile + 1": tile + 1}[name]


def outputs_and_gradients(forward, layer, x):
    """forward(x)'s output and final states, and the gradients of a random weighting of all of
    them with respect to x and every weight of `layer`."""
    x = x.clone().requires_grad_()
    out, final = forward(x)
    values = {"output": out}
    finals = final if isinstance(final, tuple) else (final,)
    values.update(zip(("h_n", "c_n"), finals, strict=False))
    generator = torch.Generator().manual_seed(1)  # the same loss weights for both sides
    loss = sum(
        (v * torch.randn(v.shape, generator=generator, dtype=v.dtype)).sum()
        for v in values.values()
    )
    names = ["input", *(name for name, _ in layer.named_parameters())]
    grads = torch.autograd.grad(loss, [x, *layer.parameters()])
    values.update({f"d {name}": g for name, g in zip(names, grads, strict=True)})
    return {k: v.detach() for k, v in values.items()}


def check_equal(cell, dtype, inputs, hidden, batch, steps, layers):
    torch.manual_seed(hidden * 7 + inputs)
    layer = getattr(nn, cell)(inputs, hidden, layers, batch_first=True, dtype=dtype)
    x = torch.randn(batch, steps, inputs, dtype=dtype)
    expected = outputs_and_gradients(layer, layer, x)  # nn's own forward
    device.use_layers(layer, LAYERS["fused"])  # the same layer and weights, through the kernels
    got = outputs_and_gradients(layer.run_kernels, layer, x)  # the kernels, unchecked
    with torch.no_grad():  # inference: the kernels keep one step of scratch, not every gate
        inference, _ = layer.run_kernels(x)
    got["output (inference)"], expected["output (inference)"] = inference, expected["output"]
    assert got.keys() == expected.keys()
    gradients = max(float(v.abs().max()) for k, v in expected.items() if k.startswith("d "))
    for name, value in expected.items():
        scale = gradients if name.startswith("d ") else float(value.abs().max())
        allowed = TOLERANCE[dtype] * scale
        assert got[name].shape == value.shape, name
        if float((got[name] - value).abs_().max()) > allowed:  # cheap; the message when it fails
            torch.testing.assert_close(got[name], value, rtol=0, atol=allowed, msg=name)


@pytest.mark.parametrize(
    ("cell", "dtype", "inputs", "hidden", "batch", "steps", "layers"),
    cases(),
    ids=lambda v: str(v).replace("torch.", ""),
)
def test_the_kernels_equal_nn(cell, dtype, inputs, hidden, batch, steps, layers):
    check_equal(cell, dtype, inputs, hidden, batch_size(batch, dtype), steps, layers)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cell=st.sampled_from(CELLS),
    dtype=st.sampled_from(DTYPES),
    inputs=st.integers(1, 40),
    hidden=st.integers(1, 300),
    batch=st.integers(1, 70),
    steps=st.integers(1, 12),
    layers=st.integers(1, 3),
)
def test_random_shapes_equal_nn(cell, dtype, inputs, hidden, batch, steps, layers):
    check_equal(cell, dtype, inputs, hidden, batch, steps, layers)
