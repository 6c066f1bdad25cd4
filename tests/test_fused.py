"""The fused C kernels: gradcheck, the same losses as torch, the self-check before first use, and
the kernel cache. (test_fused_shapes.py compares them with nn at every shape they take.)"""

import os
import subprocess
import sys

from seqpred import device, fused, kernelcache
from seqpred.errors import DeviceError
from seqpred.settings import TrainSettings

import pytest
import torch
from torch import nn

import compare_results
import data as datasets
from conftest import ROOT
from models import LAYERS, build_model

pytestmark = pytest.mark.skipif(not fused.available()[0], reason="no C compiler for fused.py")
posix = pytest.mark.skipif(os.name != "posix", reason="shell-script compilers, POSIX modes")


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
        config = TrainSettings(epochs=4, batch_size=100, hidden_size=8, impl=impl)
        h = compare_results.train_run(kind, data, config, torch.device("cpu")).history
        losses[impl] = h.train_losses + h.test_losses
    assert losses["fused"] == pytest.approx(losses["torch"], rel=1e-4)


def test_auto_falls_back_to_torch_without_a_compiler(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQPRED_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("CC", str(tmp_path / "no-such-compiler"))
    fused.reset()
    try:
        ok, why = fused.available()
        assert not ok and "no-such-compiler" in why
        assert device.resolve_impl("auto", torch.device("cpu")) == "torch"
        with pytest.raises(DeviceError, match="--impl torch"):
            device.resolve_impl("fused", torch.device("cpu"))
    finally:
        fused.reset()  # the real compiler again for the other tests


# ----------------------------------------------------------------------------- the self-check
@pytest.fixture
def fresh_checks(tmp_path, monkeypatch):
    """No configuration checked yet, in this process or recorded; forgotten again afterwards."""
    monkeypatch.setattr(fused, "RECORDS", tmp_path / "records")
    fused.reset()
    yield tmp_path / "records"
    fused.reset()


def wrong_gru_kernel(monkeypatch, error=0.1):
    """A GRU kernel that computes something else: every state it writes is off by `error`."""
    real = fused._call

    def call(name, sizes, *tensors):
        real(name, sizes, *tensors)
        if name == "gru_forward":
            tensors[5][1:] += error  # hs, the states after each step

    monkeypatch.setattr(fused, "_call", call)


def test_the_self_check_refuses_a_wrong_kernel(fresh_checks, monkeypatch, capfd):
    torch.manual_seed(0)
    model = build_model("GRU", hidden_size=64)
    plain = build_model("GRU", hidden_size=64)
    plain.load_state_dict(model.state_dict())
    device.use_layers(model, LAYERS["fused"])
    wrong_gru_kernel(monkeypatch)
    x = torch.randn(40, 12, 1)
    first, second = model(x), model(x)
    # nn.GRU's own forward ran instead: exactly its numbers, gradients included
    torch.testing.assert_close(first, plain(x), rtol=0, atol=0)
    torch.testing.assert_close(second, first, rtol=0, atol=0)
    warning = capfd.readouterr().err.strip().splitlines()
    assert len(warning) == 1, warning  # one line, once per configuration
    assert "differs from nn.GRU" in warning[0] and "running nn.GRU instead" in warning[0]
    # other configurations and cells are checked on their own, and pass
    other = device.use_layers(build_model("LSTM", hidden_size=64), LAYERS["fused"])
    other(x)
    assert capfd.readouterr().err == ""


def test_a_small_error_is_caught_too(fresh_checks, monkeypatch):
    layer = device.use_layers(torch.nn.GRU(1, 8, batch_first=True), LAYERS["fused"])
    wrong_gru_kernel(monkeypatch, error=0.01)
    assert fused.discrepancy(layer, torch.float32) > fused.TOLERANCE[torch.float32]
    assert not fused.verified(layer, torch.float32)


def test_a_right_kernel_is_checked_once_and_changes_no_random_numbers(fresh_checks, monkeypatch):
    checks = []
    real = fused.discrepancy
    monkeypatch.setattr(fused, "discrepancy", lambda *a: checks.append(a) or real(*a))
    model = device.use_layers(build_model("LSTM", hidden_size=20, num_layers=2), LAYERS["fused"])
    x = torch.randn(30, 10, 1)
    before = torch.get_rng_state()
    out = model(x)
    assert torch.equal(torch.get_rng_state(), before)  # training draws the same numbers
    model(x).sum().backward()
    with torch.no_grad():
        model(x)
    assert len(checks) == 1
    plain = build_model("LSTM", hidden_size=20, num_layers=2)
    plain.load_state_dict(model.state_dict())
    torch.testing.assert_close(out, plain(x), rtol=1e-4, atol=1e-6)


def test_a_passed_check_is_remembered_by_later_processes_and_a_failed_one_is_not(
    fresh_checks, monkeypatch
):
    """A check costs seconds at thousands of units; a pass is recorded beside the library,
    named after it, so a later process (here: the in-process memory cleared) takes the record."""
    checks = []
    real = fused.discrepancy
    monkeypatch.setattr(fused, "discrepancy", lambda *a: checks.append(a) or real(*a))
    layer = device.use_layers(torch.nn.LSTM(1, 12, batch_first=True), LAYERS["fused"])
    assert fused.verified(layer, torch.float32) and len(checks) == 1
    (record,) = fresh_checks.iterdir()
    assert record.name.startswith(fused.library().path.stem) and "LSTM-1-12-1" in record.name
    fused._checked.clear()  # a new process
    assert fused.verified(layer, torch.float32) and len(checks) == 1  # not checked again
    record.write_text("garbage")  # not a record of a pass: checked again
    fused._checked.clear()
    assert fused.verified(layer, torch.float32) and len(checks) == 2
    wrong_gru_kernel(monkeypatch)  # a failing configuration leaves no record
    gru = device.use_layers(torch.nn.GRU(1, 12, batch_first=True), LAYERS["fused"])
    assert not fused.verified(gru, torch.float32)
    assert not any("GRU" in p.name for p in fresh_checks.iterdir())


def test_switching_layers_keeps_the_model(fresh_checks):
    """use_layers changes how the nn layer runs, never the module, its names or its weights."""
    model = build_model("GRU", hidden_size=33)
    names = [n for n, _ in model.named_modules()]
    params = [id(p) for p in model.parameters()]
    state = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.randn(5, 7, 1)
    expected = model(x)
    plain = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}
    for layers in (LAYERS["fused"], LAYERS["scratch"], plain, LAYERS["fused"]):
        assert device.use_layers(model, layers) is model
        assert isinstance(model.gru, nn.GRU) and type(model.gru) is layers["GRU"]
        assert [n for n, _ in model.named_modules()] == names
        assert [id(p) for p in model.parameters()] == params
        assert model.state_dict().keys() == state.keys()
        assert all(torch.equal(model.state_dict()[k], v) for k, v in state.items())
        torch.testing.assert_close(model(x), expected, rtol=1e-4, atol=1e-6)


