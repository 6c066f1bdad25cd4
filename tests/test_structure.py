"""The suite's shape, checked: the learner reaches loss.backward() in two calls from main(), no
module is longer than a reader can hold, the package has no import circle and never sees the
flag namespace below the scripts, and --help answers without PyTorch."""

import ast
import subprocess
import sys
import traceback

import pytest
import torch

import main as trainer
from conftest import ROOT

PACKAGE = ROOT / "seqpred"
SCRIPTS = ("main.py", "compare_results.py", "sweep.py", "adding_task.py")


@pytest.mark.filterwarnings("ignore:Full backward hook")  # the hook is ours, for the stack
def test_loss_backward_is_two_calls_from_main(tiny_flags):
    """Every backward pass of `python main.py` runs from main() through train_epoch alone."""
    chains = []

    def hook(module, grad_input, grad_output):
        here = str(ROOT / "main.py")
        chains.append([f.name for f in traceback.extract_stack() if f.filename == here])

    handle = torch.nn.modules.module.register_module_full_backward_hook(hook)
    try:
        assert trainer.main([*tiny_flags, "--dry-run", "--impl", "torch"]) == 0
    finally:
        handle.remove()
    training = [chain for chain in chains if "train_epoch" in chain]  # (not the gradient flow)
    assert training and all(chain == ["main", "train_epoch"] for chain in training), training


def modules():
    return sorted(p for p in ROOT.glob("*.py")) + sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_over_450_lines(path):
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 450


def package_imports() -> dict[str, set[str]]:
    """Each package module and the package modules it imports (at any depth of its code)."""
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("seqpred"):
                found.add(node.module)
                found |= {f"{node.module}.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("seqpred")}
        graph[name] = found
    return {k: {m for m in v if m in graph and m != k} for k, v in graph.items()}


def test_the_package_has_no_import_circle():
    graph = package_imports()
    done, visiting = set(), []

    def visit(name):
        if name in visiting:
            raise AssertionError("import circle: " + " -> ".join([*visiting, name]))
        if name in done:
            return
        visiting.append(name)
        for other in sorted(graph[name]):
            if other != "seqpred":  # the package's own __init__ imports only interrupts
                visit(other)
        visiting.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)


def test_below_the_scripts_nothing_sees_the_flag_namespace():
    """Only settings.py reads the parsed flags; no other module of the package takes them."""
    for path in PACKAGE.rglob("*.py"):
        if path.name in ("settings.py", "flags.py", "parsers.py"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {
            a.arg
            for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.Lambda))
            for a in node.args.args
        }
        assert "args" not in names, f"{path.name} takes the flags"
        assert "Namespace" not in path.read_text(encoding="utf-8"), path.name


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_answers_without_pytorch(script, tmp_path):
    """A torch that cannot be imported: --help must not need it."""
    (tmp_path / "torch.py").write_text("raise ImportError('--help imported torch')\n")
    proc = subprocess.run(
        [sys.executable, str(ROOT / script), "--help"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"usage: {script}") and proc.stderr == ""
