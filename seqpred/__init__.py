"""The machinery behind the learner's files: flags, devices, checkpoints, file I/O, evaluation,
figures, the fast C kernels and the benchmark's helpers.

The top-level scripts (main.py, models.py, data.py, compare_results.py, cells.py, adding_task.py,
sweep.py) hold what the article teaches and use this package; the package never imports them.
"""
