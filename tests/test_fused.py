"""The fused C kernels compute what nn.RNN/LSTM/GRU compute, and train to the same losses."""

import os
import subprocess
import sys

import pytest
import torch
from torch import nn

import data as datasets
import main as trainer
from conftest import ROOT
from seqpred import fused, kernelcache, runtime

pytestmark = pytest.mark.skipif(not fused.available()[0], reason="no C compiler for fused.py")

PAIRS = [(nn.RNN, fused.RNN), (nn.LSTM, fused.LSTM), (nn.GRU, fused.GRU)]


@pytest.mark.parametrize(("torch_cls", "fused_cls"), PAIRS)
@pytest.mark.parametrize(
    ("layers", "batch", "features", "hidden"), [(1, 500, 1, 20), (2, 37, 3, 7)]
)
def test_outputs_and_gradients_match_torch(torch_cls, fused_cls, layers, batch, features, hidden):
    torch.manual_seed(layers + batch)
    ref = torch_cls(features, hidden, layers, batch_first=True)
    ours = fused_cls(features, hidden, layers)
    ours.load_state_dict(ref.state_dict(), strict=True)
    x = torch.randn(batch, 11, features)
    x_ref, x_ours = x.clone().requires_grad_(), x.clone().requires_grad_()
    (out_ref, state_ref), (out_ours, state_ours) = ref(x_ref), ours(x_ours)
    torch.testing.assert_close(out_ours, out_ref, atol=1e-5, rtol=1e-4)
    as_tuple = [s if isinstance(s, tuple) else (s,) for s in (state_ours, state_ref)]
    states = list(zip(*as_tuple, strict=True))
    for ours_state, ref_state in states:
        torch.testing.assert_close(ours_state, ref_state, atol=1e-5, rtol=1e-4)
    w = torch.randn_like(out_ref)
    # A loss on every output step and on the final state(s), so every gradient path is used.
    loss_ref = (out_ref * w).sum() + sum(s.sum() for _, s in states)
    loss_ours = (out_ours * w).sum() + sum(s.sum() for s, _ in states)
    loss_ref.backward()
    loss_ours.backward()
    torch.testing.assert_close(x_ours.grad, x_ref.grad, atol=1e-5, rtol=1e-4)
    ref_grads = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        torch.testing.assert_close(p.grad, ref_grads[name].grad, atol=1e-4, rtol=1e-4, msg=name)


@pytest.mark.parametrize(("torch_cls", "fused_cls"), PAIRS)
def test_inference_without_kept_gates_gives_the_same_outputs(torch_cls, fused_cls):
    """Under no_grad the kernels keep one step of scratch instead of every step's gates."""
    torch.manual_seed(1)
    ref = torch_cls(2, 9, 2, batch_first=True)
    ours = fused_cls(2, 9, 2)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(70, 13, 2)  # 70: a batch that is not a multiple of the kernels' tile
    with torch.no_grad():
        (out_ref, state_ref), (out_ours, state_ours) = ref(x), ours(x)
    torch.testing.assert_close(out_ours, out_ref, atol=1e-5, rtol=1e-4)
    for a, b in zip(*(s if isinstance(s, tuple) else (s,) for s in (state_ours, state_ref)),
                    strict=True):  # fmt: skip
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("function", [fused._RNNFunction, fused._LSTMFunction, fused._GRUFunction])
def test_hand_written_backward_passes_gradcheck(function):
    torch.manual_seed(0)
    gates = {fused._RNNFunction: 1, fused._LSTMFunction: 4, fused._GRUFunction: 3}[function]
    T, features, batch, hidden = 4, 2, 3, 3
    inputs = [
        torch.randn(T, features, batch, dtype=torch.double),
        torch.randn(gates * hidden, features, dtype=torch.double),
        torch.randn(gates * hidden, hidden, dtype=torch.double),
        torch.randn(gates * hidden, dtype=torch.double),
        torch.randn(gates * hidden, dtype=torch.double),
    ]
    inputs = [t.requires_grad_() for t in inputs]
    assert torch.autograd.gradcheck(function.apply, inputs, eps=1e-6, atol=1e-6)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_fused_trains_to_the_same_losses_as_torch(kind):
    d = datasets.build_sine(20, 0.2)
    data = datasets.SeriesData(
        "sine", d.train_x[:300], d.train_y[:300], d.test_x[:50], d.test_y[:50]
    )
    losses = {}
    for impl in ("torch", "fused"):
        config = trainer.RunConfig(epochs=4, batch_size=100, hidden_size=8, impl=impl)
        h = trainer.train_model(kind, data, config, torch.device("cpu")).history
        losses[impl] = h.train_losses + h.test_losses
    assert losses["fused"] == pytest.approx(losses["torch"], rel=1e-4)