def test_only_the_plain_layers_switch():
    with pytest.raises(ValueError, match="bidirectional"):
        device.use_layers(nn.GRU(1, 4, batch_first=True, bidirectional=True), LAYERS["fused"])
    with pytest.raises(ValueError, match="relu"):
        device.use_layers(nn.RNN(1, 4, batch_first=True, nonlinearity="relu"), LAYERS["scratch"])
    with pytest.raises(ValueError, match="batch_first"):
        device.use_layers(nn.LSTM(1, 4), LAYERS["fused"])


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


def build_small(cache):
    """A one-function library, built through the same cache: what the cache does does not
    depend on the source, and this compiles in a fraction of the kernels' time."""
    source = cache.parent / "small.c"
    source.write_text("int answer(void) { return 42; }\n")
    return kernelcache.build(source, fused.FLAGS, "small")


def counting_compiler(tmp_path):
    """A C compiler that notes each time it runs, then runs the real one."""
    calls, script = tmp_path / "calls", tmp_path / "counting-cc"
    script.write_text(f'#!/bin/sh\necho run >> "{calls}"\nexec "${{REAL_CC:-cc}}" "$@"\n')
    script.chmod(0o755)
    return script, calls


@posix
def test_a_built_library_is_reused_without_compiling_again(cache, tmp_path, monkeypatch):
    compiler, calls = counting_compiler(tmp_path)
    monkeypatch.setenv("CC", str(compiler))
    first = build_small(cache)
    assert first.parent == cache and (cache.stat().st_mode & 0o777) == 0o700
    assert first.with_name(first.name + ".sha256").read_text().strip() == kernelcache.sha256(first)
    assert not list(cache.glob("*.tmp")) and not list(cache.glob(".*.tmp"))
    assert build_small(cache) == first and build_small(cache) == first
    assert len(calls.read_text().splitlines()) == 1  # built once, then loaded as it is


