"""Benchmarks run by ``make bench``: figures and ratios against a baseline in the same process.

The benchmarks measure the evaluator a server would run (docs/sdk.md §Compiled evaluator): the
choice is made here, before anything imports ``tests``, whose suite asks for the pure one, and
servers the benchmarks start inherit it."""

import os

os.environ.setdefault("LOCKGATE_EVALUATOR", "auto")