def test_auto_falls_back_to_torch_without_a_compiler(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQPRED_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("CC", str(tmp_path / "no-such-compiler"))
    fused.reset()
    try:
        ok, why = fused.available()
        assert not ok and "no-such-compiler" in why
        assert runtime.resolve_impl("auto", torch.device("cpu")) == "torch"
        with pytest.raises(runtime.DeviceError, match="--impl torch"):
            runtime.resolve_impl("fused", torch.device("cpu"))
    finally:
        fused.reset()  # the real compiler again for the other tests


# ----------------------------------------------------------------------------- the kernel cache
@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh, private kernel cache for one test; the real one again afterwards."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("SEQPRED_CACHE_DIR", str(folder))
    fused.reset()
    yield folder
    fused.reset()


def build_f32():
    return kernelcache.build(fused.SOURCE, fused.FLAGS, "fused_rnn_f32")


def counting_compiler(tmp_path):
    """A C compiler that notes each time it runs, then runs the real one."""
    calls, script = tmp_path / "calls", tmp_path / "counting-cc"
    script.write_text(f'#!/bin/sh\necho run >> "{calls}"\nexec "${{REAL_CC:-cc}}" "$@"\n')
    script.chmod(0o755)
    return script, calls


def test_a_built_library_is_reused_without_compiling_again(cache, tmp_path, monkeypatch):
    compiler, calls = counting_compiler(tmp_path)
    monkeypatch.setenv("CC", str(compiler))
    first = build_f32()
    assert first.parent == cache and (cache.stat().st_mode & 0o777) == 0o700
    assert first.with_name(first.name + ".sha256").read_text().strip() == kernelcache.sha256(first)
    assert not list(cache.glob("*.tmp")) and not list(cache.glob(".*.tmp"))
    assert build_f32() == first and build_f32() == first
    assert len(calls.read_text().splitlines()) == 1  # built once, then loaded as it is


@pytest.mark.parametrize("damage", [b"", b"\x7fELF garbage", "truncate"])
def test_a_damaged_library_is_rebuilt_not_loaded(cache, damage):
    library = build_f32()
    good = library.read_bytes()
    library.write_bytes(good[: len(good) // 2] if damage == "truncate" else damage)
    assert build_f32() == library and library.read_bytes() == good


def test_a_truncated_library_does_not_crash_a_run(cache, tmp_path):
    """Before the checksum, a truncated library in the cache crashed every run (bus error)."""
    library = build_f32()
    library.write_bytes(library.read_bytes()[:4096])
    env = {**os.environ, "SEQPRED_CACHE_DIR": str(cache)}
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "main.py"),
            "--dry-run",
            "--data-dir",
            str(tmp_path),
            "--device",
            "cpu",
        ],  # fmt: skip
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "C kernels" in proc.stdout


def test_the_cache_key_covers_the_cpu(cache, monkeypatch):
    here = build_f32()
    monkeypatch.setattr(kernelcache, "cpu_signature", lambda: "another CPU with other features")
    elsewhere = build_f32()
    assert elsewhere != here and here.exists() and elsewhere.exists()


def test_a_cache_folder_others_can_write_to_is_refused(tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("SEQPRED_CACHE_DIR", str(shared))
    with pytest.raises(kernelcache.BuildError, match="may be written by other users"):
        build_f32()
    if os.getuid() == 0:  # as root we can also hand a folder to someone else
        theirs = tmp_path / "theirs"
        theirs.mkdir(mode=0o755)
        os.chown(theirs, 65534, 65534)
        monkeypatch.setenv("SEQPRED_CACHE_DIR", str(theirs))
        with pytest.raises(kernelcache.BuildError, match="belongs to another user"):
            build_f32()
    assert not list(shared.iterdir())


def test_a_failed_build_is_not_retried(cache, tmp_path, monkeypatch):
    calls = tmp_path / "calls"
    compiler = tmp_path / "failing-cc"
    compiler.write_text(f"#!/bin/sh\necho run >> {calls}\necho 'error: no' >&2\nexit 1\n")
    compiler.chmod(0o755)
    monkeypatch.setenv("CC", str(compiler))
    for _ in range(3):
        ok, why = fused.available()
        assert not ok and "compiling fused_rnn.c failed" in why
    assert len(calls.read_text().splitlines()) == 2  # -march=native, then plain: once


def test_fused_layers_check_their_inputs_as_nn_does():
    lstm = fused.LSTM(1, 4)
    with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size"):
        lstm(torch.randn(3, 5, 2))
    with pytest.raises(ValueError, match="does not match weight dtype"):
        lstm.double()(torch.randn(3, 5, 1))
    with pytest.raises(ValueError, match="3-D"):
        fused.GRU(1, 4)(torch.randn(5, 1))
    # and a model that fits its input still runs
    assert fused.LSTM(2, 4).double()(torch.randn(3, 5, 2, dtype=torch.double))[0].shape == (3, 5, 4)
