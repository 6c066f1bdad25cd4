"""Which command made the results in a folder, so that no run silently replaces results another
command made. Each output folder holds provenance.json: for each set of outputs (a script, and
for main.py a model type), the command that wrote them and the flags it ran with. A run whose
flags differ (beyond those that change no result: --jobs, --log-interval, --workers) refuses
to write there, in one line naming that command, --out-dir and --overwrite."""

from __future__ import annotations

import json
from pathlib import Path

from seqpred.errors import FlagError
from seqpred.fileio import write_json

NAME = "provenance.json"
IGNORED = ("jobs", "log_interval", "overwrite", "workers", "worker_id")  # no result changes


def comparable(flags: dict) -> dict:
    """The flags that decide the results, as JSON holds them."""
    return json.loads(json.dumps({k: v for k, v in flags.items() if k not in IGNORED}))


def recorded(folder) -> dict:
    path = Path(folder) / NAME
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as err:
        raise FlagError(
            f"{path} cannot be read ({err}); move it away, or pass --overwrite"
        ) from None


def check(folder, outputs: str, command: str, flags: dict, overwrite: bool) -> None:
    """Refuse (FlagError) to write `outputs` into `folder` over another command's."""
    if overwrite:
        return
    theirs = recorded(folder).get(outputs)
    if not theirs:
        return
    ours = comparable(flags)
    changed = [
        k for k in sorted(set(ours) | set(theirs["flags"])) if ours.get(k) != theirs["flags"].get(k)
    ]
    if changed:
        name = changed[0]
        raise FlagError(
            f"{folder} holds the results of another command (--{name.replace('_', '-')} "
            f"{theirs['flags'].get(name)}, not {ours.get(name)}): `{theirs['command']}`; pass "
            "--out-dir to write elsewhere, or --overwrite to replace them"
        )


def record(folder, outputs: str, command: str, flags: dict) -> Path:
    """Record that `command` wrote `outputs` into `folder`."""
    try:
        entries = recorded(folder)
    except FlagError:  # unreadable: --overwrite was given, or check() would have refused
        entries = {}
    entries[outputs] = {"command": command, "flags": comparable(flags)}
    return write_json(Path(folder) / NAME, entries)
