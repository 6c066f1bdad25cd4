"""Compiling a C file once per source, flags and CPU, into a private cache that is checked
before anything in it is loaded.

A library loaded into the training process runs with the user's rights, so the cache must be
the user's own: its folder is created private (0700), and a folder that belongs to someone
else or that others may write to is refused. A library is loaded only if its SHA-256 matches
the one written beside it after a successful build; a truncated or garbled file (a full disk,
a crash mid-copy) is rebuilt instead of crashing the process. The cache key covers what
`-march=native` depends on, this CPU's model and features, so a home folder shared between
machines never loads a library built for another CPU.
"""

from __future__ import annotations

import hashlib
import os
import platform
import secrets
import shlex
import stat
import subprocess
from pathlib import Path

from seqpred.fileio import write_text


class BuildError(RuntimeError):
    """The library cannot be built or used here; the message says why, in one line."""


def cache_dir() -> Path:
    """$SEQPRED_CACHE_DIR, else $XDG_CACHE_HOME/seqpred, else ~/.cache/seqpred. A relative
    $XDG_CACHE_HOME is ignored, as the XDG Base Directory specification says; a home folder
    that does not exist is not created (BuildError: the kernels are then not used)."""
    if os.environ.get("SEQPRED_CACHE_DIR"):
        return Path(os.environ["SEQPRED_CACHE_DIR"])
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "seqpred"
    home = Path.home()
    if not home.is_dir():
        raise BuildError(
            f"the home folder {home} does not exist, and no cache folder is set; set "
            "SEQPRED_CACHE_DIR to a folder of your own (it is created private)"
        )
    return home / ".cache" / "seqpred"


def private_folder(folder: Path) -> Path:
    """Create `folder` as 0700 if needed; refuse it if it is not ours or others can write to it."""
    try:
        missing = [p for p in [folder, *folder.parents] if not p.exists()]
        for parent in reversed(missing):  # each one private, whatever the umask
            parent.mkdir(mode=0o700, exist_ok=True)
        info = folder.lstat()
    except OSError as err:
        raise BuildError(
            f"cannot use the cache folder {folder}: {err.strerror or err}; set SEQPRED_CACHE_DIR "
            "to a folder of your own (it is created private)"
        ) from None
    problem = None
    if not stat.S_ISDIR(info.st_mode):
        problem = "is not a folder (a symbolic link?)"
    elif os.name == "nt":
        pass  # no POSIX owner or mode bits there: a folder in the user's profile is private
    elif hasattr(os, "getuid") and info.st_uid != os.getuid():
        problem = "belongs to another user"
    elif info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        problem = "may be written by other users"
    if problem:
        raise BuildError(
            f"the cache folder {folder} {problem}, so a library in it could be planted; set "
            "SEQPRED_CACHE_DIR to a folder of your own (it is created private)"
        )
    return folder


def cpu_signature() -> str:
    """This CPU's model and instruction-set features: what -march=native compiles for."""
    try:
        lines = Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    wanted = ("vendor_id", "model name", "flags", "cpu family", "model", "Features", "CPU part")
    seen = {}
    for line in lines:
        key, _, value = line.partition(":")
        key = key.strip()
        if key in wanted and key not in seen:
            seen[key] = value.strip()
    parts = [f"{k}={seen[k]}" for k in sorted(seen)] or [platform.processor()]
    return "|".join([platform.machine(), platform.system(), *parts])


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(source: Path, flags: list[str], name: str, rebuild: bool = False) -> Path:
    """A verified shared library built from `source` with `flags`; compiled only when needed
    (or `rebuild`: when a library whose checksum matched would not load)."""
    compiler = os.environ.get("CC", "cc")
    key = hashlib.sha256(
        "\n".join([sha256(source), compiler, *flags, cpu_signature()]).encode()
    ).hexdigest()[:16]
    folder = private_folder(cache_dir())
    library, digest = folder / f"{name}_{key}.so", folder / f"{name}_{key}.so.sha256"
    try:
        if (
            not rebuild
            and library.is_file()
            and digest.read_text(encoding="utf-8").strip() == sha256(library)
        ):
            return library
    except OSError:
        pass  # no checksum yet: build it
    tmp = folder / f".{name}_{key}.{secrets.token_hex(4)}.so.tmp"
    try:
        compile_to(tmp, source, flags, compiler)
        checksum = sha256(tmp)
        os.replace(tmp, library)
        write_text(digest, checksum + "\n")  # only after the library is whole
    finally:
        tmp.unlink(missing_ok=True)
    return library


def compile_to(out: Path, source: Path, flags: list[str], compiler: str) -> None:
    """Run the compiler ($CC split as a shell would: "ccache gcc"): -march=native first (this
    CPU's vector width), plain flags if refused."""
    try:
        command = shlex.split(compiler) or ["cc"]
    except ValueError as err:
        raise BuildError(f"cannot read the C compiler {compiler!r} ($CC): {err}") from None
    error = ""
    for arch in (["-march=native"], []):
        cmd = [*command, *flags, *arch, "-o", str(out), str(source), "-lm"]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as err:
            raise BuildError(f"cannot run the C compiler {compiler!r}: {err}") from None
        if proc.returncode == 0:
            return
        last = proc.stderr.strip().splitlines()[-1:]
        error = last[0] if last else f"{command[0]} exited with status {proc.returncode}"
    raise BuildError(f"compiling {source.name} failed: {error}")
