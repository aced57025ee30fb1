"""The benchmark harness: workload tables, peer baselines and the command line.

Nothing in the library imports this package; ``python -m fastconv``, the asv
suite and the tests do.
"""
