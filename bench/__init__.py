"""Benchmarks: each module is one command that prints a table and appends its figures to bench/README.md."""
