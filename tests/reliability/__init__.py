"""Reliability: faults, bad input, load and duplicates, loops, nothing lost (issue 7)."""
