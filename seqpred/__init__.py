"""The machinery behind the learner's files: flags and settings, devices, checkpoints, file
I/O, scoring, reports, figures, the fast C kernels and the sweep's storage.

The top-level scripts (main.py, models.py, data.py, compare_results.py, cells.py, adding_task.py,
sweep.py) hold what the article teaches and use this package; the package never imports them.
They import it before any other library, so that when one of them is what Python runs, what
follows is set up first (and nothing else is, when a test or a notebook imports the package):
a Ctrl-C while PyTorch loads is a quiet exit, text the terminal cannot show does not crash, and
--help is answered at once, from the script's own parser, before PyTorch loads at all.
"""

import sys as _sys
from pathlib import Path as _Path

from seqpred.interrupts import quiet_start as _quiet_start

_SCRIPTS = ("main.py", "compare_results.py", "sweep.py", "adding_task.py")
_main = _Path(getattr(_sys.modules.get("__main__"), "__file__", "") or ".").resolve()
if _main.name in _SCRIPTS and _main.parent == _Path(__file__).resolve().parents[1]:
    for _stream in (_sys.stdout, _sys.stderr):  # text the terminal cannot show: "?", not a crash
        if hasattr(_stream, "reconfigure"):
            _stream.reconfigure(errors="replace")
    _quiet_start()  # a Ctrl-C while PyTorch loads: a quiet exit, not a traceback
    if {"-h", "--help"} & set(_sys.argv[1 : _sys.argv.index("--") if "--" in _sys.argv else None]):
        from seqpred.parsers import parser as _parser

        _parser(_main.name).parse_args()  # prints the help (or a flag's error) and exits
