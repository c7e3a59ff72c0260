"""Benchmarks run by ``make bench``: figures and ratios against a baseline in the same process."""
