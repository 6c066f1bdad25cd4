"""The machinery behind the learner's files: flags, devices, checkpoints, file I/O, scoring,
figures, the fast C kernels and the sweep's storage.

The top-level scripts (main.py, models.py, data.py, compare_results.py, cells.py, adding_task.py,
sweep.py) hold what the article teaches and use this package; the package never imports them.
They import it before any other library, so that a Ctrl-C while PyTorch loads is a quiet exit.
"""

from pathlib import Path as _Path

from seqpred.interrupts import quiet_start as _quiet_start

_quiet_start(
    ("main.py", "compare_results.py", "sweep.py", "adding_task.py"), _Path(__file__).parents[1]
)