@pytest.mark.parametrize("damage", [b"", b"\x7fELF garbage", "truncate"])
def test_a_damaged_library_is_rebuilt_not_loaded(cache, damage):
    library = build_small(cache)
    good = library.read_bytes()
    library.write_bytes(good[: len(good) // 2] if damage == "truncate" else damage)
    assert build_small(cache) == library and library.read_bytes() == good


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
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "C kernels" in proc.stdout


def test_the_cache_key_covers_the_cpu(cache, monkeypatch):
    here = build_small(cache)
    monkeypatch.setattr(kernelcache, "cpu_signature", lambda: "another CPU with other features")
    elsewhere = build_small(cache)
    assert elsewhere != here and here.exists() and elsewhere.exists()


@posix
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


@posix
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


def test_the_cache_follows_xdg_cache_home(tmp_path, monkeypatch):
    monkeypatch.delenv("SEQPRED_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert kernelcache.cache_dir() == tmp_path / "xdg" / "seqpred"
    monkeypatch.setenv("SEQPRED_CACHE_DIR", str(tmp_path / "mine"))
    assert kernelcache.cache_dir() == tmp_path / "mine"


def test_a_relative_xdg_cache_home_is_ignored_and_a_missing_home_never_created(
    tmp_path, monkeypatch
):
    """The XDG Base Directory specification: a relative path is invalid and must be ignored.
    A HOME that does not exist is not made: the kernels are then not used, and a run says why."""
    monkeypatch.delenv("SEQPRED_CACHE_DIR", raising=False)
    monkeypatch.chdir(tmp_path)  # where a relative XDG_CACHE_HOME would land
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    assert kernelcache.cache_dir() == tmp_path / "home" / ".cache" / "seqpred"
    monkeypatch.setenv("HOME", str(tmp_path / "nobody"))
    with pytest.raises(kernelcache.BuildError, match="does not exist"):
        kernelcache.cache_dir()
    with pytest.raises(kernelcache.BuildError):
        kernelcache.build(fused.SOURCE, fused.FLAGS, "probe")
    assert not (tmp_path / "nobody").exists() and not (tmp_path / "relative").exists()


@posix
def test_a_compiler_command_with_arguments_is_split_like_a_shell(cache, tmp_path, monkeypatch):
    """CC="ccache gcc" is a command and its argument, not one program's name."""
    compiler, calls = counting_compiler(tmp_path)
    monkeypatch.setenv("CC", f"env SEQPRED_TEST=1 {compiler}")
    assert build_small(cache).is_file() and calls.read_text().count("run") == 1


@posix
def test_a_compiler_failing_silently_is_named_with_its_exit_status(cache, tmp_path, monkeypatch):
    compiler = tmp_path / "quiet-cc"
    compiler.write_text("#!/bin/sh\nexit 3\n")
    compiler.chmod(0o755)
    monkeypatch.setenv("CC", str(compiler))
    with pytest.raises(kernelcache.BuildError, match="exited with status 3"):
        build_small(cache)


def test_a_garbage_library_with_a_matching_checksum_is_rebuilt(cache):
    library = build_f32()
    library.write_bytes(b"\x7fELF but not a library")
    library.with_name(library.name + ".sha256").write_text(kernelcache.sha256(library) + "\n")
    fused.reset()
    ok, why = fused.available()
    assert ok, why
    assert library.read_bytes().startswith(b"\x7fELF") and len(library.read_bytes()) > 1000


@posix
def test_new_cache_folders_are_private_whatever_the_umask(tmp_path, monkeypatch):
    folder = tmp_path / "a" / "b" / "cache"
    old = os.umask(0)
    try:
        kernelcache.private_folder(folder)
    finally:
        os.umask(old)
    for made in (tmp_path / "a", tmp_path / "a" / "b", folder):
        assert made.stat().st_mode & 0o777 == 0o700, made


def test_a_cache_folder_that_cannot_be_made_names_the_variable(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(kernelcache.BuildError, match="SEQPRED_CACHE_DIR"):
        kernelcache.private_folder(blocker / "cache")


def test_windows_folders_have_no_mode_bits_to_refuse(tmp_path, monkeypatch):
    open_to_all = tmp_path / "shared"
    open_to_all.mkdir()
    open_to_all.chmod(0o777)  # what every folder looks like to Python on Windows
    monkeypatch.setattr(kernelcache.os, "name", "nt")
    assert kernelcache.private_folder(open_to_all) == open_to_all
