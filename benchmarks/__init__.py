"""Benchmarks (not timed tests): run with ``python -m benchmarks [NAME...]``; ``make bench`` runs them all."""
