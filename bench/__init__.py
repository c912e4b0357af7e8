"""Benchmarks that print numbers and write ``bench/RESULTS.md``; run on demand with ``make bench``.

Never timed tests: every figure comes with the machine it was measured on, and comparisons are
ratios measured in the same run.
"""
